"""`ModelBatchPredictOp`: predict every instance of files with a model, into files laid out as
Vertex AI's batch prediction lays them out.

The model is the `model` input (a registered version, loaded as the server loads it:
files checked against the registry's sha256s, its trust and input schema), or an
`unmanaged_container_model` (its files and serving container, `_containers`). Instances
are read from `gcs_source_uris` (wildcards expanded): `jsonl`, one JSON instance per
line, or `csv`, a header then one row per instance, as a list of values (numbers read
as numbers). `instance_config` applies as on Vertex AI: `included_fields`,
`excluded_fields`, `key_field` (the output gives the key instead of the instance) and
`instance_type` (`object` or `array`). They go to the model's runtime a batch at a time
(`manual_batch_tuning_parameters_batch_size`, default 64) with `model_parameters` as a
request's parameters.

Predictions are written as `jsonl`, Vertex AI's layout:
`<gcs_destination_output_uri_prefix>/prediction-<model>-<time>/predictions_00001.jsonl`,
each line `{"instance": ..., "prediction": ...}`. BigQuery sources and destinations and
other formats are refused, naming what works.

Outputs: `batchpredictionjob` (`google.VertexBatchPredictionJob`: `resourceName`,
`gcsOutputDirectory`), `gcs_output_directory` (at the folder: its local path when
`CONVEYOR_GCS_ROOT` maps `gs://`) and `gcp_resources` (`BatchPredictionJob`).
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from conveyor.client import Client
from conveyor.components.gcpc import _containers
from conveyor.components.gcpc._launcher import (
    Arguments,
    LauncherError,
    ResourceName,
    main,
    new_id,
)
from conveyor.components.gcpc._storage import Storage

INSTANCE_FORMATS = ("jsonl", "csv")
PREDICTION_FORMATS = ("jsonl",)
DEFAULT_BATCH_SIZE = 64
"""Vertex AI's default for `manual_batch_tuning_parameters_batch_size`."""
PREDICTIONS_FILE = "predictions_00001.jsonl"


@dataclass
class Instance:
    """One instance: as read (written back), and as sent to the model."""

    read: Any
    sent: Any
    key: Any = None


def run(args: Arguments) -> None:
    payload = args.payload
    inputs = payload.get("input_config") or {}
    outputs = payload.get("output_config") or {}
    instances_format, prefix, sources = _check(inputs, outputs)
    config = payload.get("instance_config") or {}
    size = int((payload.get("manual_batch_tuning_parameters") or {}).get("batch_size") or 0)
    parameters = payload.get("model_parameters") or None
    with Client() as client, tempfile.TemporaryDirectory(prefix="conveyor-gcpc-") as work:
        storage = Storage.of(client)
        files = [f for uri in sources for f in storage.expand(uri)]
        runtime, label = _model(args, client, storage, Path(work))
        directory = f"{prefix.rstrip('/')}/prediction-{label}-{_timestamp()}"
        written = 0
        with storage.open(f"{directory}/{PREDICTIONS_FILE}", "w") as out:
            for batch in _batches(_instances(storage, files, instances_format, config), size):
                predictions = runtime.predict([i.sent for i in batch], parameters)
                for instance, prediction in zip(batch, predictions, strict=True):
                    line = (
                        {"key": instance.key}
                        if config.get("key_field")
                        else {"instance": instance.read}
                    )
                    out.write(json.dumps({**line, "prediction": prediction}) + "\n")
                written += len(batch)
        folder = storage.local(directory)
    if written == 0:
        raise LauncherError(f"{', '.join(files)} hold no instances: there is nothing to predict")
    job = args.resource("batchPredictionJobs", new_id())
    args.write_gcp_resources("BatchPredictionJob", job.uri)
    args.write_artifacts(
        {"gcs_output_directory": folder},
        batchpredictionjob={
            "resourceName": str(job),
            "gcsOutputDirectory": directory,
            "bigqueryOutputTable": "",
            "bigqueryOutputDataset": "",
        },
        gcs_output_directory={},
    )
    print(f"batch prediction {job}: {written} instances from {len(files)} files into {directory}")


def _check(inputs: dict[str, Any], outputs: dict[str, Any]) -> tuple[str, str, list[str]]:
    """The instances' format, the output prefix and the source URIs, or what to give instead."""
    if (inputs.get("bigquery_source") or {}).get("input_uri") or (
        outputs.get("bigquery_destination") or {}
    ).get("output_uri"):
        raise LauncherError(
            "ModelBatchPredictOp: BigQuery sources and destinations are not read by Conveyor; "
            "export the table to JSON Lines or CSV files and give gcs_source_uris and "
            "gcs_destination_output_uri_prefix"
        )
    instances_format = inputs.get("instances_format") or "jsonl"
    if instances_format not in INSTANCE_FORMATS:
        raise LauncherError(
            f"ModelBatchPredictOp: instances_format {instances_format!r} is not supported "
            f"here; use {' or '.join(INSTANCE_FORMATS)}"
        )
    predictions_format = outputs.get("predictions_format") or "jsonl"
    if predictions_format not in PREDICTION_FORMATS:
        raise LauncherError(
            f"ModelBatchPredictOp: predictions_format {predictions_format!r} is not supported "
            "here; use jsonl"
        )
    prefix = (outputs.get("gcs_destination") or {}).get("output_uri_prefix")
    if not prefix:
        raise LauncherError("ModelBatchPredictOp: give gcs_destination_output_uri_prefix")
    sources = (inputs.get("gcs_source") or {}).get("uris") or []
    if isinstance(sources, str):
        sources = [sources]
    if not sources:
        raise LauncherError("ModelBatchPredictOp: give gcs_source_uris, the instances' files")
    return instances_format, prefix, [str(s) for s in sources]


