// A pipeline spec's graph without a run: the run graph's boxes and arrows, every task
// laid out from the compiled spec, with no state (nothing ran). Choosing a task shows
// its component and inputs.
import { useMemo, useState } from "preact/hooks";
import { allNodes, runGraph } from "./graph_model.js";
import { RunGraph, escapeCloses } from "./run_graph.jsx";
import { value } from "./format.js";

export function SpecGraph({ spec }) {
  const graph = useMemo(() => runGraph(spec, []), [spec]);
  const [selected, setSelected] = useState(null);
  const node = selected ? allNodes(graph).find((candidate) => candidate.key === selected) : null;
  return (
    <div class="tasks spec-graph" onKeyDown={escapeCloses(selected, setSelected)}>
      <div class="graph-scroll">
        <RunGraph graph={graph} selected={selected} onSelect={setSelected} />
      </div>
      {node && <TaskSpec spec={spec} taskKey={node.key} />}
    </div>
  );
}

/** The spec of the task at `taskKey` (`parent/child` inside groups): its component and
 * the inputs it is given. */
function TaskSpec({ spec, taskKey }) {
  const task = findTask(spec, taskKey);
  if (!task) return null;
  const inputs = Object.entries(task.inputs?.parameters ?? {}).map(([name, given]) => [name, source(given)]);
  return (
    <aside class="inspector" aria-label={`Task ${taskKey}`}>
      <h2>{task.taskInfo?.name ?? taskKey}</h2>
      <p class="key">{taskKey}</p>
      <dl class="facts">
        <dt>Component</dt>
        <dd>{task.componentRef?.name ?? "—"}</dd>
        <dt>After</dt>
        <dd>{(task.dependentTasks ?? []).join(", ") || "—"}</dd>
        {task.triggerPolicy?.condition && (
          <>
            <dt>Runs if</dt>
            <dd>
              <code>{task.triggerPolicy.condition}</code>
            </dd>
          </>
        )}
      </dl>
      <h4>Inputs</h4>
      {inputs.length === 0 ? (
        <p class="empty">none</p>
      ) : (
        <table class="values">
          <tbody>
            {inputs.map(([name, from]) => (
              <tr>
                <th scope="row">{name}</th>
                <td>{from}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </aside>
  );
}

/** Where an input parameter comes from: a constant, the pipeline's input, or a task. */
function source(given) {
  if (given.runtimeValue) return value(given.runtimeValue.constant ?? given.runtimeValue);
  if (given.componentInputParameter) return `pipeline input ${given.componentInputParameter}`;
  const output = given.taskOutputParameter;
  if (output) return `${output.producerTask}.${output.outputParameterKey}`;
  return value(given);
}

/** The task of `key`: its path of names through the DAGs of groups (`[*]` dropped). */
function findTask(spec, key) {
  let dag = spec.root?.dag;
  let task = null;
  for (const part of key.split("/")) {
    task = dag?.tasks?.[part.replace(/\[\*\]$/, "")];
    if (!task) return null;
    dag = spec.components?.[task.componentRef?.name]?.dag;
  }
  return task;
}
