// The run's graph drawn: task boxes coloured by state, group boxes (sub-DAGs,
// conditions, loops) around their tasks, arrows from each task to those that wait on it.
import { useMemo } from "preact/hooks";
import { NOT_RUN } from "./graph_model.js";
import { PAD, TITLE, place } from "./graph_layout.js";

export function RunGraph({ graph, selected, onSelect }) {
  const placed = useMemo(() => place(graph), [graph]);
  const { boxes, edges } = flatten(placed, 0, 0);
  return (
    <div class="graph" style={px({ width: placed.width + 2, height: placed.height + 2 })}>
      <Edges width={placed.width + 2} height={placed.height + 2} edges={edges} />
      {boxes.map((box) =>
        box.node.group ? (
          <Group box={box} selected={selected} onSelect={onSelect} />
        ) : (
          <Task box={box} selected={selected} onSelect={onSelect} />
        ),
      )}
    </div>
  );
}

/** The arrows of a placed graph (lists of points), drawn under its boxes. */
export function Edges({ width, height, edges }) {
  return (
    <svg class="edges" width={width} height={height} aria-hidden="true">
      <defs>
        <marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" markerHeight="7" orient="auto">
          <path d="M0,0 L8,4 L0,8 z" />
        </marker>
      </defs>
      {edges.map((points) => (
        <polyline points={points.map((p) => `${p.x},${p.y}`).join(" ")} marker-end="url(#arrow)" />
      ))}
    </svg>
  );
}

/** Every box and edge of `placed` and of the levels inside it, moved by (dx, dy). */
function flatten(placed, dx, dy) {
  const boxes = [];
  const edges = placed.edges.map((points) => points.map((p) => ({ x: p.x + dx, y: p.y + dy })));
  for (const box of placed.boxes) {
    const x = box.x + dx;
    const y = box.y + dy;
    boxes.push({ ...box, x, y });
    if (box.inside) {
      const inner = flatten(box.inside, x + (box.width - box.inside.width) / 2, y + TITLE + PAD);
      boxes.push(...inner.boxes);
      edges.push(...inner.edges);
    }
  }
  return { boxes, edges };
}

function classes(node, selected, kind) {
  const names = [kind, `state-${node.state}`];
  if (node.cached) names.push("cached");
  if (node.key === selected) names.push("selected");
  return names.join(" ");
}

export function position(box) {
  return px({ left: box.x, top: box.y, width: box.width, height: box.height });
}

/** Inline style lengths in pixels (Preact adds no unit to numbers). */
export function px(lengths) {
  return Object.fromEntries(Object.entries(lengths).map(([name, n]) => [name, `${n}px`]));
}

function Task({ box, selected, onSelect }) {
  const { node } = box;
  return (
    <button
      type="button"
      class={classes(node, selected, "node")}
      data-task={node.key}
      style={position(box)}
      aria-pressed={node.key === selected}
      aria-label={`${node.name}: ${stateText(node)}`}
      onClick={() => onSelect(node.key)}
      title={`${node.key}: ${stateText(node)}`}
    >
      <span class="name">{node.name}</span>
      <span class="state">{stateText(node)}</span>
    </button>
  );
}

/** The graph's and its inspector's keydown handler: Escape closes the inspector of the
 * `selected` task (`onSelect(null)`) and puts the focus back on that task's box. */
export function escapeCloses(selected, onSelect) {
  return (event) => {
    if (event.key !== "Escape" || selected === null) return;
    const box = event.currentTarget.querySelector(`[data-task="${CSS.escape(selected)}"]`);
    onSelect(null);
    (box?.matches("button") ? box : box?.querySelector("button"))?.focus();
  };
}

function Group({ box, selected, onSelect }) {
  const { node } = box;
  const kind = node.loop ? "loop" : node.condition ? "condition" : "sub-DAG";
  return (
    <div class={classes(node, selected, "group")} data-task={node.key} style={position(box)}>
      <button
        type="button"
        class="group-title"
        aria-pressed={node.key === selected}
        onClick={() => onSelect(node.key)}
        title={node.condition ? `if ${node.condition}` : node.key}
      >
        <span class="name">{node.name}</span>
        <span class="state">
          {kind} · {stateText(node)}
        </span>
      </button>
    </div>
  );
}

function stateText(node) {
  if (node.state === NOT_RUN) return "not run";
  const shown = node.state.toLowerCase();
  return node.iterations.length > 1 ? `${shown} · ${node.iterations.length}×` : shown;
}
