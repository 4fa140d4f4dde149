// An endpoint's rollouts: the unfinished one (its step among the steps, its state, its
// analyses; pause, resume and abort with the `deploy` role) and the past ones.
import { useState } from "preact/hooks";
import { api } from "./api.js";
import { time } from "./format.js";
import { Alert } from "./widgets.jsx";

const UNFINISHED = new Set(["progressing", "paused"]);

export function Rollouts({ rollouts, path, onChange }) {
  const current = rollouts.find((rollout) => UNFINISHED.has(rollout.state));
  const past = rollouts.filter((rollout) => rollout !== current);
  return (
    <>
      <h3>Current rollout</h3>
      {current ? (
        <Current rollout={current} path={path} onChange={onChange} />
      ) : (
        <p class="empty">No rollout in progress.</p>
      )}
      <h3>Past rollouts</h3>
      <Past rollouts={past} />
    </>
  );
}

/** `Step 2 of 3 (50 %)` (the candidate's share now, while unfinished), or what a
 * shadow does. */
function stepText(rollout) {
  if (rollout.strategy === "shadow") return "Shadow: mirrors the stable model's traffic";
  const step = `Step ${rollout.step + 1} of ${rollout.steps.length}`;
  return UNFINISHED.has(rollout.state) ? `${step} (${rollout.weight} %)` : step;
}

function Current({ rollout, path, onChange }) {
  const [problem, setProblem] = useState(null);
  const act = async (verb) => {
    const why = "Abort the rollout? All traffic goes back to the stable model.";
    if (verb === "abort" && !confirm(why)) return;
    setProblem(null);
    try {
      await api(`${path}:${verb}Rollout`, { method: "POST" });
      onChange();
    } catch (failure) {
      setProblem(failure.message);
    }
  };
  return (
    <article class="rollout" data-rollout={rollout.id} aria-label={`Rollout ${rollout.id}`}>
      <h2>
        Rollout {rollout.id}: {rollout.model}@{rollout.candidate_version}{" "}
        <span class={`rollout-state rollout-${rollout.state}`}>{rollout.state}</span>
      </h2>
      <p class="step">{stepText(rollout)}</p>
      {rollout.strategy === "canary" && (
        <ol class="steps" aria-label="Steps">
          {rollout.steps.map((weight, index) => (
            <li
              class={index === rollout.step ? "now" : index < rollout.step ? "done" : undefined}
              aria-current={index === rollout.step ? "step" : undefined}
            >
              {weight} %
            </li>
          ))}
        </ol>
      )}
      <dl class="facts">
        <dt>Strategy</dt>
        <dd>{rollout.strategy}</dd>
        <dt>Failures</dt>
        <dd>
          {rollout.failures} of {rollout.failure_limit} allowed
        </dd>
        <dt>Window</dt>
        <dd>
          every {rollout.interval_seconds} s, this one from {time(rollout.window_started_at)}
        </dd>
        <dt>Judged by</dt>
        <dd>{rollout.leased_by ?? "no server yet"}</dd>
        <dt>Latest</dt>
        <dd>{rollout.message ?? "—"}</dd>
      </dl>
      <div class="actions">
        {rollout.state === "progressing" && (
          <button type="button" onClick={() => act("pause")}>
            Pause rollout
          </button>
        )}
        {rollout.state === "paused" && (
          <button type="button" onClick={() => act("resume")}>
            Resume rollout
          </button>
        )}
        <button type="button" class="danger" onClick={() => act("abort")}>
          Abort rollout
        </button>
      </div>
      <Alert message={problem} />
      <h4>Analyses</h4>
      <Analyses analyses={rollout.analyses} />
    </article>
  );
}

function Analyses({ analyses }) {
  if (analyses.length === 0) return <p class="empty">No window judged yet.</p>;
  return (
    <table class="runs analyses">
      <thead>
        <tr>
          <th>Step</th>
          <th>Weight</th>
          <th>Verdict</th>
          <th>Window ended</th>
          <th>Message</th>
        </tr>
      </thead>
      <tbody>
        {analyses.map((analysis) => (
          <tr>
            <td>{analysis.step + 1}</td>
            <td>{analysis.weight} %</td>
            <td class={`verdict-${analysis.verdict}`}>{analysis.verdict}</td>
            <td>{time(analysis.ended_at)}</td>
            <td class="why">{analysis.message}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Past({ rollouts }) {
  if (rollouts.length === 0) return <p class="empty">No past rollouts.</p>;
  return (
    <table class="runs past-rollouts">
      <thead>
        <tr>
          <th>Rollout</th>
          <th>Candidate</th>
          <th>Strategy</th>
          <th>State</th>
          <th>Reached</th>
          <th>Failures</th>
          <th>Started</th>
          <th>Finished</th>
          <th>Why</th>
        </tr>
      </thead>
      <tbody>
        {rollouts.map((rollout) => (
          <tr key={rollout.id} data-rollout={rollout.id}>
            <td>{rollout.id}</td>
            <td>
              {rollout.model}@{rollout.candidate_version}
            </td>
            <td>{rollout.strategy}</td>
            <td>
              <span class={`rollout-state rollout-${rollout.state}`}>{rollout.state}</span>
            </td>
            <td>{stepText(rollout)}</td>
            <td>{rollout.failures}</td>
            <td>{time(rollout.created_at)}</td>
            <td>{time(rollout.finished_at)}</td>
            <td class="why">{rollout.message ?? ""}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
