// An endpoint's live traffic: request rate, error rate and p50/p99 latency of each deployed
// model over the last five minutes, and a table of the same over the whole window. The
// server's counters (`GET /api/v1/endpoints/NAME/stats`) are read every 2 s; the figures
// come from the differences between readings. Counters that went down mean the server
// restarted: that interval counts from zero, as the rollouts' analysis does
// (`DeployedTotals.minus`). A server that serves no predictions (`conveyor ui`) counts
// none: its answer, which says where to look instead, is shown in place of the charts.
import { useEffect, useState } from "preact/hooks";
import { api } from "./api.js";
import { LineChart, colour } from "./charts.jsx";
import { Alert } from "./widgets.jsx";

const EVERY_MS = 2000;
const WINDOW_S = 300;
const COUNTS = ["requests", "errors"];

export function LiveTraffic({ path }) {
  const { readings, failure } = useReadings(`${path}/stats`);
  if (failure?.status === 409) {
    return (
      <p class="empty" data-live="elsewhere">
        No live charts here: {failure.message}.
      </p>
    );
  }
  const models = readings.at(-1)?.models ?? [];
  const intervals = intervalsOf(readings);
  return (
    <div class="live-traffic">
      <Alert message={failure?.message} />
      {models.length === 0 ? (
        <p class="empty">Nothing is deployed.</p>
      ) : intervals.length === 0 ? (
        <p class="empty">Reading the server's counters every {EVERY_MS / 1000} s…</p>
      ) : (
        <>
          <WindowTable models={models} intervals={intervals} />
          <Charts models={models} intervals={intervals} latest={readings.at(-1).at} />
        </>
      )}
    </div>
  );
}

/** The readings of `path` (every EVERY_MS, those of the window and one before it), and
 * the last failure; a 409 stops the reading. */
