"""Batch prediction of a Dataset through a registered model version.

The rows go through Conveyor's batch prediction (docs/batch.md): the version is
loaded as the server loads it (checksums, trust, schema) and the rows are
predicted a batch at a time. The output is one Parquet file: the input's
columns, then `prediction` (one value per row) or `predictions` (a list per row,
with `{"method": "predict_proba"}`).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conveyor.components._lib import files, handover
from conveyor.components._lib.errors import ComponentError


@dataclass
class Predicted:
    reference: str
    rows: int
    column: str


def predict(
    examples_path: str,
    model: str,
    output_path: str,
    parameters: dict[str, Any] | None,
    batch_size: int,
) -> Predicted:
    """Predict every row of a Dataset (a Parquet or CSV file, or a folder of them)."""
    if not model:
        raise ComponentError("model is empty: name a registered version, like churn@production")
    source = Path(examples_path)
    output = Path(output_path)
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="conveyor-batch-") as scratch:
        if source.is_file() and files.is_parquet(source):
            input_format = "parquet"
        elif source.is_file() and source.suffix in ("", ".csv"):
            input_format = "csv"
        else:  # a folder of files, TSV, gzipped CSV: read as the other components read
            staged = Path(scratch) / "examples.parquet"
            files.write_table(files.read_table(source), staged)
            source, input_format = staged, "parquet"
        with handover.client() as conveyor:
            result = conveyor.batch_predict(
                model,
                source,
                output,
                batch_size=batch_size,
                parameters=parameters,
                input_format=input_format,
                output_format="parquet",
            )
    return Predicted(result.model, result.rows, result.column)
