// A feature's baseline and target distributions as grouped bars in SVG: per bucket (a
// histogram's range, or a value) the share of each side, baseline beside target, as
// the monitoring job's report draws them (conveyor/monitoring/report.py).

const WIDTH = 480;
const HEIGHT = 220;
const LEFT = 44;
const RIGHT = 10;
const TOP = 10;
const BOTTOM = 58;
const TOP_VALUES = 10;
const SIDES = [
  { name: "baseline", colour: "#2957c7" },
  { name: "target", colour: "#d9822b" },
];

/** The bars of `statistics` ({ baseline, target }, as a metric holds them) for `feature`. */
export function DistributionBars({ feature, statistics }) {
  const buckets = bucketsOf(statistics);
  if (!buckets || buckets.labels.length === 0) return null;
  const { labels, left, right } = buckets;
  const shares = [shared(left), shared(right)];
  const high = Math.max(...shares.flat(), 0.01);
  const slot = (WIDTH - LEFT - RIGHT) / labels.length;
  const bar = Math.min(slot * 0.4, 28);
  const y = (share) => TOP + (1 - share / high) * (HEIGHT - TOP - BOTTOM);
  const bottom = HEIGHT - BOTTOM;
  const title = `${feature}: baseline and target`;
  return (
    <figure class="chart distribution" data-distribution={feature}>
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={`${title}, share by bucket`}>
        <g class="axis">
          {[0, high / 2, high].map((tick) => (
            <g>
              <line x1={LEFT} x2={WIDTH - RIGHT} y1={y(tick)} y2={y(tick)} class="grid" />
              <text x={LEFT - 6} y={y(tick) + 4} text-anchor="end">
                {`${Math.round(tick * 100)} %`}
              </text>
            </g>
          ))}
          <polyline points={`${LEFT},${TOP} ${LEFT},${bottom} ${WIDTH - RIGHT},${bottom}`} />
        </g>
        {labels.map((label, index) => {
          const middle = LEFT + slot * (index + 0.5);
          return (
            <g class="bucket" data-bucket={label}>
              {SIDES.map((side, which) => (
                <rect
                  x={middle - bar + which * bar}
                  y={y(shares[which][index])}
                  width={bar - 1}
                  height={bottom - y(shares[which][index])}
                  fill={side.colour}
                >
                  <title>{`${side.name} ${label}: ${percent(shares[which][index])}`}</title>
                </rect>
              ))}
              <text
                x={middle}
                y={bottom + 12}
                text-anchor="end"
                transform={`rotate(-30 ${middle} ${bottom + 12})`}
              >
                {label}
              </text>
            </g>
          );
        })}
      </svg>
      <ul class="legend" aria-label="Legend">
        {SIDES.map((side) => (
          <li>
            <span class="swatch" style={{ background: side.colour }} aria-hidden="true" />
            {side.name}
          </li>
        ))}
      </ul>
    </figure>
  );
}

/** `{ labels, left, right }`: the buckets and each side's counts; null when unreadable. */
function bucketsOf(statistics) {
  const baseline = statistics?.baseline;
  const target = statistics?.target;
  if (!baseline || !target) return null;
  return baseline.kind === "numeric" ? numericBuckets(baseline, target) : valueBuckets(baseline, target);
}

/** The baseline's buckets, values below and above them, then NaN and the infinities. */
function numericBuckets(baseline, target) {
  const edges = baseline.edges ?? [];
  let labels = edges.slice(1).map((edge, i) => `[${short(edges[i])}, ${short(edge)})`);
  let left = [...(baseline.counts ?? [])];
  let right = target.counts?.length === left.length ? [...target.counts] : left.map(() => 0);
  if (edges.length === 0) {
    labels = ["values"];
    left = [baseline.count ?? 0];
    right = [target.count ?? 0];
  } else {
    if (baseline.below || target.below) {
      labels = [`< ${short(edges[0])}`, ...labels];
      left = [baseline.below ?? 0, ...left];
      right = [target.below ?? 0, ...right];
    }
    if (baseline.above || target.above) {
      labels.push(`> ${short(edges.at(-1))}`);
      left.push(baseline.above ?? 0);
      right.push(target.above ?? 0);
    }
  }
  for (const [key, label] of [["nan", "NaN"], ["pos_inf", "+inf"], ["neg_inf", "-inf"]]) {
    if (baseline[key] || target[key]) {
      labels.push(label);
      left.push(baseline[key] ?? 0);
      right.push(target[key] ?? 0);
    }
  }
  return { labels, left, right };
}

/** The most frequent values of both sides together, then `(other)`. */
function valueBuckets(baseline, target) {
  const a = baseline.values ?? {};
  const b = target.values ?? {};
  const ranked = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort(
    (x, y) => (b[y] ?? 0) + (a[y] ?? 0) - (a[x] ?? 0) - (b[x] ?? 0) || (x < y ? -1 : 1),
  );
  const labels = ranked.slice(0, TOP_VALUES);
  const left = labels.map((v) => a[v] ?? 0);
  const right = labels.map((v) => b[v] ?? 0);
  const rest = [(baseline.count ?? 0) - sum(left), (target.count ?? 0) - sum(right)];
  if (rest[0] > 0 || rest[1] > 0) {
    labels.push("(other)");
    left.push(Math.max(rest[0], 0));
    right.push(Math.max(rest[1], 0));
  }
  return { labels, left, right };
}

function sum(values) {
  return values.reduce((total, v) => total + v, 0);
}

function shared(counts) {
  const total = sum(counts);
  return counts.map((count) => (total ? count / total : 0));
}

function percent(share) {
  return `${(share * 100).toFixed(1)} %`;
}

function short(n) {
  return Math.abs(n) >= 1e5 || (n !== 0 && Math.abs(n) < 1e-3) ? n.toExponential(1) : String(Number(n.toPrecision(4)));
}
