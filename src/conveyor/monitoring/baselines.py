"""The training baseline of a monitor: finding it, and summarising it once.

A monitor's `training_dataset` is `{"source": "lineage"}` (the `system.Dataset` that fed
the execution that produced the watched version: the registry records the version's
execution; of several Dataset inputs the one whose input name says `train` wins),
`{"uri", "data_format"}` (a Parquet, CSV or JSON Lines file or folder) or
`{"artifact_id"}`. Its statistics (`baseline_statistics`) are computed once and kept as
JSON under the home's cache folder, keyed by the baseline's identity (artifact id,
sha256, or the files' sizes and modification times) and the fields asked for, so a change
of either computes them again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select

from conveyor.errors import UsageError
from conveyor.monitoring.statistics import Statistics, StatisticsError, baseline_statistics
from conveyor.registry import ModelVersion
from conveyor.store.artifacts.naming import is_local, local_of
from conveyor.store.metadata import MetadataStore, NotFound
from conveyor.store.metadata.kinds import EventType
from conveyor.store.metadata.models import Artifact, ArtifactType, Event

DATASET_TYPE = "system.Dataset"
_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".jsonl": "jsonl",
            ".json": "jsonl", ".ndjson": "jsonl"}  # fmt: skip


class BaselineError(UsageError):
    """The training baseline cannot be found or read; a job records it as its error."""


@dataclasses.dataclass(frozen=True)
class Baseline:
    """Where a baseline is: its URI, format, and its Dataset artifact (None: not recorded
    yet, a URI given by hand)."""

    uri: str
    data_format: str
    artifact_id: int | None
    sha256: str | None = None

    @property
    def path(self) -> str:
        return str(local_of(self.uri)) if is_local(self.uri) else self.uri


def find(
    store: MetadataStore, version: ModelVersion, training_dataset: Mapping[str, Any]
) -> Baseline:
    """The baseline `training_dataset` names for `version`; `BaselineError` naming why when
    there is none."""
    if "uri" in training_dataset:
        uri = training_dataset["uri"]
        return Baseline(uri, training_dataset.get("data_format") or _format(uri), None)
    if "artifact_id" in training_dataset:
        return _of_artifact(store, int(training_dataset["artifact_id"]))
    return _through_lineage(store, version)


def _through_lineage(store: MetadataStore, version: ModelVersion) -> Baseline:
    if version.execution_id is None:
        raise BaselineError(
            f"training baseline: {version.reference} has no lineage (it was registered "
            "without the run that trained it), so no Dataset is known to have trained it; "
            "give the monitor a training_dataset (`--baseline PATH`)"
        )
    query = (
        select(Event.name, Artifact.id)
        .join(Artifact, Artifact.id == Event.artifact_id)
        .join(ArtifactType, ArtifactType.id == Artifact.type_id)
        .where(
            Event.execution_id == version.execution_id,
            Event.type == EventType.INPUT,
            ArtifactType.name == DATASET_TYPE,
        )
        .order_by(Event.id)
    )
    with store.transaction() as conn:
        inputs = list(conn.execute(query))
    if not inputs:
        raise BaselineError(
            f"training baseline: execution {version.execution_id}, which produced "
            f"{version.reference}, read no Dataset artifact; give the monitor a "
            "training_dataset (`--baseline PATH`)"
        )
    if len(inputs) > 1:
        training = [row for row in inputs if "train" in row.name.lower()]
        if len(training) != 1:
            names = ", ".join(f"{row.name} (artifact {row.id})" for row in inputs)
            raise BaselineError(
                f"training baseline: execution {version.execution_id}, which produced "
                f"{version.reference}, read several Datasets and no single one is named "
                f"for training: {names}; give the monitor training_dataset "
                '{"artifact_id": N} with the right one'
            )
        inputs = training
    return _of_artifact(store, inputs[0].id)


def _of_artifact(store: MetadataStore, artifact_id: int) -> Baseline:
    try:
        record = store.get_artifact(artifact_id)
    except NotFound:
        raise BaselineError(
            f"training baseline: the metadata store has no artifact {artifact_id}"
        ) from None
    data_format = record.metadata.get("data_format") or _format(record.uri)
    return Baseline(record.uri, data_format, record.id, record.sha256)


def _format(uri: str) -> str:
    path = Path(uri.rstrip("/"))
    if is_local(uri) and local_of(uri).is_dir():
        found = {_FORMATS.get(p.suffix.lower()) for p in local_of(uri).rglob("*") if p.is_file()}
        found.discard(None)
        return found.pop() if len(found) == 1 else "parquet"
    return _FORMATS.get(path.suffix.lower(), "parquet")


def identity(baseline: Baseline) -> str:
    """What changes when the baseline's data change: its artifact and sha256, and for
    local files their sizes and modification times."""
    parts: list[Any] = [baseline.uri, baseline.data_format, baseline.artifact_id, baseline.sha256]
    if is_local(baseline.uri):
        path = local_of(baseline.uri)
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            try:
                stat = file.stat()
            except OSError as exc:
                raise BaselineError(f"training baseline: cannot read {file}: {exc}") from None
            parts.append((str(file), stat.st_size, stat.st_mtime_ns))
    return json.dumps(parts, default=str)


def summarise(
    baseline: Baseline,
    fields: Sequence[str],
    categorical: Sequence[str],
    cache_dir: Path | None,
) -> tuple[Statistics, bool]:
    """The statistics of `fields` of the baseline, and whether they came from the cache.
    `BaselineError` when it cannot be read or lacks a field."""
    key = hashlib.sha256(
        json.dumps([identity(baseline), list(fields), sorted(categorical)]).encode()
    ).hexdigest()
    cached = None if cache_dir is None else cache_dir / "baselines" / f"{key}.json"
    if cached is not None and cached.exists():
        try:
            return Statistics.from_json(cached.read_text()), True
        except (OSError, ValueError, KeyError, StatisticsError):
            pass  # unreadable: compute again
    source = _source(baseline)
    try:
        columns = set(_columns(source))
    except Exception as exc:
        raise BaselineError(f"training baseline {baseline.path}: cannot be read: {exc}") from exc
    missing = [f for f in fields if f not in columns]
    if missing:
        raise BaselineError(
            f"training baseline {baseline.path} has no column {', '.join(map(repr, missing))} "
            f"(its columns: {', '.join(sorted(columns))}); monitor features the training "
            "data has, or give the monitor another training_dataset"
        )
    try:
        statistics = baseline_statistics(
            source, features=list(fields), categorical=[c for c in categorical if c in fields]
        )
    except StatisticsError as exc:
        raise BaselineError(f"training baseline {baseline.path}: {exc}") from exc
    except (OSError, ValueError) as exc:
        raise BaselineError(f"training baseline {baseline.path}: cannot be read: {exc}") from exc
    if cached is not None:
        _write_atomically(cached, json.dumps(statistics.to_json()))
    return statistics, False


def _source(baseline: Baseline) -> Any:
    """A source `baseline_statistics` reads: Parquet paths stream; CSV and JSON Lines (read
    once to summarise, then cached) are read as a table."""
    path = baseline.path
    if is_local(baseline.uri) and not Path(path).exists():
        raise BaselineError(
            f"training baseline {path} does not exist (any more); give the monitor the "
            "training data's current place"
        )
    if baseline.data_format == "parquet":
        return path
    try:
        return _table(path, baseline.data_format)
    except Exception as exc:
        raise BaselineError(f"training baseline {path}: cannot be read: {exc}") from exc


def _table(path: str, data_format: str) -> Any:
    import pyarrow as pa
    import pyarrow.csv as csv
    import pyarrow.json as pjson

    read = csv.read_csv if data_format == "csv" else pjson.read_json
    root = Path(path)
    files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
    if data_format not in ("csv", "jsonl"):
        raise BaselineError(f"training baseline {path}: unknown data_format {data_format!r}")
    return pa.concat_tables([read(str(f)) for f in files], promote_options="permissive")


def _columns(source: Any) -> list[str]:
    if isinstance(source, str):
        import pyarrow.dataset as ds

        return ds.dataset(source, format="parquet").schema.names
    return source.schema.names


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
