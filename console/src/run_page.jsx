// A run's page: its header (status, times, parameters, labels, cancel), the graph of
// its tasks and the inspector of the one chosen; read again every second or two while
// the run runs.
import { useMemo, useState } from "preact/hooks";
import { api } from "./api.js";
import { duration, time } from "./format.js";
import { allNodes, runGraph } from "./graph_model.js";
import { Inspector } from "./inspector.jsx";
import { usePolling } from "./polling.js";
import { Link } from "./router.jsx";
import { RunGraph } from "./run_graph.jsx";
import { Labels, Status, Values } from "./widgets.jsx";

const REFRESH_MS = 1500;

export function RunPage({ runId }) {
  const path = `/runs/${encodeURIComponent(runId)}`;
  const { data: run, error, reload } = usePolling(
    () => api(`${path}?view=full`),
    path,
    (shown) => (shown.status === "RUNNING" ? REFRESH_MS : null),
  );
  if (!run) {
    return (
      <section class="page">
        <h1>{runId}</h1>
        {error ? (
          <p class="error" role="alert">
            {error.message}
          </p>
        ) : (
          <p class="empty">Loading…</p>
        )}
      </section>
    );
  }
  return (
    <section class="page run">
      <p>
        <Link href="/ui/runs">Runs</Link> /
      </p>
      <Header run={run} path={path} onChange={reload} />
      {error && (
        <p class="error" role="alert">
          {error.message}
        </p>
      )}
      {run.pipeline_spec ? (
        <Tasks run={run} />
      ) : (
        <p class="empty">This run recorded no pipeline spec, so it has no graph.</p>
      )}
    </section>
  );
}

function Header({ run, path, onChange }) {
  const [problem, setProblem] = useState(null);
  const cancel = async () => {
    setProblem(null);
    try {
      await api(`${path}:cancel`, { method: "POST" });
      onChange();
    } catch (failure) {
      setProblem(failure.message);
    }
  };
  return (
    <header class="run-header">
      <h1>
        {run.display_name ?? run.run_id} <Status status={run.status} lost={run.runner_lost} />
      </h1>
      {run.status === "RUNNING" && (
        <button type="button" class="danger" onClick={cancel}>
          Cancel run
        </button>
      )}
      {problem && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
      <dl class="facts">
        <dt>Run</dt>
        <dd>
          <code>{run.run_id}</code>
        </dd>
        <dt>Pipeline</dt>
        <dd>{run.pipeline_name}</dd>
        <dt>Created</dt>
        <dd>{time(run.created_at)}</dd>
        <dt>Ended</dt>
        <dd>{time(run.ended_at)}</dd>
        <dt>Duration</dt>
        <dd>{duration(run.created_at, run.ended_at)}</dd>
        <dt>Experiment</dt>
        <dd>{run.experiment ?? "—"}</dd>
        <dt>Labels</dt>
        <dd>
          <Labels labels={run.labels} />
        </dd>
      </dl>
      {run.error && <pre class="error run-error">{run.error}</pre>}
      <Values values={run.parameters} caption="Parameters" empty="No parameters." />
    </header>
  );
}

function Tasks({ run }) {
  const [selected, setSelected] = useState(null);
  const graph = useMemo(
    () => runGraph(run.pipeline_spec, run.executions),
    [run.pipeline_spec, run.executions],
  );
  const node = allNodes(graph).find((candidate) => candidate.key === selected);
  return (
    <div class="tasks">
      <div class="graph-scroll">
        <RunGraph graph={graph} selected={selected} onSelect={setSelected} />
      </div>
      {node ? (
        <Inspector runId={run.run_id} node={node} key={node.key} />
      ) : (
        <aside class="inspector empty">Choose a task to inspect it.</aside>
      )}
    </div>
  );
}
