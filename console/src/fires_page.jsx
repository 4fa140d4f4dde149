// A schedule's or a trigger's page: what it is, and its fires newest first (started,
// queued, skipped and why, failed), each linking to the run it started.
import { api } from "./api.js";
import { time } from "./format.js";
import { usePolling } from "./polling.js";
import { Link } from "./router.jsx";
import { PauseResume, eventText, requestText } from "./schedules_list.jsx";
import { Alert } from "./widgets.jsx";

const ACTIVE_FIRES = new Set(["CLAIMED", "QUEUED", "STARTED"]);

/** `source` is "schedule" or "trigger". */
export function FiresPage({ source, name }) {
  const path = `/${source}s/${encodeURIComponent(name)}`;
  const { data, error, reload } = usePolling(() => loadFires(path), path, (found) =>
    found.fires.some((fire) => ACTIVE_FIRES.has(fire.state)) ? 3000 : null,
  );
  if (!data) {
    return (
      <section class="page">
        <h1>{name}</h1>
        {error ? <Alert message={error.message} /> : <p class="empty">Loading…</p>}
      </section>
    );
  }
  const { record, fires } = data;
  return (
    <section class="page fires-page">
      <p>
        <Link href="/ui/schedules">Schedules and triggers</Link> /
      </p>
      <h1>
        {record.name}{" "}
        <span class={`automation-state state-${record.state}`}>{record.state}</span>
      </h1>
      <Alert message={error?.message} />
      <dl class="facts">
        {source === "schedule" ? <ScheduleFacts schedule={record} /> : <TriggerFacts trigger={record} />}
        <dt>Runs</dt>
        <dd>{requestText(record.request)}</dd>
        <dt>Made by</dt>
        <dd>
          {record.created_by}, {time(record.created_at)}
        </dd>
      </dl>
      <PauseResume path={path} name={record.name} state={record.state} onChange={reload} />
      <h3>Fires</h3>
      <Fires fires={fires} />
    </section>
  );
}

async function loadFires(path) {
  const [record, fires] = await Promise.all([api(path), api(`${path}/fires`)]);
  return { record, fires: fires.fires };
}

function ScheduleFacts({ schedule }) {
  return (
    <>
      <dt>Cron</dt>
      <dd>
        <code>{schedule.cron}</code>
      </dd>
      <dt>Next fire</dt>
      <dd>{time(schedule.next_run_time)}</dd>
      <dt>Started runs</dt>
      <dd>
        {schedule.started_run_count}
        {schedule.max_run_count !== null && ` of ${schedule.max_run_count}`}
      </dd>
      <dt>Concurrency</dt>
      <dd>
        {schedule.max_concurrent_run_count} at once, {schedule.allow_queueing ? "queueing" : "skipping"}{" "}
        a time that comes at the limit
      </dd>
    </>
  );
}

function TriggerFacts({ trigger }) {
  return (
    <>
      <dt>Kind</dt>
      <dd>{trigger.kind}</dd>
      <dt>Event</dt>
      <dd>{eventText(trigger.kind, trigger.event)}</dd>
    </>
  );
}

function Fires({ fires }) {
  if (fires.length === 0) return <p class="empty">No fires yet.</p>;
  return (
    <table class="runs fires">
      <thead>
        <tr>
          <th>Fire</th>
          <th>Time</th>
          <th>Occurrence</th>
          <th>State</th>
          <th>Run</th>
          <th>Why</th>
        </tr>
      </thead>
      <tbody>
        {fires.map((fire) => (
          <tr key={fire.id} data-fire={fire.id}>
            <td>{fire.id}</td>
            <td>{time(fire.scheduled_time ?? fire.created_at)}</td>
            <td>
              <code>{fire.occurrence}</code>
            </td>
            <td>
              <span class={`automation-state state-${fire.state}`}>{fire.state}</span>
            </td>
            <td>
              {fire.run_id ? (
                <Link href={`/ui/runs/${encodeURIComponent(fire.run_id)}`}>{fire.run_id}</Link>
              ) : (
                "—"
              )}
            </td>
            <td class="why">{fire.error ?? ""}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
