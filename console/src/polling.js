// Loading data from the API, again every few seconds while asked to.
import { useEffect, useRef, useState } from "preact/hooks";

/**
 * `{ data, error, reload }` of `load()`, loaded when `key` changes and again every
 * `every(data)` milliseconds while that returns a number (a run still RUNNING).
 */
export function usePolling(load, key, every = () => null) {
  const [state, setState] = useState({ data: null, error: null });
  const [round, setRound] = useState(0);
  const latest = useRef(load);
  latest.current = load;
  useEffect(() => setState({ data: null, error: null }), [key]);
  useEffect(() => {
    let live = true;
    let timer = null;
    latest
      .current()
      .then((data) => {
        if (!live) return;
        setState({ data, error: null });
        const wait = every(data);
        if (wait) timer = setTimeout(() => setRound((n) => n + 1), wait);
      })
      .catch((error) => live && setState((previous) => ({ ...previous, error })));
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [key, round]);
  return { ...state, reload: () => setRound((n) => n + 1) };
}
