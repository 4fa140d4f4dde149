// The shell: the header, the page of the address, and the sign-in form when the API
// asks for a token.
import { useEffect, useState } from "preact/hooks";
import { onSignInNeeded, signOut, token } from "./api.js";
import { Link, useLocation } from "./router.jsx";
import { RunPage } from "./run_page.jsx";
import { RunsList } from "./runs_list.jsx";
import { SignIn } from "./sign_in.jsx";

export function App() {
  const { path, search } = useLocation();
  const [signingIn, setSigningIn] = useState(false);
  const [session, setSession] = useState(0);
  useEffect(() => onSignInNeeded(() => setSigningIn(true)), []);
  const signedIn = () => {
    setSigningIn(false);
    setSession((n) => n + 1);
  };
  const leave = () => {
    signOut();
    setSession((n) => n + 1);
  };
  return (
    <>
      <header class="top">
        <Link href="/ui/runs" class="brand">
          Conveyor
        </Link>
        <nav aria-label="Pages">
          <Link href="/ui/runs" aria-current={/^\/ui(\/runs|\/?$)/.test(path) ? "page" : undefined}>
            Runs
          </Link>
        </nav>
        {token() && (
          <button type="button" class="link" onClick={leave}>
            Sign out
          </button>
        )}
      </header>
      <main key={session}>
        {signingIn ? <SignIn onDone={signedIn} /> : <Page path={path} search={search} />}
      </main>
    </>
  );
}

function Page({ path, search }) {
  const run = path.match(/^\/ui\/runs\/([^/]+)\/?$/);
  if (run) return <RunPage runId={decodeURIComponent(run[1])} />;
  if (/^\/ui(\/runs)?\/?$/.test(path)) return <RunsList search={search} />;
  return (
    <section class="page">
      <h1>Not found</h1>
      <p>
        The console has no page at <code>{path}</code>. <Link href="/ui/runs">See the runs</Link>.
      </p>
    </section>
  );
}
