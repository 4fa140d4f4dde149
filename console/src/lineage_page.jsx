// The lineage page (/ui/lineage/artifacts/ID, /ui/lineage/executions/ID, ?depth=N): the
// graph around an artifact or an execution, drawn left to right as the data flowed (where
// it came from on the left, what it led to on the right), laid out by dagre with the run
// graph's layout and arrows. Artifacts are round-ended, executions square with their
// state's colour; the node asked about is outlined. A node chosen shows its details, its
// neighbours, and links to its run, its task in the run and its own lineage.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, query } from "./api.js";
import { time } from "./format.js";
import { place } from "./graph_layout.js";
import { lineageHref } from "./lineage_link.jsx";
import { usePolling } from "./polling.js";
import { Link } from "./router.jsx";
import { Edges, position, px } from "./run_graph.jsx";
import { Alert, Values } from "./widgets.jsx";

export const DEFAULT_DEPTH = 3;
/** The deepest walk the API answers (`conveyor.api.lineage.MAX_DEPTH`). */
const MAX_DEPTH = 50;
const UNKNOWN_RUN = "not in this graph (made outside a run, or past the depth)";

export function LineagePage({ kind, id, search }) {
  const depth = search.get("depth") ?? String(DEFAULT_DEPTH);
  const path = `/${kind}s/${encodeURIComponent(id)}/lineage${query({ depth })}`;
  const { data, error } = usePolling(() => api(path), path);
  return (
    <section class="page lineage">
      <h1>
        Lineage of {kind} {id}
      </h1>
      <Alert message={error?.message} />
      {data ? <Lineage answer={data} /> : !error && <p class="empty">Loading…</p>}
    </section>
  );
}

function Lineage({ answer }) {
  const nodes = useMemo(() => new Map(answer.nodes.map((node) => [node.key, node])), [answer]);
  const placed = useMemo(() => place(level(answer), "LR"), [answer]);
  const [selected, setSelected] = useState(answer.start);
  const scroller = useRef(null);
  useEffect(() => {
    scroller.current?.querySelector(".start")?.scrollIntoView({ block: "nearest", inline: "center" });
  }, [placed]);
  const start = nodes.get(answer.start);
  const chosen = nodes.get(selected);
  return (
    <>
      <p class="lineage-summary">
        <strong>{start.name}</strong> <span class="muted">{start.type}</span> · up to {answer.depth}{" "}
        {answer.depth === 1 ? "execution" : "executions"} each way · where it came from on the left,
        what it led to on the right.
      </p>
      {answer.truncated && <Truncated start={start} depth={answer.depth} />}
      <div class="tasks">
        <div class="graph-scroll" ref={scroller}>
          <div
            class="graph lineage-graph"
            role="group"
            aria-label="Lineage graph"
            style={px({ width: placed.width + 2, height: placed.height + 2 })}
          >
            <Edges width={placed.width + 2} height={placed.height + 2} edges={placed.edges} />
            {placed.boxes.map((box) => (
              <Node box={box} start={answer.start} selected={selected} onSelect={setSelected} />
            ))}
          </div>
        </div>
        {chosen && (
          <Details node={chosen} answer={answer} nodes={nodes} onSelect={setSelected} key={chosen.key} />
        )}
      </div>
    </>
  );
}

/** The answer as a level of the run graph's layout: its nodes, and one edge per pair of
 * nodes (an execution reading one artifact under two names draws one arrow). */
function level(answer) {
  const pairs = new Map();
  for (const edge of answer.edges) pairs.set(`${edge.source} ${edge.target}`, [edge.source, edge.target]);
  return { nodes: answer.nodes, edges: [...pairs.values()] };
}

function Truncated({ start, depth }) {
  const deeper = Math.min(MAX_DEPTH, Math.max(2 * depth, depth + 1));
  return (
    <p class="lineage-truncated" role="status">
      The graph goes on beyond {depth} {depth === 1 ? "execution" : "executions"} each way.{" "}
      {depth < MAX_DEPTH ? (
        <Link href={lineageHref(start.kind, start.id, deeper)} class="button">
          Deeper
        </Link>
      ) : (
        "This is as deep as the console walks."
      )}
    </p>
  );
}

