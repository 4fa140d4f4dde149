"""MLflow 3's logged models and dataset inputs, kept as artifacts of the metadata store
attributed to the runs they belong to (for `conveyor.experiments.mlflow_store`).

A logged model is one artifact of type `mlflow.LoggedModel`: its URI the folder MLflow
writes the model's files into (under the home's artifact root), its name the model's name,
and its metadata the rest, with MLflow's ids as text:

    name, experiment_id, source_run_id, model_type, status, status_message
    tags, params        by key
    metrics             [{key, value, timestamp, step, run_id, dataset_name, dataset_digest}]
    outputs             {run_id: step}: the runs that logged it as an output
    inputs              [run_id]: the runs that took it as an input

Its MLflow id is `m-{artifact id}-{stamp}` (`mlflow_entities.stamped_id`). The artifact is PENDING until MLflow finalizes the model
READY (then LIVE: its files are complete), and DELETED once deleted (kept, as MLflow keeps a
deleted model). A dataset input is one LIVE artifact of type `mlflow.Dataset` per run,
dataset name and digest, whose metadata holds the dataset (`name`, `digest`,
`source_type`, `source`, `schema`, `profile`), the input's `tags` and its `run_id`.

Imported only by the MLflow tracking store: it imports mlflow.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from mlflow.entities import (
    Dataset,
    DatasetInput,
    InputTag,
    LoggedModel,
    LoggedModelInput,
    LoggedModelOutput,
    LoggedModelStatus,
    Metric,
    RunInputs,
    RunOutputs,
)
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.store.entities.paged_list import PagedList
from mlflow.utils.name_utils import _generate_random_name
from mlflow.utils.search_utils import SearchLoggedModelsUtils
from sqlalchemy import Connection, Row

from conveyor.experiments import _rows
from conveyor.experiments.mlflow_entities import millis, not_found, split_id, stamp, stamped_id
from conveyor.experiments.values import from_json, to_json
from conveyor.store.metadata.kinds import ArtifactState
from conveyor.store.metadata.mlmd_tables import ARTIFACT_TYPES
from conveyor.store.metadata.recording import get_or_create

if TYPE_CHECKING:
    from conveyor.store.metadata import MetadataStore

MODEL_TYPE = "mlflow.LoggedModel"
DATASET_TYPE = "mlflow.Dataset"
MAX_NAME = 255
"""The longest artifact name; a longer MLflow name is kept whole in the metadata."""
_STATES = {
    LoggedModelStatus.READY: ArtifactState.LIVE,
    LoggedModelStatus.FAILED: ArtifactState.PENDING,  # its files may be incomplete
}

Change = Callable[[dict[str, Any]], None]


class LoggedModels:
    """The logged models and dataset inputs of one metadata store."""

    def __init__(self, store: MetadataStore) -> None:
        self.store = store

    # -- logged models ----------------------------------------------------------------

    def create(
        self,
        *,
        experiment_id: str,
        location: Callable[[str], str],
        name: str | None,
        source_run: int | None,
        source_run_id: str | None,
        tags: dict[str, str],
        params: dict[str, str],
        model_type: str | None,
    ) -> LoggedModel:
        """Record a PENDING model; `location` gives the folder of its files from its id."""
        name = name or _generate_random_name()
        metadata = {
            "name": name,
            "experiment_id": experiment_id,
            "source_run_id": source_run_id,
            "model_type": model_type,
            "status": LoggedModelStatus.PENDING.value,
            "status_message": None,
            "tags": tags,
            "params": params,
            "metrics": [],
            "outputs": {},
            "inputs": [],
        }
        with self.store.transaction(write=True) as conn:
            type_id = get_or_create(conn, ARTIFACT_TYPES, {"name": MODEL_TYPE})
            made = _rows.add_artifact(
                conn, type_id, name[:MAX_NAME], metadata, state=ArtifactState.PENDING
            )
            row = _rows.artifacts_of_type(conn, MODEL_TYPE, ids=[made])[0]
            _rows.update_artifact(conn, made, uri=location(_model_id(row)))
            if source_run is not None:
                _rows.attribute(conn, source_run, made)
            return _model_of(_rows.artifacts_of_type(conn, MODEL_TYPE, ids=[made])[0])

    def get(self, model_id: str, *, allow_deleted: bool = False) -> LoggedModel:
        with self.store.transaction() as conn:
            return _model_of(self._row(conn, model_id, allow_deleted=allow_deleted))

    def change(
        self,
        model_id: str,
        change: Change,
        *,
        state: ArtifactState | None = None,
        attribute_to: int | None = None,
    ) -> LoggedModel:
        """Change a model's metadata in place in one transaction (its row locked), and
        maybe its state; `attribute_to` attributes it to a run too."""
        with self.store.transaction(write=True) as conn:
            row = self._row(conn, model_id, lock=True)
            metadata = dict(row.metadata)
            change(metadata)
            values: dict[str, Any] = {"metadata": metadata}
            if state is not None:
                values["state"] = state
            _rows.update_artifact(conn, row.id, **values)
            if attribute_to is not None:
                _rows.attribute_once(conn, attribute_to, row.id)
            return _model_of(_rows.artifacts_of_type(conn, MODEL_TYPE, ids=[row.id])[0])

    def finalize(self, model_id: str, status: LoggedModelStatus) -> LoggedModel:
        status = LoggedModelStatus(status)
        if status not in (LoggedModelStatus.READY, LoggedModelStatus.FAILED):
            raise MlflowException(
                f"a logged model is finalized READY or FAILED, not {status}",
                INVALID_PARAMETER_VALUE,
            )

        def finish(metadata: dict[str, Any]) -> None:
            metadata["status"] = status.value

        return self.change(model_id, finish, state=_STATES[status])

    def set_tags(self, model_id: str, tags: dict[str, str]) -> None:
        self.change(model_id, lambda metadata: metadata["tags"].update(tags))

    def delete_tag(self, model_id: str, key: str) -> None:
        def remove(metadata: dict[str, Any]) -> None:
            if metadata["tags"].pop(key, None) is None:
                raise not_found(f"tag {key!r} of logged model", model_id)

        self.change(model_id, remove)

    def add_input(self, model_id: str, run: int) -> None:
        """Record that the run (its context id) took the model as an input."""

        def add(metadata: dict[str, Any]) -> None:
            if str(run) not in metadata["inputs"]:
                metadata["inputs"].append(str(run))

        self.change(model_id, add, attribute_to=run)

    def add_output(self, model_id: str, run: int, step: int) -> None:
        """Record that the run (its context id) logged the model as an output at `step`."""
        self.change(model_id, lambda m: m["outputs"].update({str(run): step}), attribute_to=run)

    def log_metrics(self, model_id: str, metrics: Iterable[Metric]) -> None:
        """Add metrics to a model; one logged before with the same values is not repeated."""
        new = [_metric_json(metric) for metric in metrics]

        def add(metadata: dict[str, Any]) -> None:
            logged = metadata.setdefault("metrics", [])
            logged.extend(metric for metric in new if metric not in logged)

        self.change(model_id, add)

    def delete(self, model_id: str) -> None:
        self.change(model_id, lambda _metadata: None, state=ArtifactState.DELETED)

    def search(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None,
        datasets: list[dict[str, Any]] | None,
        max_results: int | None,
        order_by: list[dict[str, Any]] | None,
        page_token: str | None,
    ) -> PagedList[LoggedModel]:
        """MLflow's search of logged models, over those of these experiments, with its own
        filter, order and pages."""
        if datasets and not all(d.get("dataset_name") for d in datasets):
            raise MlflowException(
                "`dataset_name` in the `datasets` clause must be specified.",
                INVALID_PARAMETER_VALUE,
            )
        wanted = set(map(str, experiment_ids))
        with self.store.transaction() as conn:
            rows = _rows.artifacts_of_type(conn, MODEL_TYPE)
        models = [
            _model_of(row)
            for row in rows
            if row.state != ArtifactState.DELETED and row.metadata["experiment_id"] in wanted
        ]
        found = SearchLoggedModelsUtils.filter_logged_models(models, filter_string, datasets)
        found = SearchLoggedModelsUtils.sort(found, order_by)
        page, token = SearchLoggedModelsUtils.paginate(found, page_token, max_results or 100)
        return PagedList(page, token)

    # -- what runs took in and gave out -------------------------------------------------

    def log_datasets(self, run_id: int, datasets: Sequence[DatasetInput]) -> None:
        """Record the dataset inputs of a run; one it has already (same name and digest) is
        not recorded again."""
        with self.store.transaction(write=True) as conn:
            type_id = get_or_create(conn, ARTIFACT_TYPES, {"name": DATASET_TYPE})
            have = {
                (row.metadata["name"], row.metadata["digest"])
                for row in _rows.artifacts_of_type(conn, DATASET_TYPE, context_ids=[run_id])
            }
            for given in datasets:
                dataset = given.dataset
                if (dataset.name, dataset.digest) in have:
                    continue
                have.add((dataset.name, dataset.digest))
                metadata = {
                    "run_id": str(run_id),
                    "name": dataset.name,
                    "digest": dataset.digest,
                    "source_type": dataset.source_type,
                    "source": dataset.source,
                    "schema": dataset.schema,
                    "profile": dataset.profile,
                    "tags": {tag.key: tag.value for tag in given.tags},
                }
                made = _rows.add_artifact(conn, type_id, dataset.name[:MAX_NAME], metadata)
                _rows.attribute(conn, run_id, made)

    def io_of(self, run_ids: Iterable[int]) -> dict[int, tuple[RunInputs, RunOutputs]]:
        """What each of these runs took in (datasets, models) and gave out (models), read at
        once."""
        ids = list(run_ids)
        found: dict[int, tuple[list[Any], list[Any], list[Any]]] = {
            run: ([], [], []) for run in ids
        }
        with self.store.transaction() as conn:
            datasets = _rows.artifacts_of_type(conn, DATASET_TYPE, context_ids=ids)
            models = _rows.artifacts_of_type(conn, MODEL_TYPE, context_ids=ids)
        for row in datasets:
            run = int(row.metadata["run_id"])
            if run in found:
                found[run][0].append(_dataset_of(row.metadata))
        for row in models:
            model_id = _model_id(row)
            for run in row.metadata.get("inputs", []):
                if int(run) in found:
                    found[int(run)][1].append(LoggedModelInput(model_id))
            for run, step in row.metadata.get("outputs", {}).items():
                if int(run) in found:
                    found[int(run)][2].append(LoggedModelOutput(model_id, step))
        return {
            run: (RunInputs(dataset_inputs=d, model_inputs=i), RunOutputs(model_outputs=o))
            for run, (d, i, o) in found.items()
        }

    def _row(
        self, conn: Connection, model_id: str, *, lock: bool = False, allow_deleted: bool = False
    ) -> Row[Any]:
        artifact, stamped = split_id(model_id, "logged model", "m-")
        found = _rows.artifacts_of_type(conn, MODEL_TYPE, ids=[artifact], lock=lock)
        if (
            not found
            or stamp(found[0].created_at) != stamped
            or (found[0].state == ArtifactState.DELETED and not allow_deleted)
        ):
            raise not_found("logged model", str(model_id))
        return found[0]


def _model_id(row: Row[Any]) -> str:
    return stamped_id(row.id, row.created_at, "m-")


def _model_of(row: Row[Any]) -> LoggedModel:
    metadata = row.metadata
    return LoggedModel(
        experiment_id=metadata["experiment_id"],
        model_id=_model_id(row),
        name=metadata["name"],
        artifact_location=row.uri,
        creation_timestamp=millis(row.created_at),
        last_updated_timestamp=millis(row.updated_at),
        model_type=metadata.get("model_type"),
        source_run_id=metadata.get("source_run_id"),
        status=LoggedModelStatus(metadata["status"]),
        status_message=metadata.get("status_message"),
        tags=dict(metadata.get("tags") or {}),
        params=dict(metadata.get("params") or {}),
        metrics=[
            Metric(model_id=_model_id(row), **{**metric, "value": from_json(metric["value"])})
            for metric in metadata.get("metrics", [])
        ],
    )


def _metric_json(metric: Metric) -> dict[str, Any]:
    return {
        "key": metric.key,
        "value": to_json(float(metric.value)),
        "timestamp": metric.timestamp,
        "step": metric.step,
        "run_id": metric.run_id,
        "dataset_name": metric.dataset_name,
        "dataset_digest": metric.dataset_digest,
    }


def _dataset_of(metadata: dict[str, Any]) -> DatasetInput:
    dataset = Dataset(
        name=metadata["name"],
        digest=metadata["digest"],
        source_type=metadata["source_type"],
        source=metadata["source"],
        schema=metadata.get("schema"),
        profile=metadata.get("profile"),
    )
    tags = [InputTag(key, value) for key, value in (metadata.get("tags") or {}).items()]
    return DatasetInput(dataset, tags)