def _model(args: Arguments, client: Client, storage: Storage, work: Path) -> tuple[Any, str]:
    """The runtime that predicts, and the model's name for the output folder."""
    model = args.input_artifact("model")
    name = ((model or {}).get("metadata") or {}).get("resourceName") or args.payload.get("model")
    if name:
        reference = ResourceName.parse(name, "models").id
        version = client.copy_model(reference, work / "model")
        runtime = client.load_model(
            work / "model",
            framework=version.framework,
            trusted=version.trusted,
            schema=version.input_schema,
        )
        return runtime, version.model
    unmanaged = args.input_artifact("unmanaged_container_model")
    if unmanaged is None:
        raise LauncherError(
            "ModelBatchPredictOp: give it a model (a google.VertexModel, such as "
            "ModelUploadOp's) or an unmanaged_container_model"
        )
    image = ((unmanaged.get("metadata") or {}).get("containerSpec") or {}).get("imageUri", "")
    uri = unmanaged.get("uri", "")
    kind = _containers.framework(image, storage.names(uri))
    folder = Path(storage.local(uri))
    if storage.is_remote(uri):
        folder = work / "model"
        for name in storage.names(uri):
            storage.copy_into(f"{uri.rstrip('/')}/{name}", folder)
    label = re.sub(r"[^A-Za-z0-9_-]+", "-", args.payload.get("display_name", "")) or "model"
    return client.load_model(folder, framework=kind, trusted=True), label


def _instances(
    storage: Storage, files: list[str], instances_format: str, config: dict[str, Any]
) -> Iterator[Instance]:
    for uri in files:
        with storage.open(uri, "r") as source:
            rows = _jsonl(source, uri) if instances_format == "jsonl" else _csv(source, uri)
            for read, header in rows:
                yield _shaped(read, header, config, uri)


def _jsonl(source: io.TextIOBase, uri: str) -> Iterator[tuple[Any, None]]:
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            yield json.loads(line), None
        except ValueError as exc:
            raise LauncherError(f"{uri}, line {number}: not a JSON instance ({exc})") from None


def _csv(source: io.TextIOBase, uri: str) -> Iterator[tuple[list[Any], list[str]]]:
    reader = csv.reader(source)
    header = next(reader, None)
    if header is None:
        return
    for number, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(row) != len(header):
            raise LauncherError(
                f"{uri}, line {number}: {len(row)} values where the header has {len(header)}"
            )
        yield [_number(value) for value in row], header


def _number(text: str) -> Any:
    """A CSV value: an integer or a float when it reads as one, else the text."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def _shaped(read: Any, header: list[str] | None, config: dict[str, Any], uri: str) -> Instance:
    """The instance as `instance_config` shapes what the model gets (module docstring)."""
    key_field = config.get("key_field")
    included = config.get("included_fields") or []
    excluded = set(config.get("excluded_fields") or [])
    wanted = config.get("instance_type") or ""
    fields = read
    if (
        isinstance(read, list)
        and header is not None
        and (key_field or included or excluded or wanted == "object")
    ):
        fields = dict(zip(header, read, strict=True))
    if not isinstance(fields, dict):
        if key_field or included or excluded:
            raise LauncherError(
                f"{uri}: key_field, included_fields and excluded_fields need instances that "
                "are JSON objects (or CSV rows)"
            )
        return Instance(read, read)
    key = fields.get(key_field) if key_field else None
    names = included or [n for n in fields if n not in excluded and n != key_field]
    missing = [n for n in names if n not in fields]
    if missing:
        raise LauncherError(f"{uri}: an instance has no field {missing[0]!r} (included_fields)")
    sent: Any = {n: fields[n] for n in names}
    if wanted == "array" or (header is not None and wanted != "object"):
        sent = list(sent.values())
    return Instance(read, sent, key)


def _batches(instances: Iterator[Instance], size: int) -> Iterator[list[Instance]]:
    batch: list[Instance] = []
    for instance in instances:
        batch.append(instance)
        if len(batch) >= (size if size > 0 else DEFAULT_BATCH_SIZE):
            yield batch
            batch = []
    if batch:
        yield batch


def _timestamp() -> str:
    """The job's time as Vertex AI writes it in the folder's name: 2024_05_19T17_27_54_148Z."""
    now = datetime.now(UTC)
    return now.strftime("%Y_%m_%dT%H_%M_%S_") + f"{now.microsecond // 1000:03d}Z"


if __name__ == "__main__":
    sys.exit(main(run))
