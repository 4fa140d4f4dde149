// How times, durations and values are shown.

/** `2026-12-07 06:16:04` in the browser's time zone; "—" for none. */
export function time(iso) {
  if (!iso) return "—";
  const moment = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  const day = `${moment.getFullYear()}-${pad(moment.getMonth() + 1)}-${pad(moment.getDate())}`;
  return `${day} ${pad(moment.getHours())}:${pad(moment.getMinutes())}:${pad(moment.getSeconds())}`;
}

/** From `start` to `end` (or now, while it goes on): `850 ms`, `12.3 s`, `4 m 05 s`, `2 h 01 m`. */
export function duration(start, end) {
  if (!start) return "—";
  const ms = (end ? new Date(end) : new Date()) - new Date(start);
  if (ms < 1000) return `${Math.max(ms, 0)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} m ${String(Math.floor(seconds % 60)).padStart(2, "0")} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} m`;
}

/** A parameter or metadata value as text: strings as they are, the rest as JSON. */
export function value(v) {
  return typeof v === "string" ? v : JSON.stringify(v);
}
