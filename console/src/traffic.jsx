// An endpoint's traffic split: shown as a horizontal stacked bar, and changed by a form
// (the `deploy` role) whose percentages must add up to 100 before it is sent.
import { useState } from "preact/hooks";
import { api } from "./api.js";
import { Alert } from "./widgets.jsx";

const SHADES = 6;

/** `1: 70 %, 2: 30 %`, or "no traffic" for an empty split. */
export function splitText(split) {
  const shares = Object.entries(split);
  if (shares.length === 0) return "no traffic";
  return shares.map(([id, percent]) => `${id}: ${percent} %`).join(", ");
}

/** The split as one bar, a segment per deployed model with a share (its shade by its
 * place among `ids`, so a model keeps its colour as the split changes). */
export function TrafficBar({ split, ids }) {
  const shares = ids.filter((id) => split[id] > 0);
  return (
    <div class="traffic-bar" role="img" aria-label={`Traffic: ${splitText(split)}`}>
      {shares.length === 0 && <span class="traffic-none">no traffic</span>}
      {shares.map((id) => (
        <span
          class={`traffic-share shade-${ids.indexOf(id) % SHADES}`}
          style={{ width: `${split[id]}%` }}
          data-deployed={id}
          title={`${id}: ${split[id]} %`}
        >
          {id}: {split[id]} %
        </span>
      ))}
    </div>
  );
}

/** Percentages for every deployed model taking traffic (not shadows), sent as the
 * whole split once they add up to 100. */
export function TrafficForm({ path, deployed, split, onChange }) {
  const takers = deployed.filter((model) => !model.shadow_of);
  const [shown, setShown] = useState(() =>
    Object.fromEntries(takers.map((model) => [model.id, String(split[model.id] ?? 0)])),
  );
  const [problem, setProblem] = useState(null);
  const [busy, setBusy] = useState(false);
  const total = Object.values(shown).reduce((sum, text) => sum + Number(text || 0), 0);
  const submit = async (event) => {
    event.preventDefault();
    const wanted = Object.fromEntries(
      Object.entries(shown).map(([id, text]) => [id, Number(text || 0)]),
    );
    const wrong = Object.values(wanted).find((n) => !Number.isInteger(n) || n < 0 || n > 100);
    if (wrong !== undefined) {
      setProblem(`${wrong} is not a whole percentage from 0 to 100.`);
      return;
    }
    if (total !== 100) {
      setProblem(`The percentages add up to ${total}; they must add up to 100.`);
      return;
    }
    setProblem(null);
    setBusy(true);
    try {
      await api(`${path}:setTraffic`, { method: "POST", body: { traffic_split: wanted } });
      onChange();
    } catch (failure) {
      setProblem(failure.message);
    } finally {
      setBusy(false);
    }
  };
  if (takers.length === 0) return null;
  return (
    <form class="filters traffic-form" onSubmit={submit} aria-label="Set traffic" noValidate>
      {takers.map((model) => (
        <label>
          {model.id} ({model.reference}) %
          <input
            type="number"
            min="0"
            max="100"
            step="1"
            inputmode="numeric"
            value={shown[model.id]}
            onInput={(event) => setShown({ ...shown, [model.id]: event.currentTarget.value })}
          />
        </label>
      ))}
      <span class={total === 100 ? "total" : "total error"}>Total {total} %</span>
      <button type="submit" disabled={busy}>
        Set traffic
      </button>
      <Alert message={problem} />
    </form>
  );
}
