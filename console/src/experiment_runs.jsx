// An experiment's runs as a comparison table, searched on the server: the address holds
// the filter, the order (a click on a header), the columns chosen (a projection), the
// page size and the page token, so a view can be bookmarked; runs chosen with their
// boxes are compared on the compare page.
import { useState } from "preact/hooks";
import { api, query } from "./api.js";
import { duration, time, value } from "./format.js";
import { usePolling } from "./polling.js";
import { Link, navigate } from "./router.jsx";

const FIXED = ["run_type", "state", "start_time", "end_time", "pipeline_run"];
const ALL_DATA = ["param.*", "metric.*", "time_series_metric.*"];
const GROUPS = ["param.", "metric.", "time_series_metric."];
const DISCOVERED_RUNS = 200;
const DEFAULT_PAGE_SIZE = 50;
const PLAIN_KEY = /^[\w./-]+$/;

export function ExperimentRuns({ name, search }) {
  const view = {
    filter: search.get("filter") ?? "",
    order_by: search.get("order_by") ?? "",
    columns: search.getAll("columns"),
    page_size: search.get("page_size") ?? "",
  };
  const pageToken = search.get("page_token") ?? "";
  const base = `/experiments/${encodeURIComponent(name)}`;
  const chosen = view.columns.length ? view.columns : ALL_DATA;
  const path = `${base}/runs${query({
    filter: view.filter,
    order_by: view.order_by,
    columns: [...FIXED, ...chosen],
    page_size: view.page_size || DEFAULT_PAGE_SIZE,
    page_token: pageToken,
  })}`;
  const { data, error } = usePolling(() => api(path), path);
  const experiment = usePolling(() => api(base), base).data;
  const options = useColumnOptions(base, [
    ...view.columns.map(unquoted),
    ...dataColumns(data?.runs ?? []),
  ]);
  const [selected, setSelected] = useState(() => new Set());
  const go = (changes) => navigate(`/ui${base}${query({ ...view, ...changes })}`);
  const shown = view.columns.length
    ? options.filter((column) => view.columns.includes(quoted(column)))
    : options;
  return (
    <section class="page experiment">
      <p>
        <Link href="/ui/experiments">Experiments</Link> /
      </p>
      <h1>{name}</h1>
      {experiment?.description && <p class="description">{experiment.description}</p>}
      <SearchForm filter={view.filter} key={view.filter} onSearch={(filter) => go({ filter })} />
      <ColumnChooser options={options} shown={shown} onChoose={(columns) => go({ columns })} />
      {error && (
        <p class="error" role="alert">
          {error.message}
        </p>
      )}
      <Selection experiment={name} selected={selected} onClear={() => setSelected(new Set())} />
      {data && (
        <RunsTable
          runs={data.runs}
          columns={shown}
          order={view.order_by}
          onOrder={(order_by) => go({ order_by })}
          selected={selected}
          onSelect={setSelected}
        />
      )}
      {data && (
        <nav class="pages" aria-label="Pages of runs">
          <span class="total">
            {data.total} {data.total === 1 ? "run matches" : "runs match"}
          </span>
          {pageToken && <Link href={`/ui${base}${query(view)}`}>First page</Link>}
          {data.next_page_token && (
            <Link href={`/ui${base}${query({ ...view, page_token: data.next_page_token })}`}>Next page</Link>
          )}
        </nav>
      )}
    </section>
  );
}

/**
 * The param and metric columns to choose from: those of the newest runs (a projection of
 * the first DISCOVERED_RUNS, so a large experiment stays one small call), and `others`
 * (those chosen, those of the page shown).
 */
function useColumnOptions(base, others) {
  const path = `${base}/runs${query({ columns: ALL_DATA, page_size: DISCOVERED_RUNS })}`;
  const found = usePolling(() => api(path), path).data;
  const names = new Set([...dataColumns(found?.runs ?? []), ...others]);
  return sortColumns([...names].filter((column) => GROUPS.some((group) => column.startsWith(group))));
}

function SearchForm({ filter, onSearch }) {
  const [text, setText] = useState(filter);
  const submit = (event) => {
    event.preventDefault();
    onSearch(text.trim());
  };
  return (
    <form class="filters" onSubmit={submit} aria-label="Search runs">
      <label class="wide">
        Filter
        <input
          name="filter"
          value={text}
          onInput={(event) => setText(event.currentTarget.value)}
          placeholder='metric.accuracy >= 0.9 and param.model = "tree"'
        />
      </label>
      <button type="submit">Search</button>
      {filter && (
        <button type="button" class="link" onClick={() => onSearch("")}>
          Clear
        </button>
      )}
    </form>
  );
}

