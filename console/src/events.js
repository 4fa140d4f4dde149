// Server-sent events from the control API, read with fetch and a ReadableStream: unlike
// EventSource, fetch sends the token (`Authorization`). A stream that drops, or whose
// server goes away, is opened again after a wait that doubles up to BACKOFF_MAX_MS.
import { ApiError, request } from "./api.js";

const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 10_000;

/**
 * Follows the event stream at `/api/v1{path}`: `onOpen()` at each connection,
 * `onEvent(name, data)` for each event, until the stream ends with `done()` true (the
 * owner has seen its last event) or the returned `stop()` is called. An answer that
 * refuses (4xx) goes to `onError(error)`, and the stream is not opened again.
 */
export function follow(path, { onOpen = () => {}, onEvent, onError, done }) {
  const controller = new AbortController();
  const { signal } = controller;
  (async () => {
    let wait = BACKOFF_FIRST_MS;
    while (!signal.aborted) {
      try {
        const answer = await request(path, { accept: "text/event-stream", signal });
        onOpen();
        const parser = new EventParser((name, data) => {
          wait = BACKOFF_FIRST_MS;
          onEvent(name, data);
        });
        await readInto(answer.body, parser);
        if (done()) return;
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof ApiError && error.status < 500) {
          onError(error);
          return;
        }
      }
      await pause(wait, signal);
      wait = Math.min(wait * 2, BACKOFF_MAX_MS);
    }
  })();
  return () => controller.abort();
}

async function readInto(body, parser) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    parser.push(value);
  }
}

function pause(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    const early = () => {
      clearTimeout(timer);
      resolve();
    };
    signal.addEventListener("abort", early, { once: true });
  });
}

/**
 * The text/event-stream format, fed in pieces as they arrive: calls `onEvent(name, data)`
 * for each event (name `message` when none is given), its data lines joined by `\n`;
 * comments (`: ping`), `id` and `retry` are left out.
 */
class EventParser {
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.rest = "";
    this.name = "";
    this.data = [];
  }

  push(text) {
    let pending = this.rest + text;
    // A piece that ends in "\r" may end in the middle of "\r\n": keep it for the next.
    const held = pending.endsWith("\r") ? "\r" : "";
    if (held) pending = pending.slice(0, -1);
    const lines = pending.split(/\r\n|\r|\n/);
    this.rest = lines.pop() + held;
    lines.forEach((line) => this.line(line));
  }

  line(line) {
    if (line === "") {
      if (this.data.length) this.onEvent(this.name || "message", this.data.join("\n"));
      this.name = "";
      this.data = [];
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") this.name = value;
    else if (field === "data") this.data.push(value);
  }
}
