"""Metadata store speed: lineage on a big store, and the cost of recording one task.

    .venv/bin/python benchmarks/metadata.py [--runs 2000] [--tasks 50]

Builds a SQLite store of RUNS runs of a TASKS-task chain (100,000 executions by
default, 200,000 artifacts, 300,000 events) with bulk inserts, then times:

- the lineage of an artifact in the middle of the middle run (median of 20);
- recording one task (execution with one input, two output artifacts created
  PENDING then published LIVE, finish) on that store, and on an in-memory
  SQLite store for comparison (median per task over 500 tasks).

Targets (issue 3): lineage under 50 ms; recording at most 2 ms per task.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, insert

from conveyor.store.metadata import MetadataStore
from conveyor.store.metadata.models import (
    Artifact,
    ArtifactType,
    Association,
    Attribution,
    Context,
    ContextType,
    Event,
    Execution,
    ExecutionType,
)

PIPELINE = "benchmark"
LINEAGE_REPEATS = 20
RECORDED_TASKS = 500


def build(url: str, runs: int, tasks: int) -> int:
    """Fill an empty store with `runs` chains of `tasks` tasks; the id of a middle artifact."""
    MetadataStore.open(url).close()  # create the schema
    now = datetime.now(UTC)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            insert(ContextType),
            [{"id": 1, "name": "system.Pipeline"}, {"id": 2, "name": "system.PipelineRun"}],
        )
        conn.execute(insert(ExecutionType), [{"id": 1, "name": "system.ContainerExecution"}])
        conn.execute(
            insert(ArtifactType),
            [
                {"id": 1, "name": "system.Dataset"},
                {"id": 2, "name": "system.Model"},
                {"id": 3, "name": "system.Metrics"},
            ],
        )
        contexts = [_context(1, 1, PIPELINE, None, {}, now)]
        contexts += [
            _context(
                2 + r,
                2,
                f"run-{r}",
                1,
                {"pipeline_name": PIPELINE, "status": "SUCCEEDED", "parameters": {}},
                now,
            )
            for r in range(runs)
        ]
        conn.execute(insert(Context), contexts)
        artifacts = [_artifact(1, 1, "file:///data/source", "source", now)]
        executions, events, associations, attributions = [], [], [], []
        for r in range(runs):
            previous = 1
            for t in range(tasks):
                execution = r * tasks + t + 1
                model, metrics = 2 * execution, 2 * execution + 1
                executions.append(_execution(execution, f"step-{t}", now))
                associations.append({"context_id": 2 + r, "execution_id": execution})
                artifacts.append(
                    _artifact(model, 2, f"file:///a/run-{r}/step-{t}/model", "model", now)
                )
                artifacts.append(
                    _artifact(metrics, 3, f"file:///a/run-{r}/step-{t}/metrics", "metrics", now)
                )
                attributions += [{"context_id": 2 + r, "artifact_id": a} for a in (model, metrics)]
                events += [
                    _event(execution, previous, "INPUT", "data", now),
                    _event(execution, model, "OUTPUT", "model", now),
                    _event(execution, metrics, "OUTPUT", "metrics", now),
                ]
                previous = model
        for model, rows in (
            (Artifact, artifacts),
            (Execution, executions),
            (Event, events),
            (Association, associations),
            (Attribution, attributions),
        ):
            conn.execute(insert(model), rows)
    engine.dispose()
    middle_execution = (runs // 2) * tasks + tasks // 2 + 1
    return 2 * middle_execution


def _context(id, type_id, name, parent, properties, now):
    return {
        "id": id,
        "type_id": type_id,
        "name": name,
        "parent_id": parent,
        "properties": properties,
        "created_at": now,
        "updated_at": now,
    }


def _artifact(id, type_id, uri, name, now):
    return {
        "id": id,
        "type_id": type_id,
        "uri": uri,
        "name": name,
        "state": "LIVE",
        "metadata": {},
        "sha256": "0" * 64,
        "size": 1,
        "created_at": now,
        "updated_at": now,
    }


def _execution(id, task_key, now):
    return {
        "id": id,
        "type_id": 1,
        "task_key": task_key,
        "name": task_key,
        "state": "COMPLETE",
        "input_parameters": {"lr": 0.1},
        "output_parameters": {},
        "created_at": now,
        "started_at": now,
        "ended_at": now,
        "cache_key": f"key-{id}",
        "cache_key_parts": {"parameters": {"lr": 0.1}},
    }


def _event(execution, artifact, type, name, now):
    return {
        "execution_id": execution,
        "artifact_id": artifact,
        "type": type,
        "name": name,
        "position": 0,
        "created_at": now,
    }


def time_lineage(store: MetadataStore, artifact: int) -> tuple[float, int]:
    """Median seconds of a lineage query, and the number of nodes it returns."""
    times, size = [], 0
    for _ in range(LINEAGE_REPEATS):
        start = time.perf_counter()
        graph = store.lineage(artifact)
        times.append(time.perf_counter() - start)
        size = len(graph.artifacts) + len(graph.executions)
    return statistics.median(times), size


def time_recording(store: MetadataStore, label: str) -> float:
    """Median seconds to record one task, as the engine does."""
    run_id = f"recording-{label}"
    store.create_run(run_id, PIPELINE, parameters={"lr": 0.1})
    source = store.create_artifact(f"file:///{label}/source", "system.Dataset", "source")
    store.publish_artifact(source, sha256="0" * 64, size=1)
    times = []
    for task in range(RECORDED_TASKS):
        start = time.perf_counter()
        execution = store.create_execution(
            run_id,
            f"train-{task}",
            parameters={"lr": 0.1},
            inputs={"data": [source]},
            cache_key=f"{label}-{task}",
            cache_key_parts={"parameters": {"lr": 0.1}},
        )
        model = store.create_artifact(
            f"file:///{label}/{task}/model", "system.Model", "model", output_of=execution
        )
        metrics = store.create_artifact(
            f"file:///{label}/{task}/metrics", "system.Metrics", "metrics", output_of=execution
        )
        store.publish_artifact(model, sha256="1" * 64, size=10)
        store.publish_artifact(metrics, sha256="2" * 64, size=2, metadata={"accuracy": 0.9})
        store.finish_execution(execution, "COMPLETE", outputs={"epochs": 3})
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--tasks", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="conveyor-bench-") as folder:
        url = f"sqlite:///{Path(folder) / 'metadata.db'}"
        start = time.perf_counter()
        middle = build(url, args.runs, args.tasks)
        built = time.perf_counter() - start
        print(f"built a store of {args.runs * args.tasks:,} executions in {built:.1f} s")
        with MetadataStore.open(url) as store:
            lineage, size = time_lineage(store, middle)
            on_disk = time_recording(store, "file")
        with MetadataStore.open("sqlite://") as memory:
            in_memory = time_recording(memory, "memory")
    print(
        f"lineage of artifact {middle} ({size} nodes): median {lineage * 1000:.2f} ms (target < 50 ms)"
    )
    print(
        f"recording one task, SQLite file with that store: median {on_disk * 1000:.2f} ms (target <= 2 ms)"
    )
    print(f"recording one task, in-memory SQLite:            median {in_memory * 1000:.2f} ms")
    print(f"file / in-memory: {on_disk / in_memory:.2f}x")


if __name__ == "__main__":
    main()
