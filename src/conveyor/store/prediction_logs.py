"""The prediction log as the stores hold it: Parquet files in the artifact store, each
recorded in the metadata store as a LIVE artifact of type `conveyor.PredictionLog`.

Serving writes the log (`conveyor.serving.prediction_log` documents its columns) and
monitoring reads it; they sit side by side, so what both must agree on is here, below
them: the artifact type, the names of the typed columns, and how the files of an
endpoint, a model or a model version, over a span of time, are found. A file's metadata
names the deployed models it holds (`deployed_models`: `deployed_model_id`, `model`,
`model_version`), its `endpoint`, and the time of its first and last request
(`first_timestamp`, `last_timestamp`, ISO 8601).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from conveyor.store.metadata import ArtifactRecord, MetadataStore

LOG_TYPE = "conveyor.PredictionLog"
"""The metadata store type of prediction log files."""
FEATURE_PREFIX = "feature."
"""Layout 2's typed column of each named feature: `feature.<name>`."""
PREDICTION_VALUE = "prediction.value"
"""Layout 2's typed column of a single-valued prediction."""


def prediction_logs(
    store: MetadataStore,
    endpoint: str | None = None,
    *,
    model: str | None = None,
    version: int | None = None,
) -> list[ArtifactRecord]:
    """The prediction log files recorded in `store`, oldest first: those of `endpoint`
    (`""`: the Open Inference Protocol's, which name a model), and those holding answers
    of `model` (of its `version`), when given."""
    found = store.live_artifacts(LOG_TYPE)
    if endpoint is not None:
        found = [a for a in found if a.metadata.get("endpoint") == endpoint]
    if model is not None:
        found = [a for a in found if _holds(a, model, version)]
    return found


def span(record: ArtifactRecord) -> tuple[datetime | None, datetime | None]:
    """The times (UTC) of a file's first and last request; None when not recorded."""
    return _time(record.metadata.get("first_timestamp")), _time(
        record.metadata.get("last_timestamp")
    )


def overlaps(record: ArtifactRecord, start: datetime | None, end: datetime | None) -> bool:
    """Whether a file may hold requests in [`start`, `end`) (None: unbounded). A file
    without a recorded span may: the reader's own filter decides."""
    first, last = span(record)
    if first is None or last is None:
        return True
    return (end is None or first < end) and (start is None or last >= start)


def _holds(record: ArtifactRecord, model: str, version: int | None) -> bool:
    return any(
        d.get("model") == model and (version is None or d.get("model_version") == version)
        for d in record.metadata.get("deployed_models", ())
    )


def _time(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
