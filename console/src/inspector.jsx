// The task inspector: what one node of the graph did: its state and times, parameters,
// artifacts, why it was (or was not) a cache hit, and the end of its log, streamed
// while it runs (`live_log.jsx`). A node inside a loop lists its iterations to choose from.
import { useState } from "preact/hooks";
import { api, query } from "./api.js";
import { ArtifactView } from "./artifact_view.jsx";
import { ClassificationArtifact } from "./classification.jsx";
import { duration, time } from "./format.js";
import { NOT_RUN } from "./graph_model.js";
import { LineageLink } from "./lineage_link.jsx";
import { Log } from "./live_log.jsx";
import { usePolling } from "./polling.js";
import { Values } from "./widgets.jsx";

export function Inspector({ runId, node }) {
  const [chosen, setChosen] = useState(null);
  const execution =
    node.iterations.find((e) => e.task_key === chosen) ?? node.iterations.at(-1) ?? null;
  return (
    <aside class="inspector" aria-label="Task inspector">
      <h2>{node.name}</h2>
      <p class="key">
        <code>{node.key}</code>
        {node.condition && (
          <>
            {" "}
            runs if <code>{node.condition}</code>
          </>
        )}
      </p>
      {node.iterations.length > 1 && (
        <Iterations node={node} shown={execution} onChoose={setChosen} />
      )}
      {node.state === NOT_RUN ? (
        <p class="empty">
          Not run: its condition was false, or the run ended before reaching it.
        </p>
      ) : (
        <Execution runId={runId} execution={execution} key={execution.task_key} />
      )}
    </aside>
  );
}

function Iterations({ node, shown, onChoose }) {
  return (
    <nav class="iterations" aria-label="Iterations">
      {node.iterations.map((e) => (
        <button
          type="button"
          class={`state-${e.state}`}
          aria-pressed={e === shown}
          onClick={() => onChoose(e.task_key)}
        >
          {e.task_key.match(/\[\d+\]/g)?.join("") ?? e.task_key}
        </button>
      ))}
    </nav>
  );
}

function Execution({ runId, execution }) {
  const container = execution.type !== "system.DAGExecution";
  return (
    <>
      <dl class="facts">
        <dt>State</dt>
        <dd class={`state-text state-${execution.state}`}>{execution.state}</dd>
        <dt>Started</dt>
        <dd>{time(execution.started_at)}</dd>
        <dt>Ended</dt>
        <dd>{time(execution.ended_at)}</dd>
        <dt>Duration</dt>
        <dd>{duration(execution.started_at, execution.ended_at)}</dd>
        {execution.cached_from_id !== null && (
          <>
            <dt>Cached from</dt>
            <dd>execution {execution.cached_from_id}</dd>
          </>
        )}
      </dl>
      <p class="lineage-links">
        <LineageLink kind="execution" id={execution.id}>
          Lineage of this task
        </LineageLink>
      </p>
      {execution.error && <pre class="error task-error">{execution.error}</pre>}
      <h3>Inputs</h3>
      <Values values={execution.input_parameters} empty="No input parameters." />
      <Artifacts artifacts={execution.inputs} />
      <h3>Outputs</h3>
      <Values values={execution.output_parameters} empty="No output parameters." />
      <Artifacts artifacts={execution.outputs} />
      {container && <Cache runId={runId} execution={execution} />}
      {container && execution.state !== "CACHED" && <Log runId={runId} execution={execution} />}
    </>
  );
}

function Artifacts({ artifacts }) {
  return Object.entries(artifacts ?? {}).flatMap(([name, list]) =>
    list.map((artifact) => (
      <div class="artifact" data-artifact={name}>
        <h4>
          {name} <span class="type">{artifact.type}</span>{" "}
          <LineageLink kind="artifact" id={artifact.id} aria-label={`Lineage of artifact ${name}`} />
        </h4>
        <p class="uri">
          <code>{artifact.uri}</code>
        </p>
        {artifact.type === "system.ClassificationMetrics" ? (
          <ClassificationArtifact name={name} metadata={artifact.metadata} />
        ) : (
          <Values
            values={artifact.metadata}
            caption={artifact.type === "system.Metrics" ? "Metrics" : "Metadata"}
            empty="No metadata."
          />
        )}
        <ArtifactView name={name} artifact={artifact} />
      </div>
    )),
  );
}

function Cache({ runId, execution }) {
  const path = `/runs/${runId}/cache${query({ task: execution.task_key })}`;
  const { data, error } = usePolling(() => api(path), `${path}:${execution.state}`);
  return (
    <section class="cache">
      <h3>Cache</h3>
      {error && <p class="empty">{error.message}</p>}
      {data && (
        <>
          <p class={data.hit ? "hit" : "miss"}>{data.hit ? "Cache hit" : `Not a hit: ${data.reason}`}</p>
          <ul>
            {data.lines.map((line) => (
              <li>{line}</li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
