// A run's page: its header (status, times, parameters, labels, cancel, resume), the graph of
// its tasks and the inspector of the one chosen; kept up to date by the run's event
// stream while the run runs (`live_run.js`).
import { useMemo, useState } from "preact/hooks";
import { api } from "./api.js";
import { duration, time } from "./format.js";
import { allNodes, runGraph } from "./graph_model.js";
import { Inspector } from "./inspector.jsx";
import { useLiveRun } from "./live_run.js";
import { Link } from "./router.jsx";
import { RunGraph, escapeCloses } from "./run_graph.jsx";
import { Labels, Status, Values } from "./widgets.jsx";

export function RunPage({ runId }) {
  const path = `/runs/${encodeURIComponent(runId)}`;
  const { run, error, reload } = useLiveRun(path);
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
  const [doing, setDoing] = useState(null);
  // `:cancel`, or `:resume`, which answers once a process of the server's runs the run.
  const act = (verb) => async () => {
    setProblem(null);
    setDoing(verb);
    try {
      await api(`${path}:${verb}`, { method: "POST" });
      onChange();
    } catch (failure) {
      setProblem(failure.message);
    } finally {
      setDoing(null);
    }
  };
  const resumable = run.status === "FAILED" || run.status === "CANCELLED" || run.runner_lost;
  return (
    <header class="run-header">
      <h1>
        {run.display_name ?? run.run_id} <Status status={run.status} lost={run.runner_lost} />
      </h1>
      {run.status === "RUNNING" && (
        <button type="button" class="danger" onClick={act("cancel")} disabled={doing !== null}>
          Cancel run
        </button>
      )}
      {resumable && (
        <button type="button" onClick={act("resume")} disabled={doing !== null}>
          {doing === "resume" ? "Resuming…" : "Resume run"}
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
  // The task the address names (`?task=KEY`: the lineage page links there), else none.
  const [selected, setSelected] = useState(() => new URLSearchParams(location.search).get("task"));
  const graph = useMemo(
    () => runGraph(run.pipeline_spec, run.executions),
    [run.pipeline_spec, run.executions],
  );
  const node = allNodes(graph).find((candidate) => candidate.key === selected);
  return (
    <div class="tasks" onKeyDown={escapeCloses(selected, setSelected)}>
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
