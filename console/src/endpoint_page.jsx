// An endpoint's page: its deployed models, the traffic split (a bar, and the form that
// sets it), its live traffic charts (endpoint_live) and its rollouts; read again every few
// seconds while a rollout progresses.
import { api } from "./api.js";
import { LiveTraffic } from "./endpoint_live.jsx";
import { time } from "./format.js";
import { usePolling } from "./polling.js";
import { Link } from "./router.jsx";
import { Rollouts } from "./rollouts.jsx";
import { TrafficBar, TrafficForm } from "./traffic.jsx";
import { Alert, Labels } from "./widgets.jsx";

const REFRESH_MS = 3000;

export function EndpointPage({ name }) {
  const path = `/endpoints/${encodeURIComponent(name)}`;
  const { data, error, reload } = usePolling(
    () => loadEndpoint(path),
    path,
    (shown) => (shown.rollouts.some((r) => r.state === "progressing") ? REFRESH_MS : null),
  );
  if (!data) {
    return (
      <section class="page">
        <h1>{name}</h1>
        {error ? <Alert message={error.message} /> : <p class="empty">Loading…</p>}
      </section>
    );
  }
  const { endpoint, rollouts } = data;
  const ids = endpoint.deployed_models.map((model) => model.id);
  return (
    <section class="page endpoint">
      <p>
        <Link href="/ui/endpoints">Endpoints</Link> /
      </p>
      <h1>{endpoint.name}</h1>
      <Alert message={error?.message} />
      {endpoint.description && <p>{endpoint.description}</p>}
      <Labels labels={endpoint.labels} />
      <h3>Deployed models</h3>
      <Deployed models={endpoint.deployed_models} />
      <h3>Traffic</h3>
      <TrafficBar split={endpoint.traffic_split} ids={ids} />
      <TrafficForm
        path={path}
        deployed={endpoint.deployed_models}
        split={endpoint.traffic_split}
        onChange={reload}
        key={endpoint.generation}
      />
      <h3>Live traffic</h3>
      <LiveTraffic path={path} />
      <Rollouts rollouts={rollouts} path={path} onChange={reload} />
    </section>
  );
}

async function loadEndpoint(path) {
  const [endpoint, rollouts] = await Promise.all([api(path), api(`${path}/rollouts`)]);
  return { endpoint, rollouts: rollouts.rollouts };
}

function Deployed({ models }) {
  if (models.length === 0) return <p class="empty">Nothing is deployed.</p>;
  return (
    <table class="runs">
      <thead>
        <tr>
          <th>Id</th>
          <th>Model</th>
          <th>Alias</th>
          <th>Version served</th>
          <th>Traffic</th>
          <th>Deployed</th>
        </tr>
      </thead>
      <tbody>
        {models.map((model) => (
          <tr key={model.id} data-deployed={model.id}>
            <td>{model.id}</td>
            <td>
              <Link href={`/ui/models/${encodeURIComponent(model.model)}`}>{model.reference}</Link>
              {model.shadow_of && <span class="label"> shadow of {model.shadow_of}</span>}
            </td>
            <td>{model.alias ?? "pinned"}</td>
            <td>
              {model.version_id ? (
                <Link href={`/ui/models/${encodeURIComponent(model.model)}?version=${model.version_id}`}>
                  {model.version_id}
                </Link>
              ) : (
                "none (its alias is gone)"
              )}
            </td>
            <td>{model.traffic_percentage} %</td>
            <td>
              {time(model.deployed_at)} by {model.deployed_by}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
