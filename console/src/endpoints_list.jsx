// The endpoints page: every endpoint with its description, how many models it serves and
// its traffic split.
import { api } from "./api.js";
import { usePolling } from "./polling.js";
import { Link } from "./router.jsx";
import { TrafficBar } from "./traffic.jsx";
import { Alert } from "./widgets.jsx";

export function EndpointsList() {
  const { data, error } = usePolling(() => api("/endpoints"), "endpoints");
  return (
    <section class="page">
      <h1>Endpoints</h1>
      <Alert message={error?.message} />
      {data && <Table endpoints={data.endpoints} />}
    </section>
  );
}

function Table({ endpoints }) {
  if (endpoints.length === 0) return <p class="empty">No endpoints.</p>;
  return (
    <table class="runs">
      <thead>
        <tr>
          <th>Endpoint</th>
          <th>Description</th>
          <th>Deployed models</th>
          <th>Traffic</th>
        </tr>
      </thead>
      <tbody>
        {endpoints.map((endpoint) => (
          <tr key={endpoint.name} data-endpoint={endpoint.name}>
            <td>
              <Link href={`/ui/endpoints/${encodeURIComponent(endpoint.name)}`}>
                {endpoint.name}
              </Link>
            </td>
            <td>{endpoint.description ?? ""}</td>
            <td>{endpoint.deployed_models.length}</td>
            <td class="traffic-cell">
              <TrafficBar
                split={endpoint.traffic_split}
                ids={endpoint.deployed_models.map((model) => model.id)}
              />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
