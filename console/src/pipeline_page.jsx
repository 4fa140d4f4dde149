// A registered pipeline's page: its tags and versions, newest first, and a version's
// spec drawn as a graph (the chosen one, `?version=2`, else the latest).
import { api } from "./api.js";
import { time } from "./format.js";
import { Tags } from "./pipelines_list.jsx";
import { usePolling } from "./polling.js";
import { Link } from "./router.jsx";
import { SpecGraph } from "./spec_graph.jsx";
import { Alert, Values } from "./widgets.jsx";

export function PipelinePage({ name, search }) {
  const path = `/pipelines/${encodeURIComponent(name)}`;
  const { data, error } = usePolling(() => loadPipeline(path), path);
  if (!data) {
    return (
      <section class="page">
        <h1>{name}</h1>
        {error ? <Alert message={error.message} /> : <p class="empty">Loading…</p>}
      </section>
    );
  }
  const { pipeline, versions } = data;
  const chosen = Number(search.get("version")) || pipeline.latest_version;
  return (
    <section class="page pipeline">
      <p>
        <Link href="/ui/pipelines">Pipelines</Link> /
      </p>
      <h1>{pipeline.name}</h1>
      <Alert message={error?.message} />
      {pipeline.description && <p>{pipeline.description}</p>}
      <h3>Tags</h3>
      {Object.keys(pipeline.tags).length ? <Tags tags={pipeline.tags} /> : <p class="empty">No tags.</p>}
      <h3>Versions</h3>
      <Versions name={pipeline.name} versions={versions} chosen={chosen} />
      {chosen && <Version path={`${path}/versions/${chosen}`} key={chosen} />}
    </section>
  );
}

async function loadPipeline(path) {
  const [pipeline, versions] = await Promise.all([api(path), api(`${path}/versions`)]);
  return { pipeline, versions: versions.versions };
}

function Versions({ name, versions, chosen }) {
  if (versions.length === 0) return <p class="empty">No versions.</p>;
  return (
    <table class="runs versions">
      <thead>
        <tr>
          <th>Version</th>
          <th>Tags</th>
          <th>Description</th>
          <th>Spec digest</th>
          <th>Uploaded</th>
          <th>By</th>
        </tr>
      </thead>
      <tbody>
        {versions.map((version) => (
          <tr
            key={version.version}
            data-version={version.version}
            class={version.version === chosen ? "chosen" : undefined}
          >
            <td>
              <Link
                href={`/ui/pipelines/${encodeURIComponent(name)}?version=${version.version}`}
                aria-current={version.version === chosen ? "true" : undefined}
              >
                {version.reference}
              </Link>
            </td>
            <td>
              <span class="labels">
                {version.tags.map((tag) => (
                  <span class="label tag">{tag}</span>
                ))}
              </span>
            </td>
            <td>{version.description ?? ""}</td>
            <td>
              <code title={version.spec_digest}>{version.spec_digest.slice(0, 12)}</code>
            </td>
            <td>{time(version.created_at)}</td>
            <td>{version.created_by}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** One version with its spec (`?view=full`): its defaults, its source and its graph. */
function Version({ path }) {
  const { data, error } = usePolling(() => api(`${path}?view=full`), path);
  if (!data) return error ? <Alert message={error.message} /> : <p class="empty">Loading…</p>;
  return (
    <article class="version-detail" aria-label={`Version ${data.version}`}>
      <h2>{data.reference}</h2>
      {data.source && (
        <p>
          From <code>{data.source}</code>
        </p>
      )}
      <h4>Default parameters</h4>
      <Values values={data.default_parameters} />
      <h4>Graph</h4>
      <SpecGraph spec={data.pipeline_spec} />
    </article>
  );
}
