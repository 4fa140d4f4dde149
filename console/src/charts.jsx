// Line charts drawn as plain SVG: numeric axes with ticks and labels, one line per series
// and a legend naming each; the ROC chart is one of them, over [0, 1] with the diagonal.
// Values that are no finite number (NaN, the infinities) break a line instead of ending it.

const WIDTH = 480;
const HEIGHT = 260;
const LEFT = 58;
const RIGHT = 14;
const TOP = 10;
const BOTTOM = 42;
const COLOURS = ["#2957c7", "#d9822b", "#1f8a4c", "#c8372d", "#6b4fbb", "#0f8b8d", "#8a6d1f", "#d6409f"];

/** The colour of the `index`th series, the same in every chart of a page. */
export function colour(index) {
  return COLOURS[index % COLOURS.length];
}

/**
 * A chart of `series` ([{ name, points: [[x, y], ...], colour?, dashed? }]) titled `title`, with
 * `xLabel` and `yLabel` on its axes; `domain` ({ x: [lo, hi], y: [lo, hi] }) fixes the
 * axes' ranges (else the data's), `diagonal` draws y = x dashed.
 */
export function LineChart({ title, series, xLabel, yLabel, domain = {}, diagonal = false }) {
  const finite = series.flatMap((s) => s.points.filter(([x, y]) => isFinite(x) && isFinite(y)));
  const x = scale(domain.x ?? extent(finite.map((p) => p[0])), LEFT, WIDTH - RIGHT);
  const bottom = HEIGHT - BOTTOM;
  const y = scale(domain.y ?? extent(finite.map((p) => p[1])), bottom, TOP);
  return (
    <figure class="chart" data-chart={title}>
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={`${title}: ${yLabel} by ${xLabel}`}>
        <g class="axis">
          {x.ticks.map((tick) => (
            <g>
              <line x1={x(tick)} x2={x(tick)} y1={TOP} y2={bottom} class="grid" />
              <text x={x(tick)} y={bottom + 14} text-anchor="middle">
                {tickText(tick)}
              </text>
            </g>
          ))}
          {y.ticks.map((tick) => (
            <g>
              <line x1={LEFT} x2={WIDTH - RIGHT} y1={y(tick)} y2={y(tick)} class="grid" />
              <text x={LEFT - 6} y={y(tick) + 4} text-anchor="end">
                {tickText(tick)}
              </text>
            </g>
          ))}
          <polyline points={`${LEFT},${TOP} ${LEFT},${bottom} ${WIDTH - RIGHT},${bottom}`} />
          <text class="axis-label" x={(LEFT + WIDTH - RIGHT) / 2} y={HEIGHT - 6} text-anchor="middle">
            {xLabel}
          </text>
          <text
            class="axis-label"
            transform={`translate(14 ${(TOP + bottom) / 2}) rotate(-90)`}
            text-anchor="middle"
          >
            {yLabel}
          </text>
        </g>
        {diagonal && (
          <line
            class="diagonal"
            x1={x(x.domain[0])}
            y1={y(y.domain[0])}
            x2={x(x.domain[1])}
            y2={y(y.domain[1])}
          />
        )}
        {series.map((s, index) => (
          <g
            class={s.dashed ? "series dashed" : "series"}
            data-series={s.name}
            style={{ color: s.colour ?? colour(index) }}
          >
            {pieces(s.points).map((piece) =>
              piece.length === 1 ? (
                <circle cx={x(piece[0][0])} cy={y(piece[0][1])} r="3" />
              ) : (
                <polyline points={piece.map(([px, py]) => `${x(px)},${y(py)}`).join(" ")} fill="none" />
              ),
            )}
          </g>
        ))}
      </svg>
      <Legend series={series} />
    </figure>
  );
}

/** ROC curves ([{ name, fpr, tpr, colour? }]) over one another, with the chance diagonal. */
export function RocChart({ curves, title = "ROC curve" }) {
  const series = curves.map(({ name, fpr, tpr, colour: shade }) => ({
    name,
    colour: shade,
    points: fpr.map((f, i) => [number(f), number(tpr[i])]).sort((a, b) => a[0] - b[0] || a[1] - b[1]),
  }));
  return (
    <LineChart
      title={title}
      series={series}
      xLabel="False positive rate"
      yLabel="True positive rate"
      domain={{ x: [0, 1], y: [0, 1] }}
      diagonal
    />
  );
}

function Legend({ series }) {
  return (
    <ul class="legend" aria-label="Legend">
      {series.map((s, index) => (
        <li>
          {s.dashed ? (
            <span class="swatch dashed" style={{ color: s.colour ?? colour(index) }} aria-hidden="true" />
          ) : (
            <span class="swatch" style={{ background: s.colour ?? colour(index) }} aria-hidden="true" />
          )}
          {s.name}
        </li>
      ))}
    </ul>
  );
}

/** A metric as a number: the API spells NaN and the infinities as strings. */
export function number(value) {
  return value === null || value === undefined ? NaN : Number(value);
}

/** The runs of finite points of a line, split where a point is not finite. */
function pieces(points) {
  const found = [[]];
  for (const point of points) {
    if (isFinite(point[0]) && isFinite(point[1])) found.at(-1).push(point);
    else if (found.at(-1).length) found.push([]);
  }
  return found.filter((piece) => piece.length);
}

function extent(values) {
  if (values.length === 0) return [0, 1];
  const low = Math.min(...values);
  const high = Math.max(...values);
  if (low !== high) return [low, high];
  const pad = Math.abs(low) / 10 || 1;
  return [low - pad, high + pad];
}

/** A linear map of `domain` onto [from, to], widened to round ticks, with those ticks. */
function scale(domain, from, to) {
  const ticks = niceTicks(domain[0], domain[1]);
  const low = Math.min(domain[0], ticks[0]);
  const high = Math.max(domain[1], ticks.at(-1));
  const map = (value) => from + ((value - low) / (high - low)) * (to - from);
  map.ticks = ticks;
  map.domain = [low, high];
  return map;
}

/** About five round ticks covering [low, high] (steps of 1, 2 or 5 times a power of 10). */
function niceTicks(low, high, count = 5) {
  const rough = (high - low) / count;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough) ?? 10 * power;
  const ticks = [];
  const last = Math.ceil(high / step) * step + step / 1000;
  for (let tick = Math.floor(low / step) * step; tick <= last; tick += step) {
    ticks.push(Number(tick.toPrecision(12)));
  }
  return ticks;
}

function tickText(value) {
  const size = Math.abs(value);
  if (size !== 0 && (size >= 1e5 || size < 1e-3)) return value.toExponential(1);
  return String(Number(value.toPrecision(6)));
}