function ColumnChooser({ options, shown, onChoose }) {
  if (options.length === 0) return null;
  const toggle = (column, on) => {
    const next = options.filter((option) => (option === column ? on : shown.includes(option)));
    // Every column is the default view; none is a projection on a column always shown.
    if (next.length === options.length) onChoose([]);
    else onChoose(next.length ? next.map(quoted) : ["state"]);
  };
  return (
    <details class="columns-chooser">
      <summary>
        Columns ({shown.length} of {options.length})
      </summary>
      <fieldset>
        <legend>Params and metrics shown</legend>
        {options.map((column) => (
          <label>
            <input
              type="checkbox"
              name="column"
              value={column}
              checked={shown.includes(column)}
              onChange={(event) => toggle(column, event.currentTarget.checked)}
            />
            {column}
          </label>
        ))}
      </fieldset>
    </details>
  );
}

function Selection({ experiment, selected, onClear }) {
  if (selected.size === 0) {
    return <p class="empty selection">Choose runs with their boxes to compare them.</p>;
  }
  const runs = [...selected].join(",");
  const href = `/ui/experiments/${encodeURIComponent(experiment)}/compare${query({ runs })}`;
  return (
    <p class="selection">
      <Link class="button" href={href}>
        Compare {selected.size} {selected.size === 1 ? "run" : "runs"}
      </Link>{" "}
      <button type="button" class="link" onClick={onClear}>
        Clear selection
      </button>
    </p>
  );
}

function RunsTable({ runs, columns, order, onOrder, selected, onSelect }) {
  if (runs.length === 0) return <p class="empty">No runs match.</p>;
  const [sortedBy, direction] = parseOrder(order);
  const header = (column, label) => {
    const current = sortedBy === column ? direction : null;
    const next = current === "ASC" ? "DESC" : "ASC";
    return (
      <th scope="col" aria-sort={current ? (current === "ASC" ? "ascending" : "descending") : undefined}>
        <button type="button" class="sort" onClick={() => onOrder(`${quoted(column)} ${next}`)}>
          {label}
          {current && <span aria-hidden="true">{current === "ASC" ? " ▲" : " ▼"}</span>}
        </button>
      </th>
    );
  };
  const choose = (names, on) => {
    const next = new Set(selected);
    names.forEach((run) => (on ? next.add(run) : next.delete(run)));
    onSelect(next);
  };
  const names = runs.map((run) => run.run_name);
  return (
    <div class="table-scroll">
      <table class="runs compare-runs">
        <thead>
          <tr>
            <th scope="col">
              <input
                type="checkbox"
                aria-label="Select every run shown"
                checked={names.every((run) => selected.has(run))}
                onChange={(event) => choose(names, event.currentTarget.checked)}
              />
            </th>
            {header("run_name", "Run")}
            {header("run_type", "Type")}
            {header("state", "State")}
            {header("start_time", "Started")}
            <th scope="col">Duration</th>
            {columns.map((column) => header(column, column))}
          </tr>
        </thead>
        <tbody>
          {runs.map((run) => (
            <tr key={run.run_name} data-run={run.run_name}>
              <td>
                <input
                  type="checkbox"
                  aria-label={`Select run ${run.run_name}`}
                  checked={selected.has(run.run_name)}
                  onChange={(event) => choose([run.run_name], event.currentTarget.checked)}
                />
              </td>
              <td>{run.run_name}</td>
              <td>
                {run.run_type === "system.PipelineRun" && run.pipeline_run ? (
                  <Link href={`/ui/runs/${encodeURIComponent(run.pipeline_run)}`} class="pipeline-run">
                    pipeline run
                  </Link>
                ) : (
                  run.run_type
                )}
              </td>
              <td>
                <span class={`state-text state-${run.state}`}>{run.state}</span>
              </td>
              <td>{time(run.start_time)}</td>
              <td>{duration(run.start_time, run.end_time)}</td>
              {columns.map((column) => (
                <td data-column={column}>{column in run ? value(run[column]) : ""}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The param and metric columns that `rows` have, grouped (params, metrics, series), by key. */
function dataColumns(rows) {
  const names = new Set(rows.flatMap(Object.keys));
  return sortColumns([...names].filter((column) => GROUPS.some((group) => column.startsWith(group))));
}

function sortColumns(columns) {
  const group = (column) => GROUPS.findIndex((prefix) => column.startsWith(prefix));
  return columns.sort((a, b) => group(a) - group(b) || a.localeCompare(b));
}

/** A column as the search grammar reads it: a key of other characters in backticks. */
function quoted(column) {
  const prefix = GROUPS.find((group) => column.startsWith(group)) ?? "";
  const key = column.slice(prefix.length);
  return !prefix || PLAIN_KEY.test(key) ? column : `${prefix}\`${key}\``;
}

function unquoted(column) {
  return column.replace(/`([^`]+)`/g, "$1");
}

/** The column and direction of an order_by (`metric.accuracy DESC`). */
function parseOrder(order) {
  const found = order.trim().match(/^(.*?)(?:\s+(ASC|DESC))?$/i);
  if (!found || !found[1]) return [null, null];
  return [unquoted(found[1]), (found[2] ?? "ASC").toUpperCase()];
}
