// The schedules page: the schedules (cron, what each fire runs, state, next fire) and the
// triggers (the event they fire on), each paused or resumed with the `deploy` role.
import { useState } from "preact/hooks";
import { api } from "./api.js";
import { time } from "./format.js";
import { usePolling } from "./polling.js";
import { Link } from "./router.jsx";
import { Alert } from "./widgets.jsx";

export function SchedulesList() {
  const { data, error, reload } = usePolling(loadAll, "schedules");
  return (
    <section class="page">
      <h1>Schedules and triggers</h1>
      <Alert message={error?.message} />
      {data && (
        <>
          <h3>Schedules</h3>
          <Schedules schedules={data.schedules} onChange={reload} />
          <h3>Triggers</h3>
          <Triggers triggers={data.triggers} onChange={reload} />
        </>
      )}
    </section>
  );
}

async function loadAll() {
  const [schedules, triggers] = await Promise.all([api("/schedules"), api("/triggers")]);
  return { schedules: schedules.schedules, triggers: triggers.triggers };
}

/** What a fire runs: `churn-training@prod (epochs=3)` or `monitor churn-drift`. */
export function requestText(request) {
  const job = request.pipeline_job;
  if (job) {
    const given = Object.entries(job.parameters ?? {}).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
    return given.length ? `${job.pipeline} (${given.join(", ")})` : job.pipeline;
  }
  return request.model_monitoring_job ? `monitor ${request.model_monitoring_job.monitor}` : "—";
}

/** The event a trigger fires on, in a few words. */
export function eventText(kind, event) {
  if (kind === "new_data") return `new data at ${event.pattern}`;
  if (kind === "monitoring_alert") return `alerts of monitor ${event.monitor}`;
  if (kind === "run_finished") {
    return `${event.pipeline} runs ending ${(event.states ?? ["SUCCEEDED"]).join(" or ")}`;
  }
  return "a call to :fire";
}

function Schedules({ schedules, onChange }) {
  if (schedules.length === 0) return <p class="empty">No schedules.</p>;
  return (
    <table class="runs schedules">
      <thead>
        <tr>
          <th>Schedule</th>
          <th>Kind</th>
          <th>Cron</th>
          <th>Runs</th>
          <th>State</th>
          <th>Next fire</th>
          <th>Started runs</th>
          <th>Actions</th>
        </tr>
      </thead>
      <tbody>
        {schedules.map((schedule) => (
          <tr key={schedule.name} data-schedule={schedule.name}>
            <td>
              <Link href={`/ui/schedules/${encodeURIComponent(schedule.name)}`}>{schedule.name}</Link>
            </td>
            <td>schedule</td>
            <td>
              <code>{schedule.cron}</code>
            </td>
            <td>{requestText(schedule.request)}</td>
            <td>
              <span class={`automation-state state-${schedule.state}`}>{schedule.state}</span>
            </td>
            <td>{time(schedule.next_run_time)}</td>
            <td>{schedule.started_run_count}</td>
            <td>
              <PauseResume
                path={`/schedules/${encodeURIComponent(schedule.name)}`}
                name={schedule.name}
                state={schedule.state}
                onChange={onChange}
              />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Triggers({ triggers, onChange }) {
  if (triggers.length === 0) return <p class="empty">No triggers.</p>;
  return (
    <table class="runs triggers">
      <thead>
        <tr>
          <th>Trigger</th>
          <th>Kind</th>
          <th>Event</th>
          <th>Runs</th>
          <th>State</th>
          <th>Next fire</th>
          <th>Actions</th>
        </tr>
      </thead>
      <tbody>
        {triggers.map((trigger) => (
          <tr key={trigger.name} data-trigger={trigger.name}>
            <td>
              <Link href={`/ui/triggers/${encodeURIComponent(trigger.name)}`}>{trigger.name}</Link>
            </td>
            <td>{trigger.kind}</td>
            <td>{eventText(trigger.kind, trigger.event)}</td>
            <td>{requestText(trigger.request)}</td>
            <td>
              <span class={`automation-state state-${trigger.state}`}>{trigger.state}</span>
            </td>
            <td class="muted">on the event</td>
            <td>
              <PauseResume
                path={`/triggers/${encodeURIComponent(trigger.name)}`}
                name={trigger.name}
                state={trigger.state}
                onChange={onChange}
              />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** "Pause" while ACTIVE, "Resume" while PAUSED (none once COMPLETED); the API's or the
 * role's message when refused. */
export function PauseResume({ path, name, state, onChange }) {
  const [problem, setProblem] = useState(null);
  const verb = state === "ACTIVE" ? "pause" : state === "PAUSED" ? "resume" : null;
  if (!verb) return null;
  const act = async () => {
    setProblem(null);
    try {
      await api(`${path}:${verb}`, { method: "POST" });
      onChange();
    } catch (failure) {
      setProblem(failure.message);
    }
  };
  const label = verb === "pause" ? "Pause" : "Resume";
  return (
    <div class="row-action">
      <button type="button" onClick={act} aria-label={`${label} ${name}`}>
        {label}
      </button>
      <Alert message={problem} />
    </div>
  );
}
