"""MLflow's tracking store over Conveyor's experiments: MLflow code logs into a Conveyor home.

    import mlflow

    mlflow.set_tracking_uri("conveyor://")                   # the home `Client()` opens
    mlflow.set_tracking_uri("conveyor://?env=staging")       # environment `staging`
    mlflow.set_tracking_uri("conveyor+file:///abs/path/home")  # the home in that folder

MLflow finds `ConveyorTrackingStore` through the entry points `mlflow.tracking_store`
(`conveyor`, `conveyor+file`; pyproject.toml). What MLflow logs lands in the home's
`Experiments` (`home.experiments`), and MLflow reads it back from there:

- An MLflow experiment is a Conveyor experiment; its id is the experiment's context id as
  text. MLflow's default experiment (id "0") is the Conveyor experiment "Default", made on
  first use; it keeps the id "0". An experiment's description is its `mlflow.note.content`
  tag. Names must be valid Conveyor names.
- An MLflow run is a Conveyor experiment run; its id is `{context id}-{stamp}`, the stamp
  being the run's creation time in hex microseconds: MLflow caches artifact locations by run
  id for the whole process, so an id must never name two runs (of two homes, or a new run
  given a deleted one's context id). The name MLflow gives (or generates) is the run's name when it is a valid Conveyor name not
  taken in the experiment; else a valid, free name is made from it. The given name is always
  kept in the `mlflow.runName` label, and MLflow sees that name.
- Params are params (MLflow's text); logging a param again with another value is refused
  (INVALID_PARAMETER_VALUE), as MLflow refuses it.
- Metrics: `log_metric(key, value, step, timestamp)` records a time-series point, and the
  key's summary metric becomes the series' last value (`Experiments.log_points(...,
  as_summary=True)`). A run's MLflow metrics are its summary metrics, and each series' last
  value for keys without one; `get_metric_history` gives the series' points.
- Tags are labels. Statuses RUNNING, FINISHED, FAILED, KILLED are the states RUNNING,
  COMPLETE, FAILED, CANCELLED; an ended run set RUNNING again resumes, and one ended or
  renamed after it ended is resumed and ended again. MLflow's start and end times are
  Conveyor's own (when the store started and ended the run).
- `log_batch` writes its params, metrics and tags in one transaction; nothing is written when
  one is refused.
- Artifacts go to the home's artifact root, written by MLflow's own artifact repositories
  (file or s3): an experiment's at `experiments/<experiment>`, a run's at
  `experiments/<experiment>/<run>/mlflow-artifacts`, a logged model's files at
  `experiments/<experiment>/<run>/mlflow-models/<model id>`.
- MLflow 3's logged models and the datasets runs log are artifacts of the metadata store
  (`conveyor.experiments.mlflow_models`); model ids are `m-{artifact id}-{stamp}`.
- Deleting a run or an experiment deletes it for good, as Conveyor does.

Not supported, refused with an MlflowException saying so: restoring deleted runs or
experiments, renaming experiments, experiment tags other than the description (and
changing it), deleting run tags, logging to a run that has ended (resume it first, as
`mlflow.start_run(run_id=...)` does), `record_logged_model` (MLflow 2's model history tag),
tracing; and artifact roots of MLflow's own (`mlflow server --default-artifact-root`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlflow.entities import (
    LoggedModel,
    LoggedModelInput,
    LoggedModelOutput,
    LoggedModelStatus,
    Metric,
    Run,
    RunStatus,
    ViewType,
)
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import (
    INTERNAL_ERROR,
    INVALID_PARAMETER_VALUE,
    RESOURCE_ALREADY_EXISTS,
)
from mlflow.store.entities.paged_list import PagedList
from mlflow.store.tracking import SEARCH_MAX_RESULTS_DEFAULT
from mlflow.store.tracking.abstract_store import AbstractStore
from mlflow.utils.mlflow_tags import MLFLOW_RUN_NAME, MLFLOW_RUN_NOTE, MLFLOW_USER
from mlflow.utils.search_utils import SearchExperimentsUtils, SearchUtils

from conveyor.experiments import mlflow_entities as entities
from conveyor.experiments.errors import ExperimentRunExists, ExperimentRunNotFound
from conveyor.experiments.mlflow_entities import (
    check_max_results,
    translated,
    translated_errors,
    unsupported,
)
from conveyor.experiments.mlflow_models import LoggedModels
from conveyor.experiments.mlflow_uris import settings_of
from conveyor.experiments.records import ExperimentRun, ExperimentRunState
from conveyor.experiments.tracker import Experiments
from conveyor.store.artifacts import ArtifactStore
from conveyor.store.metadata import MetadataStore

_NAME_TRIES = 20
"""How many free names a new run tries before giving up (others may take them meanwhile)."""


class ConveyorTrackingStore(AbstractStore):
    """MLflow's tracking store over the experiments of one Conveyor home."""

    def __init__(self, store_uri: str, artifact_uri: str | None = None) -> None:
        super().__init__()
        if artifact_uri:
            raise MlflowException(
                f"the Conveyor tracking store keeps artifacts under its home's artifact root, "
                f"not at {artifact_uri!r}: set the home's artifact_root (CONVEYOR_ARTIFACT_ROOT "
                "or conveyor.toml) instead",
                INVALID_PARAMETER_VALUE,
            )
        self.settings = settings_of(store_uri)
        with translated_errors():
            self.store = MetadataStore.open(self.settings.metadata_url)
            try:
                self.artifacts = ArtifactStore.open(
                    self.settings.artifact_root, local_dir=self.settings.folder
                )
            except BaseException:
                self.store.close()
                raise
        self.experiments = Experiments(self.store, artifacts=self.artifacts)
        self.models = LoggedModels(self.store)

    def close(self) -> None:
        """Give back the metadata store's connections."""
        self.store.close()

    # -- experiments ------------------------------------------------------------------

    @translated()
    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        check_max_results(max_results)
        if view_type == ViewType.DELETED_ONLY:
            return PagedList([], None)
        ids = self.experiments.experiment_ids()
        found = [self._experiment_entity(e.name, ids[e.name], e) for e in self.experiments.list()]
        found = SearchExperimentsUtils.filter(found, filter_string)
        found = SearchExperimentsUtils.sort(found, order_by or ["creation_time DESC"])
        page, token = SearchUtils.paginate(found, page_token, max_results)
        return PagedList(page, token)

    @translated(conflict=RESOURCE_ALREADY_EXISTS)
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Sequence[Any] | None = None
    ) -> str:
        if artifact_location:
            raise MlflowException(
                f"experiment {name!r}: Conveyor keeps its artifacts under the home's artifact "
                f"root, not at {artifact_location!r}; leave artifact_location out",
                INVALID_PARAMETER_VALUE,
            )
        given = {tag.key: tag.value for tag in tags or []}
        description = given.pop(MLFLOW_RUN_NOTE, None)
        if given:
            raise unsupported(f"experiment tags ({', '.join(sorted(given))})")
        self.experiments.create(name, description=description)
        return entities.experiment_id_of(name, self.experiments.experiment_ids()[name])

    @translated()
    def get_experiment(self, experiment_id: str) -> Any:
        name, context_id = self._experiment(experiment_id)
        return self._experiment_entity(name, context_id)

    @translated()
    def get_experiment_by_name(self, experiment_name: str) -> Any:
        context_id = self.experiments.experiment_ids().get(experiment_name)
        if context_id is None:
            return None
        return self._experiment_entity(experiment_name, context_id)

    @translated()
    def delete_experiment(self, experiment_id: str) -> None:
        self.experiments.delete(self._experiment(experiment_id)[0])

    def restore_experiment(self, experiment_id: str) -> None:
        raise unsupported("restoring experiments (Conveyor deletes them for good)")

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        raise unsupported("renaming experiments")

    def set_experiment_tag(self, experiment_id: str, tag: Any) -> None:
        raise unsupported("experiment tags (an experiment keeps only its description)")

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        raise unsupported("experiment tags (an experiment keeps only its description)")

    # -- runs ---------------------------------------------------------------------------

    @translated()
    def create_run(
        self,
        experiment_id: str,
        user_id: str | None,
        start_time: int | None,
        tags: Sequence[Any] | None,
        run_name: str | None,
    ) -> Run:
        experiment = self._experiment(experiment_id)[0]
        labels = {tag.key: tag.value for tag in tags or []}
        tagged = labels.get(MLFLOW_RUN_NAME)
        if run_name and tagged and run_name != tagged:
            raise MlflowException(
                f"Both 'run_name' argument and 'mlflow.runName' tag are specified, but with "
                f"different values (run_name={run_name!r}, mlflow.runName={tagged!r}).",
                INVALID_PARAMETER_VALUE,
            )
        given = run_name or tagged or entities.run_name_for(None, ())
        labels[MLFLOW_RUN_NAME] = given
        if user_id:
            labels.setdefault(MLFLOW_USER, user_id)
        taken = {run.run_name for run in self.experiments.list_runs(experiment)}
        for _ in range(_NAME_TRIES):
            name = entities.run_name_for(given, taken)
            try:
                self.experiments.start_run(experiment, name, labels=labels)
            except ExperimentRunExists:
                taken.add(name)  # made meanwhile, or a context of another experiment
                continue
            return self._run(self.experiments.run_id(experiment, name))
        raise MlflowException(
            f"no free run name for {given!r} in experiment {experiment!r}", INTERNAL_ERROR
        )

    @translated()
    def get_run(self, run_id: str) -> Run:
        return self._run(*self._run_of(run_id))

    @translated()
    def update_run_info(
        self, run_id: str, run_status: int | str, end_time: int | None, run_name: str | None
    ) -> Any:
        context_id, run = self._run_of(run_id)
        status = run_status if isinstance(run_status, str) else RunStatus.to_string(run_status)
        state = entities.state_of(status)
        renamed = run_name and run_name != run.labels.get(MLFLOW_RUN_NAME, run.run_name)
        if state != run.state or renamed:
            if run.state != ExperimentRunState.RUNNING:  # resumed to change, then ended again
                self.experiments.start_run(run.experiment, run.run_name, resume=True)
            if renamed:
                labels = {MLFLOW_RUN_NAME: str(run_name)}
                self.experiments.set_labels(run.experiment, run.run_name, labels)
            if state != ExperimentRunState.RUNNING:
                self.experiments.end_run(run.experiment, run.run_name, state)
        return self._run(context_id).info

    @translated()
    def delete_run(self, run_id: str) -> None:
        run = self._run_of(run_id)[1]
        self.experiments.delete_run(run.experiment, run.run_name)

    def restore_run(self, run_id: str) -> None:
        raise unsupported("restoring runs (Conveyor deletes them for good)")

    def delete_tag(self, run_id: str, key: str) -> None:
        raise unsupported("deleting run tags (Conveyor's labels are only set)")

    # -- logging ------------------------------------------------------------------------

    @translated()
    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric],
        params: Sequence[Any],
        tags: Sequence[Any],
    ) -> None:
        """Params, metrics and tags in one transaction. Metrics of a logged model
        (`model_id`) are then recorded on the model too (a second transaction); a point the
        run has already is not repeated (MLflow's `log_model` logs the run's metrics again for
        its model)."""
        if not (metrics or params or tags):
            return
        run = self._run_of(run_id)[1]
        values: dict[str, str] = {}
        for param in params:
            if values.setdefault(param.key, param.value) != param.value:
                raise MlflowException(
                    f"param {param.key!r} is logged twice in one batch with different values",
                    INVALID_PARAMETER_VALUE,
                )
        of_models = [m for m in metrics if m.model_id]
        self.experiments.log_batch(
            run.experiment,
            run.run_name,
            params=values,
            points=[
                (m.key, m.value, m.step, m.timestamp / 1000)
                for m in self._new_points(run, of_models, metrics)
            ],
            labels={tag.key: tag.value for tag in tags},
            as_summary=True,
        )
        for model_id in {m.model_id for m in of_models}:
            self.models.log_metrics(model_id, [m for m in of_models if m.model_id == model_id])

    @translated()
    def get_metric_history(
        self,
        run_id: str,
        metric_key: str,
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        run = self._run_of(run_id)[1]
        points = self.experiments.time_series(run.experiment, run.run_name, [metric_key])
        history = [
            Metric(metric_key, p.value, entities.millis(p.wall_time), p.step, run_id=str(run_id))
            for p in points.get(metric_key, [])
        ]
        if max_results is None:
            return PagedList(history, None)
        page, token = SearchUtils.paginate(history, page_token, max_results)
        return PagedList(page, token)

    @translated()
    def _search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None,
        run_view_type: int,
        max_results: int,
        order_by: list[str] | None,
        page_token: str | None,
    ) -> tuple[list[Run], str | None]:
        check_max_results(max_results)
        if run_view_type == ViewType.DELETED_ONLY or not experiment_ids:
            return [], None
        named = dict(self._experiment(i) for i in experiment_ids)
        runs = self.experiments.runs_by_id(list(named))
        found = self._run_entities(runs, named)
        found = SearchUtils.filter(found, filter_string)
        found = SearchUtils.sort(found, order_by)
        return SearchUtils.paginate(found, page_token, max_results)

    @translated()
    def log_inputs(
        self,
        run_id: str,
        datasets: Sequence[Any] | None = None,
        models: Sequence[LoggedModelInput] | None = None,
    ) -> None:
        context_id = self._run_of(run_id)[0]
        if datasets:
            self.models.log_datasets(context_id, datasets)
        for model in models or []:
            self.models.add_input(model.model_id, context_id)

    @translated()
    def log_outputs(self, run_id: str, models: Sequence[LoggedModelOutput]) -> None:
        context_id = self._run_of(run_id)[0]
        for model in models:
            self.models.add_output(model.model_id, context_id, model.step)

    def record_logged_model(self, run_id: str, mlflow_model: Any) -> None:
        raise unsupported("record_logged_model (MLflow 2's `mlflow.log-model.history` tag)")

    def link_traces_to_run(self, trace_ids: list[str], run_id: str) -> None:
        raise unsupported("tracing")

    # -- logged models ------------------------------------------------------------------

    @translated()
    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: Sequence[Any] | None = None,
        params: Sequence[Any] | None = None,
        model_type: str | None = None,
    ) -> LoggedModel:
        experiment, context_id = self._experiment(experiment_id)
        folder: tuple[str, ...] = ("experiments", experiment)
        source = None
        if source_run_id is not None:
            source, run = self._run_of(source_run_id)
            if run.experiment != experiment:
                raise MlflowException(
                    f"run {source_run_id} is of experiment {run.experiment!r}, not {experiment!r}",
                    INVALID_PARAMETER_VALUE,
                )
            folder += (run.run_name,)
        return self.models.create(
            experiment_id=entities.experiment_id_of(experiment, context_id),
            location=lambda model_id: self.artifacts.uri_for(*folder, "mlflow-models", model_id),
            name=name,
            source_run=source,
            source_run_id=source_run_id,
            tags={tag.key: tag.value for tag in tags or []},
            params={param.key: param.value for param in params or []},
            model_type=model_type,
        )

    @translated()
    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> LoggedModel:
        return self.models.get(model_id, allow_deleted=allow_deleted)

    @translated()
    def finalize_logged_model(self, model_id: str, status: LoggedModelStatus) -> LoggedModel:
        return self.models.finalize(model_id, status)

    @translated()
    def set_logged_model_tags(self, model_id: str, tags: Sequence[Any]) -> None:
        self.models.set_tags(model_id, {tag.key: tag.value for tag in tags})

    @translated()
    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        self.models.delete_tag(model_id, key)

    @translated()
    def delete_logged_model(self, model_id: str) -> None:
        self.models.delete(model_id)

    @translated()
    def search_logged_models(
        self,
        experiment_ids: list[str],
        filter_string: str | None = None,
        datasets: list[dict[str, Any]] | None = None,
        max_results: int | None = None,
        order_by: list[dict[str, Any]] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        ids = [entities.experiment_id_of(*self._experiment(i)) for i in experiment_ids]
        return self.models.search(ids, filter_string, datasets, max_results, order_by, page_token)

    # -- inside ------------------------------------------------------------------------

    def _experiment(self, experiment_id: object) -> tuple[str, int]:
        """The name and context id of the experiment MLflow's id names ("0": "Default",
        made on first use)."""
        if str(experiment_id) == entities.DEFAULT_EXPERIMENT_ID:
            name = entities.DEFAULT_EXPERIMENT
            if name not in (ids := self.experiments.experiment_ids()):
                self.experiments.create(name, exist_ok=True)
                ids = self.experiments.experiment_ids()
            return name, ids[name]
        context_id = entities.context_id_of(experiment_id, "experiment")
        return self.experiments.experiment_by_id(context_id).name, context_id

    def _experiment_entity(self, name: str, context_id: int, found: Any = None) -> Any:
        experiment = found or self.experiments.experiment_by_id(context_id)
        return entities.experiment_entity(
            experiment,
            entities.experiment_id_of(name, context_id),
            self.artifacts.uri_for("experiments", name),
        )

    def _run_of(self, run_id: object) -> tuple[int, ExperimentRun]:
        """The context id and record of the run MLflow's id names."""
        context_id, stamped = entities.split_id(run_id, "run")
        try:
            run = self.experiments.run_by_id(context_id)
        except ExperimentRunNotFound:
            run = None
        if run is None or entities.stamp(run.created_at) != stamped:
            raise entities.not_found("run", str(run_id))
        return context_id, run

    def _run(self, context_id: int, run: ExperimentRun | None = None) -> Run:
        run = run or self.experiments.run_by_id(context_id)
        ids = self.experiments.experiment_ids()
        return self._run_entities({context_id: run}, {run.experiment: ids[run.experiment]})[0]

    def _run_entities(
        self, runs: dict[int, ExperimentRun], experiment_ids: dict[str, int]
    ) -> list[Run]:
        """MLflow runs of these Conveyor runs (by context id), read in three queries."""
        last = self.experiments.last_points(runs)
        io = self.models.io_of(runs)
        return [
            entities.run_entity(
                context_id,
                run,
                entities.experiment_id_of(run.experiment, experiment_ids[run.experiment]),
                self.artifacts.uri_for(
                    "experiments", run.experiment, run.run_name, "mlflow-artifacts"
                ),
                last.get(context_id, {}),
                *io[context_id],
            )
            for context_id, run in runs.items()
        ]

    def _new_points(
        self, run: ExperimentRun, of_models: Sequence[Metric], metrics: Sequence[Metric]
    ) -> list[Metric]:
        """`metrics` but the points of logged models' metrics the run has already."""
        if not of_models:
            return list(metrics)
        keys = sorted({m.key for m in of_models})
        steps = [m.step for m in of_models]
        series = self.experiments.time_series(
            run.experiment, run.run_name, keys, first_step=min(steps), last_step=max(steps)
        )
        have = {
            (key, p.step, entities.millis(p.wall_time), _same(p.value))
            for key, points in series.items()
            for p in points
        }
        return [
            m
            for m in metrics
            if not (m.model_id and (m.key, m.step, m.timestamp, _same(m.value)) in have)
        ]


def _same(value: float) -> float | str:
    """A metric value to compare by (NaN equals NaN)."""
    value = float(value)
    return "NaN" if value != value else value


__all__ = ["ConveyorTrackingStore"]
