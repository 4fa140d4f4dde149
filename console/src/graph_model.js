// The graph of a run: the DAGs of its compiled spec (the root's, and the sub-DAGs of
// pipelines used as components, conditions, loops and exit handlers) as nested levels
// of nodes and edges, each node with the executions of its task.
//
// Executions are matched by task key: a root task's key is its name, a nested task's is
// `parent/child`, and a task inside a loop runs once per iteration as
// `for-loop-2[3]/child`. A node inside a loop stands for all its iterations: its key
// writes the iteration as `[*]` (`for-loop-2[*]/child`), and its state sums theirs up.
// A node with no execution did not run (a condition was false, or the run stopped
// before it): its state is NOT_RUN.

export const NOT_RUN = "NOT_RUN";

/** The root level of the run's graph: `{ nodes, edges }` (see `level`). */
export function runGraph(spec, executions) {
  const byTemplate = new Map();
  for (const execution of [...executions].sort((a, b) => a.id - b.id)) {
    const template = execution.task_key.replace(/\[\d+\]/g, "[*]");
    if (!byTemplate.has(template)) byTemplate.set(template, []);
    byTemplate.get(template).push(execution);
  }
  return level(spec, spec.root?.dag ?? { tasks: {} }, "", byTemplate);
}

/**
 * The tasks of one DAG: nodes `{ key, name, group, loop, condition, children,
 * iterations, state, cached }` (`children`: the level inside a group; `iterations`:
 * the latest execution of each iteration, or of the task) and edges `[from, to]`
 * between them.
 */
function level(spec, dag, prefix, byTemplate) {
  const tasks = Object.entries(dag.tasks ?? {});
  const nodes = tasks.map(([name, task]) => {
    const key = prefix ? `${prefix}/${name}` : name;
    const component = spec.components?.[task.componentRef?.name] ?? {};
    const loop = Boolean(task.parameterIterator || task.artifactIterator);
    const iterations = latestByKey(byTemplate.get(key) ?? []);
    const children = component.dag
      ? level(spec, component.dag, loop ? `${key}[*]` : key, byTemplate)
      : null;
    return {
      key,
      name: task.taskInfo?.name ?? name,
      group: Boolean(children),
      loop,
      condition: task.triggerPolicy?.condition ?? null,
      children,
      iterations,
      state: summed(iterations),
      cached: iterations.length > 0 && iterations.every((e) => e.state === "CACHED"),
    };
  });
  const names = new Map(tasks.map(([name], index) => [name, nodes[index].key]));
  const edges = tasks.flatMap(([name, task]) =>
    (task.dependentTasks ?? [])
      .filter((upstream) => names.has(upstream))
      .map((upstream) => [names.get(upstream), names.get(name)]),
  );
  return { nodes, edges };
}

/** The latest execution of each task key (a resumed run ran some tasks again). */
function latestByKey(executions) {
  const latest = new Map();
  for (const execution of executions) latest.set(execution.task_key, execution);
  return [...latest.values()];
}

/** One state for a task's executions: the first of running, failed, cancelled that any
 * has, else CACHED when all were, else COMPLETE; NOT_RUN for none. */
function summed(executions) {
  if (executions.length === 0) return NOT_RUN;
  if (executions.length === 1) return executions[0].state;
  const states = new Set(executions.map((e) => e.state));
  for (const state of ["RUNNING", "NEW", "FAILED", "CANCELED"]) {
    if (states.has(state)) return state === "NEW" ? "RUNNING" : state;
  }
  return states.size === 1 && states.has("CACHED") ? "CACHED" : "COMPLETE";
}

/** Every node of the graph, groups and their insides, depth first. */
export function allNodes(graph) {
  return graph.nodes.flatMap((node) => [node, ...(node.children ? allNodes(node.children) : [])]);
}
