// Runs of an experiment side by side: their params and metrics (rows whose values differ
// marked), a chart of each time series with a line per run, and the runs' ROC curves over
// one another with each run's confusion matrices; read again while a run is RUNNING.
import { api } from "./api.js";
import { RocChart, LineChart, colour, number } from "./charts.jsx";
import { ConfusionMatrix } from "./classification.jsx";
import { value } from "./format.js";
import { usePolling } from "./polling.js";
import { Link } from "./router.jsx";

const REFRESH_MS = 3000;

export function CompareRuns({ experiment, runs }) {
  const base = `/experiments/${encodeURIComponent(experiment)}/runs`;
  const key = `${experiment}:${runs.join(",")}`;
  const { data, error } = usePolling(
    () => Promise.all(runs.map((run) => loadRun(`${base}/${encodeURIComponent(run)}`))),
    key,
    (loaded) => (loaded.some((shown) => shown.run.state === "RUNNING") ? REFRESH_MS : null),
  );
  const back = `/ui/experiments/${encodeURIComponent(experiment)}`;
  return (
    <section class="page compare">
      <p>
        <Link href="/ui/experiments">Experiments</Link> / <Link href={back}>{experiment}</Link> /
      </p>
      <h1>Compare runs</h1>
      {runs.length === 0 && (
        <p class="empty">
          No runs chosen: choose them on <Link href={back}>the experiment's page</Link>.
        </p>
      )}
      {error && (
        <p class="error" role="alert">
          {error.message}
        </p>
      )}
      {data && data.length > 0 && <Comparison loaded={data} />}
    </section>
  );
}

async function loadRun(path) {
  const [run, series, classification] = await Promise.all([
    api(path),
    api(`${path}/timeSeries`),
    api(`${path}/classificationMetrics`),
  ]);
  return { run, series: series.time_series, classification: classification.classification_metrics };
}

function Comparison({ loaded }) {
  const names = loaded.map((shown) => shown.run.run_name);
  return (
    <>
      <h2>Params</h2>
      <SideBySide names={names} values={loaded.map((shown) => shown.run.params)} what="params" />
      <h2>Metrics</h2>
      <SideBySide names={names} values={loaded.map((shown) => shown.run.metrics)} what="metrics" />
      <h2>Time series</h2>
      <TimeSeries loaded={loaded} />
      <h2>Classification</h2>
      <Classification loaded={loaded} />
    </>
  );
}

/** A row per key, a column per run; a row whose runs differ (or lack it) is marked. */
function SideBySide({ names, values, what }) {
  const keys = [...new Set(values.flatMap(Object.keys))].sort();
  if (keys.length === 0) return <p class="empty">No {what}.</p>;
  return (
    <div class="table-scroll">
      <table class="runs side-by-side" aria-label={what}>
        <thead>
          <tr>
            <th scope="col">{what === "params" ? "Param" : "Metric"}</th>
            {names.map((name) => (
              <th scope="col">{name}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {keys.map((key) => {
            const cells = values.map((shown) => (key in shown ? value(shown[key]) : null));
            const differs = new Set(cells).size > 1;
            return (
              <tr data-key={key} class={differs ? "differs" : undefined}>
                <th scope="row">
                  {key}
                  {differs && <span class="differs-note"> (differs)</span>}
                </th>
                {cells.map((cell) => (
                  <td>{cell ?? "—"}</td>
                ))}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** A chart per key, a line per run that logged it; a run keeps its colour in every chart. */
function TimeSeries({ loaded }) {
  const keys = [...new Set(loaded.flatMap((shown) => Object.keys(shown.series)))].sort();
  if (keys.length === 0) return <p class="empty">The runs logged no time series.</p>;
  return (
    <div class="charts">
      {keys.map((key) => (
        <LineChart
          title={key}
          xLabel="step"
          yLabel={key}
          series={loaded
            .map((shown, index) => ({ shown, index }))
            .filter(({ shown }) => key in shown.series)
            .map(({ shown, index }) => ({
              name: shown.run.run_name,
              colour: colour(index),
              points: shown.series[key].map((point) => [point.step, number(point.value)]),
            }))}
        />
      ))}
    </div>
  );
}

/** The runs' ROC curves over one another, and each run's confusion matrices. */
function Classification({ loaded }) {
  const curves = loaded.flatMap((shown, index) =>
    shown.classification
      .filter((metrics) => metrics.fpr.length > 0)
      .map((metrics, _, all) => ({
        name: all.length > 1 ? `${shown.run.run_name}: ${metrics.display_name}` : shown.run.run_name,
        colour: colour(index),
        fpr: metrics.fpr,
        tpr: metrics.tpr,
      })),
  );
  const matrices = loaded.flatMap((shown) =>
    shown.classification
      .filter((metrics) => metrics.labels.length > 0)
      .map((metrics) => ({ run: shown.run.run_name, metrics })),
  );
  if (curves.length === 0 && matrices.length === 0) {
    return <p class="empty">The runs logged no classification metrics.</p>;
  }
  return (
    <div class="charts">
      {curves.length > 0 && <RocChart title="ROC curves" curves={curves} />}
      {matrices.map(({ run, metrics }) => (
        <ConfusionMatrix
          caption={`${run}: ${metrics.display_name}`}
          labels={metrics.labels}
          matrix={metrics.matrix}
        />
      ))}
    </div>
  );
}
