// The runs page: newest first, filtered by the address's query (pipeline, status,
// experiment, label=key=value, since=an ISO time in UTC), a page (page_size, default 50)
// at a time; refreshed every few seconds while a shown run runs.
import { useState } from "preact/hooks";
import { api, query } from "./api.js";
import { duration, time } from "./format.js";
import { usePolling } from "./polling.js";
import { Link, navigate } from "./router.jsx";
import { Labels, Status } from "./widgets.jsx";

const STATUSES = ["RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"];
const REFRESH_MS = 3000;

export function RunsList({ search }) {
  const filters = {
    pipeline: search.get("pipeline") ?? "",
    status: search.get("status") ?? "",
    experiment: search.get("experiment") ?? "",
    label: search.getAll("label"),
    since: search.get("since") ?? "",
    page_size: search.get("page_size") ?? "",
  };
  const pageToken = search.get("page_token") ?? "";
  const path = `/runs${query({ ...filters, page_token: pageToken })}`;
  const { data, error } = usePolling(
    () => api(path),
    path,
    (page) => (page.runs.some((run) => run.status === "RUNNING") ? REFRESH_MS : null),
  );
  return (
    <section class="page">
      <h1>Runs</h1>
      <Filters filters={filters} key={search.toString()} />
      {error && (
        <p class="error" role="alert">
          {error.message}
        </p>
      )}
      {data && <Table runs={data.runs} />}
      {data && (
        <nav class="pages" aria-label="Pages of runs">
          {pageToken && <Link href={`/ui/runs${query(filters)}`}>First page</Link>}
          {data.next_page_token && (
            <Link href={`/ui/runs${query({ ...filters, page_token: data.next_page_token })}`}>
              Next page
            </Link>
          )}
        </nav>
      )}
    </section>
  );
}

function Filters({ filters }) {
  const [shown, setShown] = useState({
    ...filters,
    label: filters.label.join(", "),
    since: localTime(filters.since),
  });
  const field = (name) => ({
    name,
    value: shown[name],
    onInput: (event) => setShown({ ...shown, [name]: event.currentTarget.value }),
  });
  const submit = (event) => {
    event.preventDefault();
    const chosen = {
      pipeline: shown.pipeline.trim(),
      status: shown.status,
      experiment: shown.experiment.trim(),
      label: shown.label.split(",").map((item) => item.trim()),
      since: shown.since ? new Date(shown.since).toISOString().replace(/\.\d{3}Z$/, "Z") : "",
      page_size: filters.page_size,
    };
    navigate(`/ui/runs${query(chosen)}`);
  };
  return (
    <form class="filters" onSubmit={submit} aria-label="Filters">
      <label>
        Pipeline
        <input {...field("pipeline")} />
      </label>
      <label>
        Status
        <select {...field("status")}>
          <option value="">any</option>
          {STATUSES.map((status) => (
            <option value={status}>{status}</option>
          ))}
        </select>
      </label>
      <label>
        Experiment
        <input {...field("experiment")} />
      </label>
      <label>
        Labels
        <input {...field("label")} placeholder="key=value, ..." />
      </label>
      <label>
        Created since
        <input type="datetime-local" {...field("since")} />
      </label>
      <button type="submit">Filter</button>
      <Link href="/ui/runs">Clear</Link>
    </form>
  );
}

/** An ISO time as a datetime-local input shows it: this browser's time zone, to the minute. */
function localTime(iso) {
  const moment = new Date(iso);
  if (!iso || Number.isNaN(moment.getTime())) return "";
  return new Date(moment.getTime() - moment.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}

function Table({ runs }) {
  if (runs.length === 0) return <p class="empty">No runs match.</p>;
  return (
    <table class="runs">
      <thead>
        <tr>
          <th>Run</th>
          <th>Name</th>
          <th>Pipeline</th>
          <th>Status</th>
          <th>Experiment</th>
          <th>Labels</th>
          <th>Created</th>
          <th>Duration</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((run) => (
          <tr key={run.run_id} data-run={run.run_id}>
            <td>
              <Link href={`/ui/runs/${encodeURIComponent(run.run_id)}`}>{run.run_id}</Link>
            </td>
            <td>{run.display_name ?? ""}</td>
            <td>{run.pipeline_name}</td>
            <td>
              <Status status={run.status} lost={run.runner_lost} />
            </td>
            <td>{run.experiment ?? ""}</td>
            <td>
              <Labels labels={run.labels} />
            </td>
            <td>{time(run.created_at)}</td>
            <td>{duration(run.created_at, run.ended_at)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
