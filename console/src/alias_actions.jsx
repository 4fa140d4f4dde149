// A model's aliases and the two changes on them (the `admin` role): move an alias to a
// version (creating it when new), and take one off (`default` can only be moved).
import { useState } from "preact/hooks";
import { api } from "./api.js";
import { Alert } from "./widgets.jsx";

export function AliasActions({ model, versions, path, onChange }) {
  const [problem, setProblem] = useState(null);
  const act = async (call) => {
    setProblem(null);
    try {
      await call();
      onChange();
    } catch (failure) {
      setProblem(failure.message);
    }
  };
  const remove = (alias) =>
    act(() => api(`${path}/aliases/${encodeURIComponent(alias)}`, { method: "DELETE" }));
  const move = (alias, version, comment) =>
    act(() =>
      api(`${path}/aliases/${encodeURIComponent(alias)}`, {
        method: "PUT",
        body: { version, comment: comment || null },
      }),
    );
  const aliases = Object.entries(model.aliases);
  return (
    <div class="aliases">
      {aliases.length === 0 ? (
        <p class="empty">No aliases.</p>
      ) : (
        <table class="values">
          <thead>
            <tr>
              <th scope="col">Alias</th>
              <th scope="col">Version</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {aliases.map(([alias, id]) => (
              <tr data-alias={alias}>
                <th scope="row">{alias}</th>
                <td>{id}</td>
                <td>
                  {alias !== "default" && (
                    <button type="button" class="link" onClick={() => remove(alias)}>
                      Remove {alias}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <MoveForm aliases={aliases.map(([alias]) => alias)} versions={versions} onMove={move} />
      <Alert message={problem} />
    </div>
  );
}

function MoveForm({ aliases, versions, onMove }) {
  const newest = versions.at(-1)?.version_id ?? "";
  const [alias, setAlias] = useState("");
  const [version, setVersion] = useState(String(newest));
  const [comment, setComment] = useState("");
  const submit = (event) => {
    event.preventDefault();
    onMove(alias.trim(), Number(version), comment.trim());
  };
  return (
    <form class="filters" onSubmit={submit} aria-label="Move an alias">
      <label>
        Alias
        <input
          value={alias}
          list="known-aliases"
          required
          onInput={(event) => setAlias(event.currentTarget.value)}
        />
      </label>
      <datalist id="known-aliases">
        {aliases.map((name) => (
          <option value={name} />
        ))}
      </datalist>
      <label>
        To version
        <select value={version} onChange={(event) => setVersion(event.currentTarget.value)}>
          {versions.map((candidate) => (
            <option value={candidate.version_id}>{candidate.version_id}</option>
          ))}
        </select>
      </label>
      <label>
        Why (kept in the history)
        <input value={comment} onInput={(event) => setComment(event.currentTarget.value)} />
      </label>
      <button type="submit">Move alias</button>
    </form>
  );
}
