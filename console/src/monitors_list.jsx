// The monitors page: every monitor with its target, objectives, window, the state of its
// latest job and how many alerts it raised.
import { api } from "./api.js";
import { time } from "./format.js";
import { usePolling } from "./polling.js";
import { Link } from "./router.jsx";
import { Alert } from "./widgets.jsx";

/** Alerts counted per monitor; more show as `1000+`. */
const ALERTS_COUNTED = 1000;

export function MonitorsList() {
  const { data, error } = usePolling(loadMonitors, "monitors");
  return (
    <section class="page">
      <h1>Monitors</h1>
      <Alert message={error?.message} />
      {data && <Table monitors={data} />}
    </section>
  );
}

/** Each monitor with its latest job and its alerts (one call each: the list has neither). */
async function loadMonitors() {
  const { monitors } = await api("/monitors");
  return Promise.all(
    monitors.map(async (monitor) => {
      const path = `/monitors/${encodeURIComponent(monitor.name)}`;
      const [jobs, alerts] = await Promise.all([
        api(`${path}/jobs?limit=1`),
        api(`${path}/alerts?limit=${ALERTS_COUNTED}`),
      ]);
      return { monitor, latest: jobs.jobs[0] ?? null, alerts: alerts.alerts.length };
    }),
  );
}

/** The objectives a monitor has on (`feature_skew`, ...). */
export function objectivesOf(monitor) {
  return Object.entries(monitor.tabular_objective)
    .filter(([, spec]) => spec)
    .map(([name]) => name.replace(/_spec$/, ""));
}

function Table({ monitors }) {
  if (monitors.length === 0) return <p class="empty">No monitors.</p>;
  return (
    <table class="runs">
      <thead>
        <tr>
          <th>Monitor</th>
          <th>Target</th>
          <th>Objectives</th>
          <th>Window</th>
          <th>Latest job</th>
          <th>Alerts</th>
        </tr>
      </thead>
      <tbody>
        {monitors.map(({ monitor, latest, alerts }) => (
          <tr key={monitor.name} data-monitor={monitor.name}>
            <td>
              <Link href={`/ui/monitors/${encodeURIComponent(monitor.name)}`}>{monitor.name}</Link>
            </td>
            <td>
              {monitor.target}
              {monitor.model_version_id !== null && monitor.alias && (
                <span class="muted"> (version {monitor.model_version_id})</span>
              )}
            </td>
            <td>{objectivesOf(monitor).join(", ")}</td>
            <td>{monitor.window}</td>
            <td>{latest ? <JobState job={latest} /> : <span class="empty">none yet</span>}</td>
            <td>{alerts >= ALERTS_COUNTED ? `${ALERTS_COUNTED}+` : alerts}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** `SUCCEEDED` as a badge (the `JOB_STATE_` prefix dropped), with when the job ended. */
export function JobState({ job, withTime = true }) {
  const state = job.state.replace(/^JOB_STATE_/, "");
  return (
    <span class="job-state">
      <span class={`status status-${state}`}>{state}</span>
      {withTime && <span class="muted"> {time(job.ended_at ?? job.created_at)}</span>}
    </span>
  );
}
