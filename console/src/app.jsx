// The shell: the header, the page of the address, and the sign-in form when the API
// asks for a token.
import { useEffect, useState } from "preact/hooks";
import { onSignInNeeded, signOut, token } from "./api.js";
import { EndpointPage } from "./endpoint_page.jsx";
import { EndpointsList } from "./endpoints_list.jsx";
import { CompareRuns } from "./experiment_compare.jsx";
import { ExperimentRuns } from "./experiment_runs.jsx";
import { ExperimentsList } from "./experiments_list.jsx";
import { FiresPage } from "./fires_page.jsx";
import { lazy } from "./lazy.jsx";
import { ModelPage } from "./model_page.jsx";
import { ModelsList } from "./models_list.jsx";
import { MonitorPage } from "./monitor_page.jsx";
import { MonitorsList } from "./monitors_list.jsx";
import { PipelinesList } from "./pipelines_list.jsx";
import { Link, useLocation } from "./router.jsx";
import { RunsList } from "./runs_list.jsx";
import { SchedulesList } from "./schedules_list.jsx";
import { SignIn } from "./sign_in.jsx";

// The graph pages (and dagre) load when first shown: the runs page does without them.
const RunPage = lazy(() => import("./run_page.jsx"), "RunPage");
const PipelinePage = lazy(() => import("./pipeline_page.jsx"), "PipelinePage");
const LineagePage = lazy(() => import("./lineage_page.jsx"), "LineagePage");

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
      <a href="#content" class="skip" onClick={skipToContent}>
        Skip to content
      </a>
      <header class="top">
        <Link href="/ui/runs" class="brand">
          Conveyor
        </Link>
        <nav aria-label="Pages">
          <Link href="/ui/runs" aria-current={/^\/ui(\/runs|\/?$)/.test(path) ? "page" : undefined}>
            Runs
          </Link>
          <Link
            href="/ui/experiments"
            aria-current={/^\/ui\/experiments(\/|$)/.test(path) ? "page" : undefined}
          >
            Experiments
          </Link>
          <Link href="/ui/models" aria-current={/^\/ui\/models(\/|$)/.test(path) ? "page" : undefined}>
            Models
          </Link>
          <Link href="/ui/endpoints" aria-current={/^\/ui\/endpoints(\/|$)/.test(path) ? "page" : undefined}>
            Endpoints
          </Link>
          <Link href="/ui/monitors" aria-current={/^\/ui\/monitors(\/|$)/.test(path) ? "page" : undefined}>
            Monitors
          </Link>
          <Link
            href="/ui/schedules"
            aria-current={/^\/ui\/(schedules|triggers)(\/|$)/.test(path) ? "page" : undefined}
          >
            Schedules
          </Link>
          <Link href="/ui/pipelines" aria-current={/^\/ui\/pipelines(\/|$)/.test(path) ? "page" : undefined}>
            Pipelines
          </Link>
        </nav>
        {token() && (
          <button type="button" class="link" onClick={leave}>
            Sign out
          </button>
        )}
      </header>
      <main id="content" tabindex="-1" key={session}>
        {signingIn ? <SignIn onDone={signedIn} /> : <Page path={path} search={search} />}
      </main>
    </>
  );
}

/** The skip link's job without a `#content` in the address: the focus on the page. */
function skipToContent(event) {
  event.preventDefault();
  document.getElementById("content").focus();
}

function Page({ path, search }) {
  const run = path.match(/^\/ui\/runs\/([^/]+)\/?$/);
  if (run) return <RunPage runId={decodeURIComponent(run[1])} />;
  if (/^\/ui(\/runs)?\/?$/.test(path)) return <RunsList search={search} />;
  const compare = path.match(/^\/ui\/experiments\/([^/]+)\/compare\/?$/);
  if (compare) {
    const runs = (search.get("runs") ?? "").split(",").filter(Boolean);
    return <CompareRuns experiment={decodeURIComponent(compare[1])} runs={runs} />;
  }
  const experiment = path.match(/^\/ui\/experiments\/([^/]+)\/?$/);
  if (experiment) {
    const name = decodeURIComponent(experiment[1]);
    return <ExperimentRuns name={name} search={search} key={name} />;
  }
  if (/^\/ui\/experiments\/?$/.test(path)) return <ExperimentsList />;
  const model = path.match(/^\/ui\/models\/([^/]+)\/?$/);
  if (model) {
    const name = decodeURIComponent(model[1]);
    return <ModelPage name={name} search={search} key={name} />;
  }
  if (/^\/ui\/models\/?$/.test(path)) return <ModelsList />;
  const endpoint = path.match(/^\/ui\/endpoints\/([^/]+)\/?$/);
  if (endpoint) {
    const name = decodeURIComponent(endpoint[1]);
    return <EndpointPage name={name} key={name} />;
  }
  if (/^\/ui\/endpoints\/?$/.test(path)) return <EndpointsList />;
  const lineage = path.match(/^\/ui\/lineage\/(artifact|execution)s\/([^/]+)\/?$/);
  if (lineage) {
    const id = decodeURIComponent(lineage[2]);
    return <LineagePage kind={lineage[1]} id={id} search={search} key={path} />;
  }
  const automation = automationPage(path, search);
  if (automation) return automation;
  return (
    <section class="page">
      <h1>Not found</h1>
      <p>
        The console has no page at <code>{path}</code>. <Link href="/ui/runs">See the runs</Link>.
      </p>
    </section>
  );
}

/** The monitors', schedules' and triggers', and pipelines' pages at `path`, if any. */
function automationPage(path, search) {
  const monitor = path.match(/^\/ui\/monitors\/([^/]+)\/?$/);
  if (monitor) {
    const name = decodeURIComponent(monitor[1]);
    return <MonitorPage name={name} search={search} key={name} />;
  }
  if (/^\/ui\/monitors\/?$/.test(path)) return <MonitorsList />;
  const fired = path.match(/^\/ui\/(schedule|trigger)s\/([^/]+)\/?$/);
  if (fired) {
    const name = decodeURIComponent(fired[2]);
    return <FiresPage source={fired[1]} name={name} key={path} />;
  }
  if (/^\/ui\/schedules\/?$/.test(path)) return <SchedulesList />;
  const pipeline = path.match(/^\/ui\/pipelines\/([^/]+)\/?$/);
  if (pipeline) {
    const name = decodeURIComponent(pipeline[1]);
    return <PipelinePage name={name} search={search} key={name} />;
  }
  if (/^\/ui\/pipelines\/?$/.test(path)) return <PipelinesList />;
  return null;
}
