// A model's history, newest first: what changed, on which version and alias, who did it,
// when and why.
import { time } from "./format.js";

export function ModelHistory({ entries }) {
  if (entries.length === 0) return <p class="empty">No history.</p>;
  return (
    <table class="runs history">
      <thead>
        <tr>
          <th>When</th>
          <th>What</th>
          <th>Version</th>
          <th>Alias</th>
          <th>Who</th>
          <th>Why</th>
        </tr>
      </thead>
      <tbody>
        {[...entries].reverse().map((entry) => (
          <tr key={entry.id} data-entry={entry.id}>
            <td>{time(entry.created_at)}</td>
            <td>{entry.action}</td>
            <td>{version(entry)}</td>
            <td>{entry.alias ?? ""}</td>
            <td>{entry.actor}</td>
            <td class="why">{entry.comment ?? ""}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** `2 → 3` for an alias moved from 2 to 3, else the version concerned. */
function version(entry) {
  if (entry.previous_version != null && entry.previous_version !== entry.version) {
    return `${entry.previous_version} → ${entry.version ?? "none"}`;
  }
  return entry.version ?? "";
}
