// A run as its page shows it: read once with its spec, then kept up to date by the run's
// event stream (`/runs/ID/events`) while it runs, with no polling.
import { useEffect, useState } from "preact/hooks";
import { api } from "./api.js";
import { follow } from "./events.js";

/**
 * `{ run, error, reload }` of the run at `path` (`/runs/ID`): `run` has its
 * `pipeline_spec`, and changes with each `run` event until the run has ended; `reload`
 * reads it again (after a cancel or a resume, which may make it run again).
 */
export function useLiveRun(path) {
  const [state, setState] = useState({ run: null, error: null });
  const [round, setRound] = useState(0);
  useEffect(() => setState({ run: null, error: null }), [path]);
  useEffect(() => {
    let live = true;
    let stop = () => {};
    const failed = (error) => live && setState((shown) => ({ ...shown, error }));
    api(`${path}?view=full`)
      .then((full) => {
        if (!live) return;
        setState({ run: full, error: null });
        if (full.status !== "RUNNING") return;
        let ended = false;
        stop = follow(`${path}/events`, {
          onEvent: (name, data) => {
            if (name !== "run") return;
            const run = JSON.parse(data);
            ended = run.status !== "RUNNING";
            setState({ run: { ...run, pipeline_spec: full.pipeline_spec }, error: null });
          },
          onError: failed,
          done: () => ended,
        });
      })
      .catch(failed);
    return () => {
      live = false;
      stop();
    };
  }, [path, round]);
  return { ...state, reload: () => setRound((n) => n + 1) };
}
