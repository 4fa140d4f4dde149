"""Runs as a pandas DataFrame, as Vertex AI's `get_experiment_df` returns them: one row per
run, the columns `experiment_name`, `run_name`, `run_type`, `state`, then `param.*`,
`metric.*` and `time_series_metric.*` (the last value of each series), each group sorted
by key. Conveyor adds `start_time`, `end_time`, `pipeline_run` and `label.*`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from conveyor.experiments.search import FIXED_COLUMNS, PREFIXES

if TYPE_CHECKING:
    import pandas as pd


def experiment_frame(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """The rows of a search (`search.row_of`) as a frame, oldest run first."""
    import pandas as pd

    keys: set[str] = set()
    for row in rows:
        keys.update(row)
    columns = [c for c in FIXED_COLUMNS if c in keys or not rows]
    for prefix in PREFIXES:
        columns += sorted(k for k in keys if k.startswith(prefix))
    frame = pd.DataFrame.from_records(list(rows), columns=columns)
    for column in ("start_time", "end_time"):
        if column in frame:
            frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame
