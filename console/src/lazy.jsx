// Pages fetched when first shown: each is a chunk of its own (with what only it needs,
// dagre for the graph pages), so the first page loads a lighter bundle.
import { useEffect, useState } from "preact/hooks";
import { Alert } from "./widgets.jsx";

/** A component that renders `name` of the module `load()` imports, once it is here. */
export function lazy(load, name) {
  let loaded = null;
  return function Lazy(props) {
    const [state, setState] = useState(() => ({ component: loaded, error: null }));
    useEffect(() => {
      if (state.component) return;
      load()
        .then((module) => {
          loaded = module[name];
          setState({ component: loaded, error: null });
        })
        .catch((error) => setState({ component: null, error }));
    }, []);
    const Component = state.component;
    if (Component) return <Component {...props} />;
    return (
      <section class="page">
        {state.error ? (
          <Alert message={`This page could not be loaded (${state.error.message}): reload the console.`} />
        ) : (
          <p class="empty">Loading…</p>
        )}
      </section>
    );
  };
}
