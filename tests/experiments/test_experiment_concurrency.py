"""Several processes logging into one experiment at once, on SQLite and PostgreSQL: every
value of every process is kept, in their own runs and in a run they share."""

import multiprocessing

from conveyor.experiments import Experiments
from conveyor.store.metadata import MetadataStore

PROCESSES, STEPS = 4, 25


def _log(url: str, worker: int) -> None:
    with MetadataStore.open(url) as store:
        experiments = Experiments(store)
        own = f"worker-{worker}"
        experiments.start_run("shared", own)
        for step in range(STEPS):
            experiments.log_time_series_metrics("shared", own, {"loss": 1 / (step + 1)}, step)
            experiments.log_time_series_metrics("shared", "together", {f"w{worker}": step}, step)
            experiments.log_metrics("shared", "together", {f"last-{worker}": step})
            experiments.log_params("shared", "together", {f"p{worker}-{step}": step})
        experiments.log_params("shared", own, {"worker": worker})
        experiments.end_run("shared", own)


def test_concurrent_processes_lose_nothing(store_url):
    with MetadataStore.open(store_url) as store:
        experiments = Experiments(store)
        experiments.create("shared")
        experiments.start_run("shared", "together")
        spawn = multiprocessing.get_context("spawn")
        workers = [spawn.Process(target=_log, args=(store_url, n)) for n in range(PROCESSES)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=240)
        assert [w.exitcode for w in workers] == [0] * PROCESSES
        runs = {run.run_name: run for run in experiments.list_runs("shared")}
        assert len(runs) == PROCESSES + 1
        for n in range(PROCESSES):
            own = runs[f"worker-{n}"]
            assert own.state == "COMPLETE" and own.params == {"worker": n}
            assert len(experiments.time_series("shared", own.run_name)["loss"]) == STEPS
        together = runs["together"]
        assert len(together.params) == PROCESSES * STEPS
        assert together.metrics == {f"last-{n}": STEPS - 1 for n in range(PROCESSES)}
        series = experiments.time_series("shared", "together")
        assert {key: len(points) for key, points in series.items()} == {
            f"w{n}": STEPS for n in range(PROCESSES)
        }
        assert together.time_series_metrics == {f"w{n}": STEPS - 1 for n in range(PROCESSES)}
