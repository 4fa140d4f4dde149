// The pipelines page: every registered pipeline with its latest version and its tags.
import { api } from "./api.js";
import { time } from "./format.js";
import { usePolling } from "./polling.js";
import { Link } from "./router.jsx";
import { Alert } from "./widgets.jsx";

export function PipelinesList() {
  const { data, error } = usePolling(() => api("/pipelines"), "pipelines");
  return (
    <section class="page">
      <h1>Pipelines</h1>
      <Alert message={error?.message} />
      {data && <Table pipelines={data.pipelines} />}
    </section>
  );
}

/** Tags as chips, `prod → 2`, by name. */
export function Tags({ tags }) {
  return (
    <span class="labels">
      {Object.entries(tags)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([tag, version]) => (
          <span class="label tag">
            {tag} → {version}
          </span>
        ))}
    </span>
  );
}

function Table({ pipelines }) {
  if (pipelines.length === 0) return <p class="empty">No registered pipelines.</p>;
  return (
    <table class="runs">
      <thead>
        <tr>
          <th>Pipeline</th>
          <th>Latest version</th>
          <th>Tags</th>
          <th>Description</th>
          <th>Updated</th>
        </tr>
      </thead>
      <tbody>
        {pipelines.map((pipeline) => (
          <tr key={pipeline.name} data-pipeline={pipeline.name}>
            <td>
              <Link href={`/ui/pipelines/${encodeURIComponent(pipeline.name)}`}>{pipeline.name}</Link>
            </td>
            <td>{pipeline.latest_version ?? "—"}</td>
            <td>
              <Tags tags={pipeline.tags} />
            </td>
            <td>{pipeline.description ?? ""}</td>
            <td>{time(pipeline.updated_at)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
