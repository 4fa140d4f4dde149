// A task's log in the inspector: streamed while the task runs (its tail, then what it
// writes, from `/runs/ID/log/events`), read once when it has ended; kept scrolled to its
// end while the reader is at the end.
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { ApiError, api, query } from "./api.js";
import { follow } from "./events.js";

const LIVE = new Set(["NEW", "RUNNING"]);

export function Log({ runId, execution }) {
  const task = query({ task: execution.task_key });
  const run = `/runs/${encodeURIComponent(runId)}`;
  const live = LIVE.has(execution.state);
  const [text, setText] = useState(null);
  const [error, setError] = useState(null);
  const told = useRef(null); // the execution whose stream sent its log to the end
  useEffect(() => {
    setError(null);
    if (live) {
      return follow(`${run}/log/events${task}`, {
        onOpen: () => setText(""), // each connection sends the tail again
        onEvent: (name, data) => {
          if (name === "log") setText((shown) => (shown ?? "") + data);
          if (name === "end") told.current = execution.id;
        },
        onError: setError,
        done: () => told.current === execution.id,
      });
    }
    if (told.current === execution.id) return undefined;
    let current = true;
    api(`${run}/log${task}`, { text: true })
      .catch(missingLog)
      .then(
        (found) => current && setText(found),
        (failure) => current && setError(failure),
      );
    return () => {
      current = false;
    };
  }, [run, task, execution.id, live]);
  const [box, onScroll] = useFollowedEnd(text);
  const empty = live ? "(nothing written yet)" : "(empty)";
  return (
    <section class="log">
      <h3>Log</h3>
      {error && <p class="error">{error.message}</p>}
      {text !== null && (
        <pre class="log-text" ref={box} onScroll={onScroll} tabIndex={0} aria-label="Log">
          {text === "" ? empty : text}
        </pre>
      )}
    </section>
  );
}

/** A scroll box's ref and scroll handler that keep it at its end as `content` grows,
 * while the reader is there (not once they scroll back). */
function useFollowedEnd(content) {
  const box = useRef(null);
  const atEnd = useRef(true);
  useLayoutEffect(() => {
    if (box.current && atEnd.current) box.current.scrollTop = box.current.scrollHeight;
  }, [content]);
  const onScroll = () => {
    const shown = box.current;
    atEnd.current = shown.scrollTop + shown.clientHeight >= shown.scrollHeight - 2;
  };
  return [box, onScroll];
}

/** A task without a log yet answers 404: shown as no text, not as an error. */
function missingLog(error) {
  if (error instanceof ApiError && error.status === 404) return "(no log yet)";
  throw error;
}
