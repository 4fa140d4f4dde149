// Client-side routes under /ui: the address bar is the state (path and query), links
// push history entries, and the back button works.
import { useEffect, useState } from "preact/hooks";

const changes = new Set();

/** Goes to `href` (under /ui) without reloading; `replace` keeps no history entry. */
export function navigate(href, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", href);
  else history.pushState(null, "", href);
  changes.forEach((listener) => listener());
}

/** The current location ({ path, search }), re-rendering its user when it changes. */
export function useLocation() {
  const [location, setLocation] = useState(current);
  useEffect(() => {
    const update = () => setLocation(current());
    changes.add(update);
    addEventListener("popstate", update);
    return () => {
      changes.delete(update);
      removeEventListener("popstate", update);
    };
  }, []);
  return location;
}

function current() {
  return { path: location.pathname, search: new URLSearchParams(location.search) };
}

/** An <a> that navigates inside the console (a new tab on ctrl/cmd/middle click). */
export function Link({ href, children, ...rest }) {
  const click = (event) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    navigate(href);
  };
  return (
    <a href={href} onClick={click} {...rest}>
      {children}
    </a>
  );
}
