// A monitor's page: its jobs (one chosen in the address, `?job=7`, else the latest), the
// chosen job's metrics per feature with the baseline and target distributions, each
// feature's distance over the jobs shown against its threshold, and the alerts.
import { api, query } from "./api.js";
import { LineChart, number } from "./charts.jsx";
import { DistributionBars } from "./distribution_bars.jsx";
import { time, value } from "./format.js";
import { JobState, objectivesOf } from "./monitors_list.jsx";
import { usePolling } from "./polling.js";
import { Link } from "./router.jsx";
import { Alert } from "./widgets.jsx";

const JOBS_SHOWN = 50;
const ALERTS_SHOWN = 100;

export function MonitorPage({ name, search }) {
  const path = `/monitors/${encodeURIComponent(name)}`;
  const { data, error } = usePolling(() => loadMonitor(path), path, refreshWhileRunning);
  if (!data) {
    return (
      <section class="page">
        <h1>{name}</h1>
        {error ? <Alert message={error.message} /> : <p class="empty">Loading…</p>}
      </section>
    );
  }
  const { monitor, jobs, metrics, alerts } = data;
  const chosen = jobs.find((job) => job.id === Number(search.get("job"))) ?? jobs[0];
  return (
    <section class="page monitor">
      <p>
        <Link href="/ui/monitors">Monitors</Link> /
      </p>
      <h1>{monitor.name}</h1>
      <Alert message={error?.message} />
      <dl class="facts">
        <dt>Target</dt>
        <dd>
          {monitor.target}
          {monitor.model_version_id !== null && ` (version ${monitor.model_version_id})`}
        </dd>
        <dt>Objectives</dt>
        <dd>{objectivesOf(monitor).join(", ")}</dd>
        <dt>Window</dt>
        <dd>
          {monitor.window}
          {monitor.offset && `, ending ${monitor.offset} before the job`}
        </dd>
      </dl>
      <h3>Jobs</h3>
      <Jobs name={monitor.name} jobs={jobs} chosen={chosen} />
      {chosen && (
        <JobMetrics job={chosen} metrics={metrics.filter((metric) => metric.job_id === chosen.id)} />
      )}
      <h3>Distance over time</h3>
      <History metrics={metrics} />
      <h3>Alerts</h3>
      <Alerts alerts={alerts} />
    </section>
  );
}

/** The monitor, its latest jobs, the metrics of those jobs (oldest first) and its alerts. */
async function loadMonitor(path) {
  const [monitor, jobs, alerts] = await Promise.all([
    api(path),
    api(`${path}/jobs?limit=${JOBS_SHOWN}`),
    api(`${path}/alerts?limit=${ALERTS_SHOWN}`),
  ]);
  const ends = jobs.jobs.map((job) => job.window_end).filter(Boolean);
  const oldest = ends.length ? new Date(Math.min(...ends.map((end) => Date.parse(end))) - 1000) : null;
  const metrics = jobs.jobs.length
    ? await api(`${path}/metrics${query({ start_time: oldest?.toISOString(), limit: 10000 })}`)
    : { metrics: [] };
  const shown = new Set(jobs.jobs.map((job) => job.id));
  return {
    monitor,
    jobs: jobs.jobs,
    metrics: metrics.metrics.filter((metric) => shown.has(metric.job_id)),
    alerts: alerts.alerts,
  };
}

function refreshWhileRunning(data) {
  const busy = data.jobs.some((job) => /PENDING|RUNNING/.test(job.state));
  return busy ? 3000 : null;
}

