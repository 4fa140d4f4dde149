// The experiments page: every experiment by name, with its number of runs, when it was
// made and its description; each name leads to its runs.
import { api } from "./api.js";
import { time } from "./format.js";
import { usePolling } from "./polling.js";
import { Link } from "./router.jsx";

export function ExperimentsList() {
  const { data, error } = usePolling(() => api("/experiments"), "experiments");
  return (
    <section class="page">
      <h1>Experiments</h1>
      {error && (
        <p class="error" role="alert">
          {error.message}
        </p>
      )}
      {data && data.experiments.length === 0 && (
        <p class="empty">
          No experiments yet: <code>conveyor.init(experiment="...")</code> or{" "}
          <code>conveyor run ... --experiment NAME</code> makes one.
        </p>
      )}
      {data && data.experiments.length > 0 && (
        <table class="runs experiments">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Runs</th>
              <th scope="col">Created</th>
              <th scope="col">Description</th>
            </tr>
          </thead>
          <tbody>
            {data.experiments.map((experiment) => (
              <tr data-experiment={experiment.name}>
                <td>
                  <Link href={`/ui/experiments/${encodeURIComponent(experiment.name)}`}>
                    {experiment.name}
                  </Link>
                </td>
                <td>{experiment.run_count}</td>
                <td>{time(experiment.created_at)}</td>
                <td>{experiment.description ?? ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
