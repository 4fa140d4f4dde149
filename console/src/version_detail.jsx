// One model version in detail: where it came from (the run that produced it), its
// schemas, its evaluations and its files with their sha256.
import { time } from "./format.js";
import { LineageLink } from "./lineage_link.jsx";
import { Link } from "./router.jsx";
import { Values } from "./widgets.jsx";

export function VersionDetail({ version, evaluations }) {
  return (
    <article class="version-detail" aria-label={`Version ${version.version_id}`}>
      <h2>{version.reference}</h2>
      {version.description && <p>{version.description}</p>}
      <dl class="facts">
        <dt>Produced by</dt>
        <dd>
          {version.run_id ? (
            <Link href={`/ui/runs/${encodeURIComponent(version.run_id)}`}>
              run {version.run_id}
            </Link>
          ) : (
            "no recorded run"
          )}
        </dd>
        <dt>Artifact</dt>
        <dd>
          <code>{version.artifact_uri}</code>
          {version.artifact_id !== null && (
            <>
              {" "}
              <LineageLink
                kind="artifact"
                id={version.artifact_id}
                aria-label={`Lineage of ${version.reference}`}
              />
            </>
          )}
        </dd>
        <dt>sha256</dt>
        <dd>
          <code>{version.sha256}</code>
        </dd>
        <dt>Model file</dt>
        <dd>{version.model_file ?? "—"}</dd>
        <dt>Trusted</dt>
        <dd>
          {version.trusted ? "yes" : "no"}
          {version.needs_trust ? " (a pickle: loads only when trusted)" : ""}
        </dd>
      </dl>
      <div class="schemas">
        <Schema title="Input schema" features={version.input_schema} />
        <Schema title="Output schema" features={version.output_schema} />
      </div>
      <h4>Evaluations</h4>
      <Evaluations evaluations={evaluations} />
      <h4>Files</h4>
      <Files files={version.files} />
    </article>
  );
}

function Schema({ title, features }) {
  return (
    <div>
      <h4>{title}</h4>
      {features?.length ? (
        <table class="values">
          <thead>
            <tr>
              <th scope="col">Feature</th>
              <th scope="col">Type</th>
            </tr>
          </thead>
          <tbody>
            {features.map((feature) => (
              <tr>
                <th scope="row">{feature.name}</th>
                <td>{feature.type}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p class="empty">None recorded.</p>
      )}
    </div>
  );
}

function Evaluations({ evaluations }) {
  if (evaluations.length === 0) return <p class="empty">No evaluations.</p>;
  return evaluations.map((evaluation) => (
    <section class="evaluation" data-evaluation={evaluation.id}>
      <p class="empty">
        {evaluation.slice ? `Slice ${JSON.stringify(evaluation.slice)}` : "All rows"}, by{" "}
        {evaluation.created_by} at {time(evaluation.created_at)}
        {evaluation.run_id && (
          <>
            {" "}
            (run <Link href={`/ui/runs/${encodeURIComponent(evaluation.run_id)}`}>{evaluation.run_id}</Link>)
          </>
        )}
      </p>
      <Values values={evaluation.metrics} />
    </section>
  ));
}

function Files({ files }) {
  return (
    <table class="values files">
      <thead>
        <tr>
          <th scope="col">Path</th>
          <th scope="col">Size</th>
          <th scope="col">sha256</th>
        </tr>
      </thead>
      <tbody>
        {files.map((file) => (
          <tr>
            <th scope="row">{file.path || "(the artifact)"}</th>
            <td>{file.size} B</td>
            <td>{file.sha256}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