function Jobs({ name, jobs, chosen }) {
  if (jobs.length === 0) return <p class="empty">No jobs yet.</p>;
  return (
    <table class="runs jobs">
      <thead>
        <tr>
          <th>Job</th>
          <th>State</th>
          <th>Window</th>
          <th>Version</th>
          <th>Ran</th>
          <th>Alerts</th>
          <th>Error</th>
        </tr>
      </thead>
      <tbody>
        {jobs.map((job) => (
          <tr key={job.id} data-job={job.id} class={job === chosen ? "chosen" : undefined}>
            <td>
              <Link
                href={`/ui/monitors/${encodeURIComponent(name)}?job=${job.id}`}
                aria-current={job === chosen ? "true" : undefined}
              >
                Job {job.id}
              </Link>
            </td>
            <td>
              <JobState job={job} withTime={false} />
            </td>
            <td>
              {time(job.window_start)} → {time(job.window_end)}
            </td>
            <td>{job.model_version_id ?? "—"}</td>
            <td>{time(job.created_at)}</td>
            <td>{alertsText(job.summary?.alerts)}</td>
            <td class="why">{job.error ?? ""}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The chosen job's metric of each feature and objective, and its distributions. */
function JobMetrics({ job, metrics }) {
  return (
    <article class="job-detail" aria-label={`Job ${job.id}`}>
      <h2>Job {job.id}</h2>
      {metrics.length === 0 ? (
        <p class="empty">This job measured nothing{job.error ? "" : " yet"}.</p>
      ) : (
        <>
          <table class="runs job-metrics">
            <thead>
              <tr>
                <th>Feature</th>
                <th>Objective</th>
                <th>Metric</th>
                <th>Distance</th>
                <th>Threshold</th>
                <th>Status</th>
                <th>Baseline rows</th>
                <th>Target rows</th>
              </tr>
            </thead>
            <tbody>
              {metrics.map((metric) => (
                <tr data-feature={metric.feature} data-objective={metric.objective}>
                  <td>{metric.feature}</td>
                  <td>{metric.objective}</td>
                  <td>{metric.metric_type}</td>
                  <td>{metric.value === null ? "—" : value(round(metric.value))}</td>
                  <td>{metric.threshold === null ? "—" : value(metric.threshold)}</td>
                  <td>
                    <Verdict metric={metric} />
                  </td>
                  <td>{metric.baseline_count}</td>
                  <td>{metric.target_count}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <div class="charts">
            {metrics
              .filter((metric) => metric.statistics)
              .map((metric) => (
                <DistributionBars
                  feature={`${metric.feature} (${metric.objective})`}
                  statistics={metric.statistics}
                />
              ))}
          </div>
        </>
      )}
    </article>
  );
}

function Verdict({ metric }) {
  if (metric.insufficient_data) return <span class="verdict verdict-insufficient">insufficient data</span>;
  if (metric.anomaly) return <span class="verdict verdict-anomaly">anomaly</span>;
  return <span class="verdict verdict-normal">normal</span>;
}

/** Per feature, each objective's distance by job and its threshold. */
function History({ metrics }) {
  const byFeature = new Map();
  for (const metric of metrics) {
    if (!byFeature.has(metric.feature)) byFeature.set(metric.feature, new Map());
    const objectives = byFeature.get(metric.feature);
    if (!objectives.has(metric.objective)) objectives.set(metric.objective, []);
    objectives.get(metric.objective).push(metric);
  }
  if (byFeature.size === 0) return <p class="empty">No distances measured yet.</p>;
  return (
    <div class="charts">
      {[...byFeature].map(([feature, objectives]) => (
        <LineChart
          title={feature}
          xLabel="Job"
          yLabel="Distance"
          series={[...objectives].flatMap(([objective, found]) => [
            { name: objective, points: found.map((m) => [m.job_id, number(m.value)]) },
            {
              name: `${objective} threshold`,
              points: found.map((m) => [m.job_id, number(m.threshold)]),
            },
          ])}
        />
      ))}
    </div>
  );
}

function Alerts({ alerts }) {
  if (alerts.length === 0) return <p class="empty">No alerts.</p>;
  return (
    <table class="runs alerts">
      <thead>
        <tr>
          <th>Raised</th>
          <th>Job</th>
          <th>Feature</th>
          <th>Objective</th>
          <th>Kind</th>
          <th>Distance</th>
          <th>Threshold</th>
          <th>Sent</th>
          <th>Message</th>
        </tr>
      </thead>
      <tbody>
        {alerts.map((alert) => (
          <tr key={alert.id} data-alert={alert.id}>
            <td>{time(alert.created_at)}</td>
            <td>{alert.job_id}</td>
            <td>{alert.feature}</td>
            <td>{alert.objective}</td>
            <td>{alert.kind}</td>
            <td>{alert.value === null ? "—" : value(round(alert.value))}</td>
            <td>{alert.threshold === null ? "—" : value(alert.threshold)}</td>
            <td>
              {alert.deliveries.map((d) => `${d.channel}: ${d.state.toLowerCase()}`).join(", ") || "—"}
            </td>
            <td class="why">{alert.message}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A job's alerts by kind (`{ anomaly: 2, recovery: 0 }`) as `2 anomaly`; `0` for none. */
function alertsText(raised) {
  if (!raised) return "—";
  const found = Object.entries(raised).filter(([, count]) => count > 0);
  return found.length ? found.map(([kind, count]) => `${count} ${kind}`).join(", ") : "0";
}

function round(n) {
  return Number(n.toPrecision(4));
}
