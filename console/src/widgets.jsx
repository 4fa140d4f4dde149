// Small pieces the pages share: a status badge, labels, a table of names and values.
import { value } from "./format.js";

export function Status({ status, lost = false }) {
  const title = lost ? "RUNNING, but no live process runs it" : undefined;
  return (
    <span class={`status status-${status}`} title={title}>
      {status}
      {lost ? " (runner lost)" : ""}
    </span>
  );
}

export function Labels({ labels }) {
  return (
    <span class="labels">
      {Object.entries(labels ?? {}).map(([key, text]) => (
        <span class="label">
          {key}={text}
        </span>
      ))}
    </span>
  );
}

/** A two-column table of `values` (name -> value); `empty` when there are none. */
export function Values({ values, empty = "none", caption }) {
  const entries = Object.entries(values ?? {});
  if (entries.length === 0) return <p class="empty">{empty}</p>;
  return (
    <table class="values">
      {caption && <caption>{caption}</caption>}
      <tbody>
        {entries.map(([name, shown]) => (
          <tr>
            <th scope="row">{name}</th>
            <td>{value(shown)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Alias names as chips (`default` first, as the registry orders them). */
export function Aliases({ names }) {
  return (
    <span class="labels">
      {names.map((name) => (
        <span class="label alias">{name}</span>
      ))}
    </span>
  );
}

/** A message the page must not miss (a failed call), announced to screen readers. */
export function Alert({ message }) {
  if (!message) return null;
  return (
    <p class="error" role="alert">
      {message}
    </p>
  );
}
