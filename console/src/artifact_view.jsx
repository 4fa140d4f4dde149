// An artifact's content in the task inspector, read when its disclosure is opened: a
// Markdown or HTML artifact rendered in a sandboxed frame (none of its scripts runs and it
// cannot reach the console's origin), a dataset's first rows as a table with their types.
import { useState } from "preact/hooks";
import { api, query } from "./api.js";
import { value } from "./format.js";
import { usePolling } from "./polling.js";

const TEXTS = { "system.Markdown": "Markdown", "system.HTML": "HTML" };
const TABLE_FILE = /\.(csv|parquet)$/i;
const ROWS = 20;
const CONTENT_BYTES = 1024 * 1024; // what /content answers by default

/** "text", "rows" or null: what of `artifact` this view shows beyond its metadata. */
function viewOf(artifact) {
  if (artifact.state !== "LIVE") return null;
  if (TEXTS[artifact.type]) return "text";
  if (artifact.type === "system.Dataset" || TABLE_FILE.test(artifact.uri)) return "rows";
  return null;
}

export function ArtifactView({ name, artifact }) {
  const [open, setOpen] = useState(false);
  const view = viewOf(artifact);
  if (view === null) return null;
  const label = view === "text" ? `Rendered ${TEXTS[artifact.type]}` : "First rows";
  return (
    <details class="artifact-view" onToggle={(event) => setOpen(event.currentTarget.open)}>
      <summary>{label}</summary>
      {open &&
        (view === "text" ? (
          <Rendered artifact={artifact} title={`${name}: ${label}`} />
        ) : (
          <Rows artifact={artifact} />
        ))}
    </details>
  );
}

/** The artifact's text, Markdown made HTML, as the document of a frame that may do nothing. */
function Rendered({ artifact, title }) {
  const path = `/artifacts/${artifact.id}/content`;
  const { data, error } = usePolling(async () => {
    const text = await api(path, { text: true });
    if (artifact.type !== "system.Markdown") return text;
    const { marked } = await import("marked");
    return `<!doctype html><meta charset="utf-8">${marked.parse(text)}`;
  }, path);
  if (error) return <p class="error">{error.message}</p>;
  if (data === null) return <p class="empty">Loading…</p>;
  return (
    <>
      {artifact.size > CONTENT_BYTES && (
        <p class="empty">Its first MiB of {artifact.size.toLocaleString()} bytes.</p>
      )}
      <iframe class="artifact-frame" sandbox="" srcdoc={data} title={title} />
    </>
  );
}

function Rows({ artifact }) {
  const path = `/artifacts/${artifact.id}/preview${query({ rows: ROWS })}`;
  const { data, error } = usePolling(() => api(path), path);
  if (error) return <p class="error">{error.message}</p>;
  if (data === null) return <p class="empty">Loading…</p>;
  const of = data.total_rows === null ? "" : ` of ${data.total_rows.toLocaleString()}`;
  return (
    <div class="rows-scroll">
      <table class="rows">
        <caption>
          {data.rows.length}
          {of} rows, {data.format}
          {data.file && ` (${data.file})`}
        </caption>
        <thead>
          <tr>
            {data.columns.map((column) => (
              <th scope="col">
                {column.name} <span class="type">{column.type}</span>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {data.rows.map((row) => (
            <tr>
              {row.map((cell) => (
                <td>{value(cell)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