function Node({ box, start, selected, onSelect }) {
  const { node } = box;
  const names = ["node", "lineage-node", `lineage-${node.kind}`, `state-${node.state}`];
  if (node.key === start) names.push("start");
  if (node.key === selected) names.push("selected");
  return (
    <button
      type="button"
      class={names.join(" ")}
      data-node={node.key}
      style={position(box)}
      aria-pressed={node.key === selected}
      aria-label={`${node.kind} ${node.name}: ${caption(node)}`}
      title={node.kind === "artifact" ? node.uri : `${node.task_key} in run ${node.run_id}`}
      onClick={() => onSelect(node.key)}
    >
      <span class="name">{node.name}</span>
      <span class="state">{caption(node)}</span>
    </button>
  );
}

/** Under a node's name: an artifact's type (and its state unless LIVE), an execution's state. */
function caption(node) {
  if (node.kind === "execution") return node.state.toLowerCase();
  const type = node.type.replace(/^system\./, "");
  return node.state === "LIVE" ? type : `${type} · ${node.state.toLowerCase()}`;
}

function Details({ node, answer, nodes, onSelect }) {
  const artifact = node.kind === "artifact";
  const into = answer.edges.filter((edge) => edge.target === node.key);
  const out = answer.edges.filter((edge) => edge.source === node.key);
  const around = { nodes, onSelect };
  return (
    <aside class="inspector lineage-details" aria-label={`Details of ${node.kind} ${node.id}`}>
      <h2>{node.name}</h2>
      <p class="key">
        {node.kind} {node.id} <span class="type">{node.type}</span>
      </p>
      <dl class="facts">
        {artifact ? (
          <>
            <dt>URI</dt>
            <dd>
              <code>{node.uri}</code>
            </dd>
          </>
        ) : (
          <>
            <dt>Task</dt>
            <dd>
              <code>{node.task_key}</code>
            </dd>
          </>
        )}
        <dt>State</dt>
        <dd class={artifact ? undefined : `state-text state-${node.state}`}>{node.state}</dd>
        <dt>Run</dt>
        <dd>
          {node.run_id ? (
            <Link href={`/ui/runs/${encodeURIComponent(node.run_id)}`}>{node.run_id}</Link>
          ) : (
            <span class="muted">{artifact ? UNKNOWN_RUN : "—"}</span>
          )}
        </dd>
        {node.cached_from_id !== null && (
          <>
            <dt>Cached from</dt>
            <dd>
              <Link href={lineageHref("execution", node.cached_from_id, answer.depth)}>
                execution {node.cached_from_id}
              </Link>
            </dd>
          </>
        )}
        <dt>Created</dt>
        <dd>{time(node.created_at)}</dd>
      </dl>
      <p class="lineage-links">
        {!artifact && <Link href={taskHref(node)}>The task in its run</Link>}
        {node.key !== answer.start && (
          <Link href={lineageHref(node.kind, node.id, answer.depth)}>Lineage from here</Link>
        )}
      </p>
      {artifact && <Values values={node.metadata} caption="Metadata" empty="No metadata." />}
      <Neighbours title={artifact ? "Written by" : "Reads"} edges={into} end="source" {...around} />
      <Neighbours title={artifact ? "Read by" : "Writes"} edges={out} end="target" {...around} />
    </aside>
  );
}

/** The nodes at the `end` of `edges`, each a button that chooses it, with the event's name. */
function Neighbours({ title, edges, end, nodes, onSelect }) {
  return (
    <>
      <h3>{title}</h3>
      {edges.length === 0 ? (
        <p class="empty">None in this graph.</p>
      ) : (
        <ul class="neighbours">
          {edges.map((edge) => {
            const other = nodes.get(edge[end]);
            return (
              <li>
                <button type="button" class="link" onClick={() => onSelect(other.key)}>
                  {other.name}
                </button>{" "}
                <span class="muted">
                  {other.kind} {other.id}, as <code>{edge.name}</code>
                </span>
              </li>
            );
          })}
        </ul>
      )}
    </>
  );
}

/** The run's page with the execution's task chosen: its node's key in the run graph,
 * where a loop's iterations share one (`[*]`). */
function taskHref(execution) {
  const task = execution.task_key.replace(/\[\d+\]/g, "[*]");
  return `/ui/runs/${encodeURIComponent(execution.run_id)}${query({ task })}`;
}
