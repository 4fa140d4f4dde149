"""Helpers of the component tests: run a pipeline and check how it ended; read outputs.

`run_ok` and `run_failed` run a pipeline with caching off. `metadata_of` is a
component that returns an artifact's metadata, so a pipeline can hand back what
a component recorded (Metrics, ClassificationMetrics).
"""

import json
from pathlib import Path
from typing import Any

import pandas as pd
from kfp import dsl
from kfp.dsl import Artifact, Input

import conveyor


def run_ok(pipeline: Any, arguments: dict[str, Any] | None = None) -> conveyor.Run:
    run = conveyor.run(pipeline, arguments, enable_caching=False)
    assert run.status == "SUCCEEDED", run.error
    return run


def run_failed(pipeline: Any, arguments: dict[str, Any] | None = None) -> conveyor.Run:
    run = conveyor.run(pipeline, arguments, enable_caching=False)
    assert run.status == "FAILED", [(t.name, t.status) for t in run.tasks]
    return run


def read_json(path: str) -> Any:
    return json.loads(Path(path).read_text())


def write_parquet(frame: pd.DataFrame, path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)
    return str(path)


@dsl.component
def metadata_of(artifact: Input[Artifact]) -> dict:
    return dict(artifact.metadata)
