// The models page: every registered model with its latest version, aliases and last change.
import { api } from "./api.js";
import { time } from "./format.js";
import { usePolling } from "./polling.js";
import { Link } from "./router.jsx";
import { Alert, Aliases } from "./widgets.jsx";

export function ModelsList() {
  const { data, error } = usePolling(() => api("/models"), "models");
  return (
    <section class="page">
      <h1>Models</h1>
      <Alert message={error?.message} />
      {data && <Table models={data.models} />}
    </section>
  );
}

function Table({ models }) {
  if (models.length === 0) return <p class="empty">No models are registered.</p>;
  return (
    <table class="runs">
      <thead>
        <tr>
          <th>Model</th>
          <th>Latest version</th>
          <th>Versions</th>
          <th>Aliases</th>
          <th>Updated</th>
        </tr>
      </thead>
      <tbody>
        {models.map((model) => (
          <tr key={model.name} data-model={model.name}>
            <td>
              <Link href={`/ui/models/${encodeURIComponent(model.name)}`}>{model.name}</Link>
            </td>
            <td>{model.latest_version ?? "—"}</td>
            <td>{model.version_count}</td>
            <td>
              <Aliases
                names={Object.entries(model.aliases).map(([alias, id]) => `${alias} → ${id}`)}
              />
            </td>
            <td>{time(model.updated_at)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
