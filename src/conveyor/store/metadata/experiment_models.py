"""Experiment tracking's table: the points of the runs' time-series metrics.

One row per point, found by run, key and step (`ix_experiment_time_series_run_id_key_step`),
so that a chart of one metric reads one range of the index. A run's params, summary
metrics and the last point of each series sit in its context's properties
(`experiment_contexts`); `conveyor.experiments` reads and writes both. `wall_time` is in
seconds since the epoch; a NaN value is kept as NULL (SQLite keeps no NaN).
Migration `0009_experiments` creates it.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Double, ForeignKey, Index, Integer, String, Table

from conveyor.store.metadata.mlmd_tables import metadata

TIME_SERIES = Table(
    "experiment_time_series",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("contexts.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(250), nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("wall_time", Double, nullable=False),
    Column("value", Double),
    Index(None, "run_id", "key", "step"),
)