function useReadings(path) {
  const [readings, setReadings] = useState([]);
  const [failure, setFailure] = useState(null);
  useEffect(() => {
    let live = true;
    let timer = null;
    setReadings([]);
    setFailure(null);
    const read = async () => {
      try {
        const stats = await api(path);
        if (!live) return;
        const reading = { at: Date.parse(stats.read_at), models: stats.deployed_models };
        const since = reading.at - WINDOW_S * 1000 - EVERY_MS;
        setReadings((kept) => [...kept.filter((r) => r.at >= since), reading]);
        setFailure(null);
      } catch (problem) {
        if (!live) return;
        setFailure(problem);
        if (problem.status === 409) return;
      }
      timer = setTimeout(read, EVERY_MS);
    };
    read();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [path]);
  return { readings, failure };
}

/** Between each two readings, for each deployed model of the later: its counts then
 * ({ at, seconds, id, delta }). */
function intervalsOf(readings) {
  const found = [];
  for (let i = 1; i < readings.length; i++) {
    const [before, after] = [readings[i - 1], readings[i]];
    const seconds = (after.at - before.at) / 1000;
    if (!(seconds > 0)) continue;
    for (const model of after.models) {
      const earlier = before.models.find((m) => m.id === model.id);
      found.push({ at: after.at, seconds, id: model.id, delta: minus(model, earlier) });
    }
  }
  return found;
}

/** The counts between `earlier` and `later`; `later` whole when a count went down. */
function minus(later, earlier) {
  const counts = later.latency_counts;
  if (!earlier) return later;
  const rebucketed = earlier.latency_bounds.join() !== later.latency_bounds.join();
  if (earlier.latency_counts.length && rebucketed) return later;
  const before = earlier.latency_counts.length ? earlier.latency_counts : counts.map(() => 0);
  const now = [...COUNTS.map((k) => later[k]), ...counts];
  const then = [...COUNTS.map((k) => earlier[k]), ...before];
  if (now.some((n, i) => n < then[i])) return later;
  return {
    requests: later.requests - earlier.requests,
    errors: later.errors - earlier.errors,
    latency_bounds: later.latency_bounds,
    latency_counts: counts.map((n, i) => n - before[i]),
  };
}

/** The latency (ms) below which a share `q` of the requests fall, interpolated in the
 * histogram's buckets as Prometheus' `histogram_quantile`; NaN without requests. */
function quantileMs(totals, q) {
  const bounds = totals.latency_bounds.map(Number);
  const counts = totals.latency_counts;
  const total = counts.at(-1) ?? 0;
  if (!total) return NaN;
  const rank = q * total;
  const last = bounds.length - 1;
  let b = 0;
  while (b < last && counts[b] < rank) b++;
  if (b === last) return last ? bounds[last - 1] * 1000 : NaN;
  const start = b ? bounds[b - 1] : 0;
  const below = b ? counts[b - 1] : 0;
  const inside = counts[b] - below;
  const seconds = inside ? start + ((bounds[b] - start) * (rank - below)) / inside : start;
  return seconds * 1000;
}

/** The counts of `intervals` added up (histograms of the same bounds). */
function sum(intervals) {
  const total = { requests: 0, errors: 0, latency_bounds: [], latency_counts: [] };
  for (const { delta } of intervals) {
    total.requests += delta.requests;
    total.errors += delta.errors;
    if (delta.latency_counts.length === 0) continue;
    if (total.latency_counts.length === 0) {
      total.latency_bounds = delta.latency_bounds;
      total.latency_counts = delta.latency_counts.map(() => 0);
    }
    if (delta.latency_bounds.join() === total.latency_bounds.join()) {
      total.latency_counts = total.latency_counts.map((n, i) => n + delta.latency_counts[i]);
    }
  }
  return total;
}

function label(model) {
  return `${model.id} (${model.reference})`;
}

function shown(number, digits = 1) {
  return isFinite(number) ? number.toFixed(digits) : "—";
}

function WindowTable({ models, intervals }) {
  const seconds = intervals.filter((i) => i.id === models[0].id).reduce((n, i) => n + i.seconds, 0);
  return (
    <table class="runs live-window">
      <caption>Over the last {Math.round(seconds)} s</caption>
      <thead>
        <tr>
          <th>Deployed model</th>
          <th>Requests</th>
          <th>Request rate</th>
          <th>Error rate</th>
          <th>p50 latency</th>
          <th>p99 latency</th>
        </tr>
      </thead>
      <tbody>
        {models.map((model) => {
          const mine = intervals.filter((i) => i.id === model.id);
          const total = sum(mine);
          const span = mine.reduce((n, i) => n + i.seconds, 0);
          return (
            <tr key={model.id} data-deployed={model.id}>
              <td>{label(model)}</td>
              <td data-figure="requests">{total.requests}</td>
              <td data-figure="rate">{shown(span ? total.requests / span : NaN, 2)} req/s</td>
              <td data-figure="errors">
                {shown(total.requests ? (100 * total.errors) / total.requests : NaN)} %
              </td>
              <td>{shown(quantileMs(total, 0.5))} ms</td>
              <td>{shown(quantileMs(total, 0.99))} ms</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function Charts({ models, intervals, latest }) {
  const x = (interval) => (interval.at - latest) / 1000;
  const line = (model, figure) =>
    intervals.filter((i) => i.id === model.id).map((i) => [x(i), figure(i)]);
  const rate = models.map((model, index) => ({
    name: label(model),
    colour: colour(index),
    points: line(model, (i) => i.delta.requests / i.seconds),
  }));
  const errors = models.map((model, index) => ({
    name: label(model),
    colour: colour(index),
    points: line(model, (i) => (i.delta.requests ? (100 * i.delta.errors) / i.delta.requests : NaN)),
  }));
  const latency = models.flatMap((model, index) =>
    [0.5, 0.99].map((q) => ({
      name: `${label(model)} p${Math.round(q * 100)}`,
      colour: colour(index),
      dashed: q > 0.5,
      points: line(model, (i) => quantileMs(i.delta, q)),
    })),
  );
  const xs = [-WINDOW_S, 0];
  const top = (series, least) =>
    Math.max(least, ...series.flatMap((s) => s.points.map((p) => p[1]).filter(isFinite)));
  const axis = "Seconds before the latest reading";
  return (
    <div class="charts">
      <LineChart
        title="Request rate"
        series={rate}
        xLabel={axis}
        yLabel="req/s"
        domain={{ x: xs, y: [0, top(rate, 1)] }}
      />
      <LineChart
        title="Error rate"
        series={errors}
        xLabel={axis}
        yLabel="% of requests"
        domain={{ x: xs, y: [0, 100] }}
      />
      <LineChart
        title="Latency (p50, p99)"
        series={latency}
        xLabel={axis}
        yLabel="ms"
        domain={{ x: xs, y: [0, top(latency, 1)] }}
      />
    </div>
  );
}
