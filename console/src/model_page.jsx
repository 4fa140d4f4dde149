// A model's page: its versions (one chosen in the address, `?version=3`, shown in
// detail), its aliases with the actions on them, and its history.
import { api, query } from "./api.js";
import { time } from "./format.js";
import { AliasActions } from "./alias_actions.jsx";
import { ModelHistory } from "./model_history.jsx";
import { usePolling } from "./polling.js";
import { Link } from "./router.jsx";
import { VersionDetail } from "./version_detail.jsx";
import { Alert, Aliases, Labels } from "./widgets.jsx";

export function ModelPage({ name, search }) {
  const path = `/models/${encodeURIComponent(name)}`;
  const { data, error, reload } = usePolling(() => loadModel(path), path);
  const chosen = Number(search.get("version"));
  if (!data) {
    return (
      <section class="page">
        <h1>{name}</h1>
        {error ? <Alert message={error.message} /> : <p class="empty">Loading…</p>}
      </section>
    );
  }
  const { model, versions, evaluations, history } = data;
  const origins = originsOf(history);
  const version = versions.find((candidate) => candidate.version_id === chosen);
  return (
    <section class="page model">
      <p>
        <Link href="/ui/models">Models</Link> /
      </p>
      <h1>{model.name}</h1>
      <Alert message={error?.message} />
      {model.description && <p>{model.description}</p>}
      <Labels labels={model.labels} />
      <h3>Versions</h3>
      <Versions name={model.name} versions={versions} chosen={chosen} origins={origins} />
      {version && (
        <VersionDetail
          version={version}
          evaluations={evaluations.filter((e) => e.version_id === version.version_id)}
          key={version.version_id}
        />
      )}
      <h3>Aliases</h3>
      <AliasActions model={model} versions={versions} path={path} onChange={reload} />
      <h3>History</h3>
      <ModelHistory entries={history} />
    </section>
  );
}

async function loadModel(path) {
  const [model, versions, evaluations, history] = await Promise.all([
    api(path),
    api(`${path}/versions`),
    api(`${path}/evaluations`),
    api(`${path}/history`),
  ]);
  return {
    model,
    versions: versions.versions,
    evaluations: evaluations.evaluations,
    history: history.entries,
  };
}

/** Version id -> the environment it was promoted from, read from its `version_created`
 * entry (the history outlives a deleted model: the newest entry of an id wins). */
function originsOf(history) {
  const origins = new Map();
  for (const entry of history) {
    if (entry.action === "version_created") {
      origins.set(entry.version, entry.details?.origin?.environment ?? null);
    }
  }
  return origins;
}

function Versions({ name, versions, chosen, origins }) {
  if (versions.length === 0) return <p class="empty">No versions.</p>;
  const href = (id) => `/ui/models/${encodeURIComponent(name)}${query({ version: id })}`;
  return (
    <table class="runs versions">
      <thead>
        <tr>
          <th>Version</th>
          <th>Aliases</th>
          <th>Framework</th>
          <th>Created</th>
          <th>Created by</th>
          <th>Trusted</th>
          <th>Origin env</th>
        </tr>
      </thead>
      <tbody>
        {[...versions].reverse().map((version) => (
          <tr
            key={version.version_id}
            data-version={version.version_id}
            class={version.version_id === chosen ? "chosen" : undefined}
          >
            <td>
              <Link
                href={href(version.version_id)}
                aria-current={version.version_id === chosen ? "true" : undefined}
              >
                {version.reference}
              </Link>
            </td>
            <td>
              <Aliases names={version.aliases} />
            </td>
            <td>{version.framework}</td>
            <td>{time(version.created_at)}</td>
            <td>{version.created_by}</td>
            <td>{version.trusted ? "yes" : "no"}</td>
            <td>{origins.get(version.version_id) ?? "—"}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
