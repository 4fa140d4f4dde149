"""`Client`: the public Python face of Conveyor, for scripts, notebooks and components.

    from conveyor.client import Client

    client = Client()                       # .conveyor/ here, or $CONVEYOR_HOME
    run = client.run("pipeline.py:train", {"lr": 0.1})
    for record in client.list_runs(status="FAILED", since="1d"):
        print(record.run_id, record.error)
    print(client.explain_cache(run.run_id, "train").lines())

It also reaches the registry and the endpoints, which the hand-over components
(`conveyor.components`) use from inside their tasks:

    version = client.upload_model("churn", model_folder, framework="sklearn",
                                  aliases=["production"])
    client.create_endpoint("churn")
    client.deploy("churn", "churn@production")
    client.predict("churn", [{"tenure": 3, "plan": "monthly"}])
    client.create_monitor("churn-drift", "churn@production")   # drift, skew, output drift
    client.promote("churn@production", to_env="prod", alias="production")  # through gates

In the embedded mode the client works on a home (`conveyor.home`), which holds the
metadata store's connections (from a small pool, shared with the rest of the process)
for as long as the client is open: `close()` it, or use it in a `with` block. Each call
is its own transaction, so a long-lived client sees what other processes wrote, and one
client may be used from several threads.

In the remote mode the same methods go over a Conveyor server's REST API, returning the
same records (`conveyor.remote`):

    client = Client(env="staging")          # its server_url, the token from its token_env
    client = Client.connect("https://conveyor.example.com", token=token)

A client is remote when the environment it opens has a `server_url`, unless it is given
a home or a folder (a store it works on itself), or it is the `Client()` of a pipeline's
task (`_KFP_RUNTIME` set), which works on its run's store. A remote client's `home` is a
`RemoteHome`. The methods no REST route does (runs, lineage, the cache, files, promotion)
work on the environment's own store when `conveyor.toml` declares one (its `home` or
`metadata_url`), opened when first needed; else they raise `RemoteUnsupported`
(docs/environments.md, Remote environments).
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conveyor.config import Settings
from conveyor.errors import UsageError
from conveyor.home import Home, open_home
from conveyor.pipelines import lease
from conveyor.pipelines.cache import parse_age
from conveyor.pipelines.explain import CacheExplanation, explain_cache
from conveyor.store.artifacts import naming as artifact_naming
from conveyor.store.metadata import (
    Lineage,
    NotFound,
    RunDetail,
    RunRecord,
    RunStatus,
)
from conveyor.store.metadata.records import DEFAULT_LINEAGE_DEPTH

if TYPE_CHECKING:
    import pandas as pd

    from conveyor.automation.promotion import Promotion, PromotionRefused
    from conveyor.automation.records import PipelineVersionRecord
    from conveyor.automation.rollout_records import Criteria, Rollout
    from conveyor.experiments import Experiments
    from conveyor.monitoring import (
        AlertDelivery,
        FeedbackSummary,
        ModelMonitor,
        ModelMonitoringJob,
        MonitoringAlert,
        MonitoringMetric,
        PerformanceResult,
    )
    from conveyor.pipelines.runner import Run
    from conveyor.registry import Evaluation, HistoryEntry, ModelVersion
    from conveyor.remote import RemoteHome
    from conveyor.serving.batch import BatchResult
    from conveyor.serving.records import DeployedModel, Endpoint
    from conveyor.serving.runtimes import Runtime

__all__ = ["Client", "PromotionRefused", "parse_since"]


def __getattr__(name: str) -> Any:
    """`PromotionRefused`, for components (they reach Conveyor only through this module),
    imported when asked for: promotion brings the registry, which a run does not need."""
    if name == "PromotionRefused":
        from conveyor.automation.promotion import PromotionRefused

        return PromotionRefused
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_PLACED_BY_HOME = (
    "CONVEYOR_METADATA_URL",
    "CONVEYOR_ARTIFACT_ROOT",
    "CONVEYOR_SERVER_URL",
    "CONVEYOR_TOKEN_ENV",
)
"""The variables that place a home's stores and server, which a run sets for its tasks:
another environment does not inherit them from this home (`Client.promote`, `approve`)."""

_DURATION = re.compile(r"^\s*\d+(\.\d+)?\s*[smhdw]?\s*$", re.IGNORECASE)

_IN_A_TASK = "_KFP_RUNTIME"
"""Set in a task's process by Conveyor's workers (as in KFP's containers): there `Client()`
works on the run's store, whatever server the run's environment has."""


def _needs_store(method: Callable[..., Any]) -> Callable[..., Any]:
    """A method that works on the store itself, which no REST route does: a remote client
    has it done on its environment's own store (`Client._on_store`)."""

    @functools.wraps(method)
    def on_the_store(self: Client, *args: Any, **kwargs: Any) -> Any:
        return method(self._on_store(method.__name__), *args, **kwargs)

    return on_the_store


class Client:
    """Runs, their records, lineage and cache explanations, models and endpoints, in one
    Conveyor home, or over the REST API of an environment's server.

    `home` is an open `Home` (used as it is, and left open), or the folder of one
    (default: `CONVEYOR_HOME`, else `.conveyor/` in the working folder), opened with
    the environment's settings and closed by `close()`. `env` names the environment of
    `conveyor.toml` (default: `--env`, else `CONVEYOR_ENV`, ...); one with a `server_url`
    makes the client remote, unless `home` is given (see the module docstring).
    """

    home: Home | RemoteHome
    """The home the client works on; a `RemoteHome` for a remote client."""

    def __init__(
        self, home: Home | str | os.PathLike[str] | None = None, *, env: str | None = None
    ) -> None:
        if isinstance(home, Home):
            if env is not None:
                raise UsageError(
                    f"Client(home, env={env!r}): an open home is one environment's already; "
                    "give the home or the environment"
                )
            self._attach(home, owned=False)
            return
        settings = Settings.from_env(home, env=env)
        if settings.server_url and home is None and (env or not os.environ.get(_IN_A_TASK)):
            from conveyor.remote import RemoteHome  # httpx: only for a remote client

            self._attach(RemoteHome.of(settings), owned=True)
            self._store_settings = settings if _declares_store(settings) else None
        else:
            self._attach(open_home(settings=settings), owned=True)

    @classmethod
    def connect(cls, url: str, token: str | None = None, *, timeout: float = 30.0) -> Client:
        """A remote client of the Conveyor server at `url` (`https://conveyor.example.com`),
        without `conveyor.toml`: `token`, when the server needs one, is sent as
        `Authorization: Bearer`; `timeout` is in seconds per request."""
        from conveyor.remote import RemoteHome

        client = cls.__new__(cls)
        client._attach(RemoteHome.connect(url, token, timeout=timeout), owned=True)
        return client

    def _attach(self, home: Home | RemoteHome, *, owned: bool) -> None:
        self.home, self._owns_home = home, owned
        self._remote = None if isinstance(home, Home) else home
        self._store_settings: Settings | None = None
        self._store: Client | None = None
        self._opening = threading.Lock()

    def _on_store(self, method: str) -> Client:
        """The client that does `method`, which needs the store: this one, or for a remote
        client a client of the store its environment declares, opened on first use."""
        if self._remote is None:
            return self
        if self._store_settings is None:
            raise self._remote.unsupported(f"Client.{method}")
        with self._opening:
            if self._store is None:
                self._store = Client(open_home(settings=self._store_settings))
            return self._store

    def close(self) -> None:
        """Give back the home's connections (or the server's), if the client opened them."""
        if self._store is not None:
            self._store.home.close()
        if self._owns_home:
            self.home.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- runs -------------------------------------------------------------------

    @_needs_store
    def run(self, pipeline: Any, arguments: dict[str, Any] | None = None, **options: Any) -> Run:
        """Run a pipeline to its end; `options` are those of `conveyor.run`
        (`parallelism`, `enable_caching`, `cache_max_age`, `cache_by_content`, ...).

        `pipeline` may also name a registered pipeline (`train@3`, `train@prod`,
        `train@latest`, or `train` for its latest version) when no file has that name: the
        run records the version it ran in its `origin` (`pipeline_version`)."""
        from conveyor.pipelines import runner  # imports kfp: only when running

        version = self._registered(pipeline)
        if version is not None:
            given = options.get("origin") or {}
            options["origin"] = {"pipeline_version": version.reference, **given}
            pipeline = self.home.pipelines.spec(version.reference)
        return runner.run(pipeline, arguments, home=self.home, **options)

    def _registered(self, target: Any) -> PipelineVersionRecord | None:
        """The registered pipeline version `target` names, if it is a reference rather than
        a file or `file.py:function`."""
        if not isinstance(target, str) or Path(target).exists():
            return None
        from conveyor.automation.errors import PipelineNotFound
        from conveyor.automation.references import is_pipeline_reference

        if not is_pipeline_reference(target):
            return None
        if "@" not in target:  # a bare name: a file gone missing, or a registered pipeline
            try:
                self.home.pipelines.get(target)
            except PipelineNotFound:
                raise UsageError(
                    f"no such file: {target}, and no pipeline {target!r} is registered "
                    "(`conveyor pipelines list` shows them)"
                ) from None
        return self.home.pipelines.resolve(target)

    @_needs_store
    def resume(self, run_id: str, *, detach: bool = False, **options: Any) -> Run | RunDetail:
        """Continue a failed, cancelled or killed run, re-running only what did not complete;
        `options` are those of `conveyor.resume`.

        With `detach=True` (no options), the run goes on in a process of its own
        (`conveyor runs resume`, its output in the run's folder), and this returns the run's
        record as soon as that process runs it, as the REST API's `:resume` does."""
        if detach:
            if options:
                raise UsageError(
                    f"Client.resume(detach=True) takes no options, got {', '.join(options)}"
                )
            from conveyor.automation.resumes import start_resume

            return start_resume(self.home, run_id)
        from conveyor.pipelines import runner

        return runner.resume(run_id, home=self.home, **options)

    @_needs_store
    def cancel(
        self,
        run_id: str,
        *,
        wait: float | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> RunStatus:
        """Cancel a RUNNING run, whichever process runs it; return its status then.

        Its runner stops the tasks and records CANCELLED within seconds; `wait` (seconds)
        waits for that. A run whose runner died is closed at once (CANCELLED).
        """
        return lease.cancel(self.home.store, run_id, wait=wait, progress=progress)

    @_needs_store
    def list_runs(
        self,
        pipeline: str | None = None,
        status: str | None = None,
        since: str | datetime | timedelta | None = None,
        limit: int | None = None,
        *,
        experiment: str | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> list[RunRecord]:
        """Runs, newest first: of one pipeline, in one status (any case), created since a
        moment (`30m`, `7d`, an ISO date or time, a datetime, or a timedelta back from now),
        in one experiment, with these labels."""
        wanted = _status(status) if status is not None else None
        after = parse_since(since) if since is not None else None
        if limit is not None and limit < 1:
            raise UsageError(f"limit must be at least 1, got {limit}")
        return self.home.store.list_runs(
            pipeline=pipeline,
            status=wanted,
            since=after,
            limit=limit,
            experiment=experiment,
            labels=labels,
        )

    @_needs_store
    def get_run(self, run_id: str) -> RunDetail:
        """One run with its parameters, spec and executions; `NotFound` if unknown."""
        return self.home.store.get_run(run_id)

    # -- experiments -------------------------------------------------------------

    @property
    def experiments(self) -> Experiments:
        """Experiments and their runs (Vertex AI Experiments), on the home or the server:
        `create`, `start_run`, `log_params`, `log_metrics`, `log_time_series_metrics`,
        `end_run`, `search_runs`, ... (`conveyor.experiments.Experiments`)."""
        return self.home.experiments

    def get_experiment_df(self, experiment: str | Sequence[str]) -> pd.DataFrame:
        """The runs of one experiment or several as a DataFrame, oldest first: columns
        `experiment_name`, `run_name`, `run_type`, `state`, `start_time`, `end_time`,
        `param.*`, `metric.*`, `time_series_metric.*` (Vertex AI's `get_experiment_df`)."""
        from conveyor.experiments.frame import experiment_frame

        rows: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page = self.experiments.search_runs(experiment, order_by="start_time", page_token=token)
            rows += page.runs
            token = page.next_page_token
            if token is None:
                return experiment_frame(rows)

    # -- lineage and the cache ---------------------------------------------------

    @_needs_store
    def lineage(self, artifact: int | str, depth: int = DEFAULT_LINEAGE_DEPTH) -> Lineage:
        """The graph upstream and downstream of an artifact, given by id (`12` or `"12"`) or
        by URI (a local path may be relative to the working folder)."""
        if depth < 0:
            raise UsageError(f"lineage depth must be 0 or more, got {depth}")
        if isinstance(artifact, str) and artifact.strip().isdigit():
            artifact = int(artifact)
        missing: NotFound | None = None
        for spelling in _spellings(artifact):
            try:
                return self.home.store.lineage(spelling, depth=depth)
            except NotFound as exc:
                missing = missing or exc
        assert missing is not None
        raise missing

    @_needs_store
    def execution_lineage(
        self, execution: int | str, depth: int = DEFAULT_LINEAGE_DEPTH
    ) -> Lineage:
        """The graph around an execution, given by id (`4` or `"4"`): its inputs and
        outputs, what led to its inputs and what its outputs led to (`Lineage.execution`
        names it)."""
        if depth < 0:
            raise UsageError(f"lineage depth must be 0 or more, got {depth}")
        if isinstance(execution, str) and execution.strip().isdigit():
            execution = int(execution)
        if not isinstance(execution, int) or isinstance(execution, bool):
            raise UsageError(f"an execution is given by its id (a number), got {execution!r}")
        return self.home.store.execution_lineage(execution, depth=depth)

    @_needs_store
    def explain_cache(self, run_id: str, task: str) -> CacheExplanation:
        """Whether task `task` of a run hit the cache, and if it missed, why."""
        return explain_cache(self.home.store, run_id, task, self.home.artifacts)

    # -- the registry -------------------------------------------------------------

    def upload_model(
        self,
        name: str,
        artifact_uri: str | os.PathLike[str],
        *,
        framework: str,
        description: str | None = None,
        labels: Mapping[str, str] | None = None,
        input_schema: Any = None,
        output_schema: Any = None,
        aliases: Sequence[str] = (),
        trusted: bool = False,
        run_id: str | None = None,
        execution_id: int | None = None,
        comment: str | None = None,
    ) -> ModelVersion:
        """Register the model folder at `artifact_uri` as the next version of `name`
        (`Registry.upload`: docs/registry.md). Without `run_id` (or `execution_id`, of that
        run), the version links to the run and execution that wrote the artifact."""
        return self.home.registry.upload(
            name,
            artifact_uri,
            framework=framework,
            description=description,
            labels=labels,
            input_schema=input_schema,
            output_schema=output_schema,
            aliases=aliases,
            trusted=trusted,
            run_id=run_id,
            execution_id=execution_id,
            comment=comment,
        )

    def delete_model(self, name: str, *, comment: str | None = None) -> list[int]:
        """Delete a model and every version of it (refused while one is deployed or
        watched); the version ids deleted."""
        return self.home.registry.delete_model(name, comment=comment)

    def get_model_version(self, reference: str) -> ModelVersion:
        """The version `churn@3`, `churn@production` or `churn` (its `default`) names;
        `NotFound` when there is none."""
        return self.home.registry.get_version(reference)

    def find_model_version(self, reference: str) -> ModelVersion | None:
        """As `get_model_version`, but None when the model, the version or the alias holder
        does not exist."""
        try:
            return self.get_model_version(reference)
        except NotFound:
            return None

    def add_model_evaluation(
        self,
        reference: str,
        metrics: Mapping[str, Any],
        *,
        slice: Mapping[str, Any] | None = None,
        run_id: str | None = None,
    ) -> Evaluation:
        """Attach metrics (over all rows, or one `slice`: `{"plan": "monthly"}`) to a version."""
        return self.home.registry.add_evaluation(
            reference, None, metrics, slice=slice, run_id=run_id
        )

    def list_model_evaluations(self, reference: str) -> list[Evaluation]:
        """The evaluations of the version `reference` names, oldest first."""
        version = self.home.registry.get_version(reference)
        return self.home.registry.list_evaluations(version.model, version.version_id)

    @_needs_store
    def copy_model(self, reference: str, target: str | os.PathLike[str]) -> ModelVersion:
        """Copy the files of a registered version into the folder `target` (made, or emptied
        first), each checked against the sha256 recorded at upload; the version copied."""
        from conveyor.serving.runtimes import verify_files

        version = self.get_model_version(reference)
        folder, sha256s = self.home.models.local_folder(version)
        verify_files(folder, sha256s)
        target = Path(target)
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        # A folder, even for a single-file artifact (staged into a folder of its own).
        shutil.copytree(folder, target, ignore=shutil.ignore_patterns("__pycache__"))
        verify_files(target, sha256s)
        return version

    # -- promotion across environments ----------------------------------------------

    @_needs_store
    def promote(
        self,
        reference: str,
        *,
        to_env: str,
        from_env: str | None = None,
        alias: str | None = None,
        dry_run: bool = False,
    ) -> Promotion:
        """Promote the version `reference` names in environment `from_env` (None: this
        client's home) to environment `to_env` of `conveyor.toml`, through `to_env`'s gates
        (docs/environments.md, Promotion). `PromotionRefused` when a gate fails: its
        `promotion` holds every verdict. A dry run judges the gates and moves nothing."""
        from conveyor.automation import promotion  # the registry's: only when promoting

        with self._homes(from_env, to_env) as (source, target):
            return promotion.promote(source, target, reference, alias=alias, dry_run=dry_run)

    @_needs_store
    def approve(
        self, reference: str, *, to_env: str, from_env: str | None = None, reason: str
    ) -> HistoryEntry:
        """Record in `to_env`'s history that this user approves promoting the version
        `reference` names in `from_env` (None: this client's home), and why: what an
        `approval` gate asks for. When `to_env` has a `server_url`, its server records it
        (`:approvePromotion`, which needs a token of role `approver`), naming the token's
        owner; the version is read from `from_env`'s store."""
        from conveyor.automation import promotion

        target = self._settings_of(to_env, "to_env")
        if target.server_url is None:
            with self._homes(from_env, to_env) as (source, opened):
                return promotion.approve(source, opened, reference, reason=reason)
        from conveyor.automation.gates import Candidate
        from conveyor.remote import RemoteHome

        with ExitStack() as opened:
            source = self.home
            if from_env is not None:
                settings = self._settings_of(from_env, "from_env")
                source = opened.enter_context(open_home(settings=settings))
            if source.settings.env == target.env:
                raise UsageError(
                    f"--from and --to are both {target.env}: an approval is for promoting a "
                    "version from another environment (--from ENV)"
                )
            version = source.registry.get_version(reference)
            server = opened.enter_context(RemoteHome.of(target))
            candidate = Candidate(source.settings.env, version, (), source=source)
            return server.registry.approve_promotion(**candidate.key, reason=reason)

    # -- model runtimes and batch prediction ----------------------------------------

    @_needs_store
    def check_artifact(self, path: str | os.PathLike[str], *, uri: str | None = None) -> str:
        """Raise `ChecksumMismatch` unless the file or folder at the local `path` still has
        the sha256 the metadata store recorded when a task published it at `uri` (default:
        `path`); no check when no task did. Returns its sha256 now."""
        from conveyor.serving.runtimes import ChecksumMismatch
        from conveyor.store.artifacts import digest

        path = Path(path)
        if not path.exists():
            raise UsageError(f"the artifact {path} does not exist")
        found = digest.of_path(path).sha256
        recorded = self._recorded_sha256(*[u for u in (uri, str(path.resolve())) if u])
        if recorded is not None and recorded != found:
            raise ChecksumMismatch(
                f"{path} does not match the sha256 recorded when its task published it "
                f"(recorded {recorded[:12]}..., found {found[:12]}...): a file changed, was "
                "added or was removed since; re-run the task that wrote it"
            )
        return found

    @_needs_store
    def load_model(
        self,
        path: str | os.PathLike[str],
        *,
        uri: str | None = None,
        framework: str | None = None,
        trusted: bool = False,
        schema: Any = None,
    ) -> Runtime:
        """Load the model folder at the local `path` in its serving runtime
        (docs/runtimes.md), as the server loads a registered version: the folder is first
        checked against the sha256 the metadata store recorded when a task published it
        at `uri` (`check_artifact`), then each file as it is read, then trust and schema."""
        from conveyor.serving.runtimes import load_model
        from conveyor.store.artifacts import digest

        self.check_artifact(path, uri=uri)
        path = Path(path)
        sha256s = {f.path: f.sha256 for f in digest.of_path(path).files}
        return load_model(
            path, framework=framework, sha256s=sha256s, trusted=trusted, schema=schema
        )

    @_needs_store
    def batch_predict(
        self,
        reference: str,
        input_path: str | os.PathLike[str],
        output_path: str | os.PathLike[str],
        *,
        batch_size: int | None = None,
        parameters: dict[str, Any] | None = None,
        input_format: str | None = None,
        output_format: str | None = None,
    ) -> BatchResult:
        """Predict every row of a CSV, Parquet or JSON Lines file with a registered version,
        into another file (`serving.batch.predict_file`: docs/batch.md)."""
        from conveyor.serving.batch import DEFAULT_BATCH_SIZE, predict_file

        return predict_file(
            self.home.registry,
            self.home.models,
            reference,
            input_path,
            output_path,
            batch_size=batch_size or DEFAULT_BATCH_SIZE,
            parameters=parameters,
            input_format=input_format,
            output_format=output_format,
        )

    # -- endpoints ------------------------------------------------------------------

    def create_endpoint(
        self,
        name: str,
        *,
        description: str | None = None,
        labels: Mapping[str, str] | None = None,
        log_sample_rate: float | None = None,
    ) -> Endpoint:
        """A new, empty endpoint (docs/serving.md); `ServingConflict` if it exists."""
        return self.home.endpoints.create(
            name, description=description, labels=labels, log_sample_rate=log_sample_rate
        )

    def get_endpoint(self, name: str) -> Endpoint:
        """An endpoint with its deployed models and traffic split; `NotFound` if unknown."""
        return self.home.endpoints.get(name)

    def find_endpoint(self, name: str) -> Endpoint | None:
        """As `get_endpoint`, but None when there is no such endpoint."""
        try:
            return self.get_endpoint(name)
        except NotFound:
            return None

    def update_endpoint(self, name: str, **changes: Any) -> Endpoint:
        """Change an endpoint's `description`, `labels` (replaced whole) or
        `log_sample_rate`; what is not given stays."""
        return self.home.endpoints.update(name, **changes)

    def delete_endpoint(self, name: str) -> None:
        """Delete an endpoint; refused while models are deployed to it."""
        self.home.endpoints.delete(name)

    def deploy(
        self,
        endpoint: str,
        model: str,
        *,
        traffic_percentage: int | None = None,
        traffic_split: Mapping[str, int] | None = None,
        pin: bool = False,
        shadow_of: str | None = None,
    ) -> DeployedModel:
        """Deploy `churn@3` (pinned), `churn@production` or `churn` (following the alias) to
        an endpoint, with Vertex AI's traffic rules (`Endpoints.deploy`: docs/serving.md);
        or as a shadow of deployed model `shadow_of`."""
        return self.home.endpoints.deploy(
            endpoint,
            model,
            traffic_percentage=traffic_percentage,
            traffic_split=traffic_split,
            pin=pin,
            shadow_of=shadow_of,
        )

    def start_rollout(
        self,
        endpoint: str,
        model: str,
        *,
        strategy: str = "canary",
        steps: Sequence[int] | None = None,
        interval_seconds: float = 300.0,
        criteria: Criteria | Mapping[str, Any] | None = None,
        failure_limit: int = 2,
        alias: str | None = None,
    ) -> Rollout:
        """Roll `model` (`churn@4`) out to `endpoint`, canary steps or a shadow, judged by
        the server that serves it and rolled back on failures (docs/delivery.md).
        `criteria` is a `Criteria`, or its fields by name."""
        if isinstance(criteria, Mapping):
            from conveyor.automation.rollout_records import Criteria

            criteria = Criteria.of(criteria)
        return self.home.rollouts.start(
            endpoint,
            model,
            strategy=strategy,
            steps=steps,
            interval_seconds=interval_seconds,
            criteria=criteria,
            failure_limit=failure_limit,
            alias=alias,
        )

    def get_rollout(self, endpoint: str, rollout_id: int) -> Rollout:
        return self.home.rollouts.get(rollout_id, endpoint=endpoint)

    def current_rollout(self, endpoint: str) -> Rollout | None:
        """The endpoint's unfinished rollout, if any."""
        return self.home.rollouts.current(endpoint)

    def abort_rollout(self, endpoint: str, *, reason: str | None = None) -> Rollout:
        """Stop the endpoint's rollout: all traffic back to the stable model."""
        return self.home.rollouts.abort(endpoint, reason=reason)

    def undeploy(
        self,
        endpoint: str,
        deployed_model_id: str,
        *,
        traffic_split: Mapping[str, int] | None = None,
    ) -> Endpoint:
        """Stop serving a deployed model; its traffic goes to the others in proportion, or
        as `traffic_split` says. The endpoint afterwards."""
        return self.home.endpoints.undeploy(
            endpoint, deployed_model_id, traffic_split=traffic_split
        )

    def set_traffic(
        self,
        endpoint: str,
        traffic_split: Mapping[str, int] | None = None,
        *,
        deployed_model_id: str | None = None,
        traffic_percentage: int | None = None,
    ) -> Endpoint:
        """Replace an endpoint's traffic split, or give one deployed model a percentage and
        scale the others to share the rest in proportion (as a deployment does)."""
        return self.home.endpoints.set_traffic(
            endpoint,
            traffic_split,
            deployed_model_id=deployed_model_id,
            traffic_percentage=traffic_percentage,
        )

    def predict(
        self,
        endpoint: str,
        instances: list[Any],
        parameters: dict[str, Any] | None = None,
        *,
        url: str | None = None,
        timeout: float = 30.0,
    ) -> dict[str, Any]:
        """A Vertex AI prediction from an endpoint: `{"predictions": [...],
        "deployedModelId", "model", "modelVersionId", "modelDisplayName"}`.

        With `url` (`http://127.0.0.1:8080`), the request goes to that running server
        (without a token). Without, a remote client asks its own server (with its token);
        an embedded one answers here: the deployed model with the largest share of the
        traffic (the first of equals) is loaded as the server loads it, once per client.
        A model that predicts on OpenMP threads leaves them in this process; a pipeline
        run from it afterwards then starts its fork server afresh (docs/pipelines.md).
        """
        body: dict[str, Any] = {"instances": instances}
        if parameters is not None:
            body["parameters"] = parameters
        if url is not None:
            return _post_json(f"{url.rstrip('/')}/v1/endpoints/{endpoint}:predict", body, timeout)
        if self._remote is not None:
            return self._remote.endpoints.predict(endpoint, body, timeout=timeout)
        chosen = self.home.endpoints.answering(endpoint)
        version = self.get_model_version(f"{chosen.model}@{chosen.version_id}")
        runtime = self.home.models.load(version)
        return {
            "predictions": runtime.predict(instances, parameters),
            "deployedModelId": chosen.id,
            "model": version.model,
            "modelVersionId": str(version.version_id),
            "modelDisplayName": version.model,
        }

    # -- model monitors -------------------------------------------------------------

    def create_monitor(
        self,
        name: str,
        target: str,
        *,
        display_name: str | None = None,
        training_dataset: Any = None,
        model_monitoring_schema: Any = None,
        tabular_objective: Any = None,
        notification_spec: Any = None,
        window: str | None = None,
        offset: str | None = None,
        sampling_rate: float | None = None,
        min_samples: int | None = None,
    ) -> ModelMonitor:
        """A model monitor of `target` (`churn@production`, followed as the alias moves),
        every field left out at its default (`Monitors.create`: docs/monitoring.md)."""
        return self.home.monitors.create(
            name,
            target,
            display_name=display_name,
            training_dataset=training_dataset,
            model_monitoring_schema=model_monitoring_schema,
            tabular_objective=tabular_objective,
            notification_spec=notification_spec,
            window=window,
            offset=offset,
            sampling_rate=sampling_rate,
            min_samples=min_samples,
        )

    def get_monitor(self, name: str) -> ModelMonitor:
        """A model monitor, its target resolved now; `NotFound` if unknown."""
        return self.home.monitors.get(name)

    def list_monitors(self) -> list[ModelMonitor]:
        """Every model monitor, by name."""
        return self.home.monitors.list()

    def update_monitor(self, name: str, **changes: Any) -> ModelMonitor:
        """Change a monitor's fields (those of `create_monitor` but `name`, and `target`);
        a field given as None goes back to its default (`Monitors.update`)."""
        return self.home.monitors.update(name, **changes)

    def delete_monitor(self, name: str) -> int:
        """Delete a monitor and its jobs' records (their executions stay); the number of
        jobs deleted."""
        return self.home.monitors.delete(name)

    # -- ground truth, live performance and the report -----------------------------

    def send_feedback(
        self,
        name: str,
        labels: Any,
        *,
        request_id_column: str = "request_id",
        index_column: str = "instance_index",
        label_column: str = "label",
    ) -> FeedbackSummary:
        """Ground truth labels for monitor `name`'s model: a `.parquet` or `.csv` path or
        a list of rows (`Monitors.feedback`); how many name a logged prediction."""
        return self.home.monitors.feedback(
            name,
            labels,
            request_id_column=request_id_column,
            index_column=index_column,
            label_column=label_column,
        )

    @_needs_store
    def live_performance(
        self, name: str, *, start: datetime | None = None, end: datetime | None = None
    ) -> list[PerformanceResult]:
        """The model's metrics over its labelled predictions logged from `start` to `end`
        (`Monitors.live_performance`)."""
        return self.home.monitors.live_performance(name, start=start, end=end)

    @_needs_store
    def monitor_report(self, job_id: int, *, history: int = 20) -> str:
        """The HTML report of monitoring job `job_id` (`Monitors.report`)."""
        return self.home.monitors.report(job_id, history=history)

    # -- monitoring jobs and metrics -------------------------------------------

    def run_monitor(
        self,
        name: str,
        *,
        window: str | None = None,
        offset: str | None = None,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        sampling_rate: float | None = None,
    ) -> ModelMonitoringJob:
        """Run one monitoring job of monitor `name` now (`Monitors.run`): the last `window`
        ending `offset` before now, or `start_time` to `end_time`; the job, SUCCEEDED or
        FAILED with its `error`."""
        return self.home.monitors.run(
            name,
            window=window,
            offset=offset,
            start_time=start_time,
            end_time=end_time,
            sampling_rate=sampling_rate,
        )

    def list_monitor_jobs(self, name: str, *, limit: int = 100) -> list[ModelMonitoringJob]:
        """The jobs of monitor `name`, newest first."""
        return self.home.monitors.jobs(name, limit=limit)

    @_needs_store
    def get_monitor_job(self, job_id: int) -> ModelMonitoringJob:
        """One monitoring job by id; `JobNotFound` if unknown."""
        return self.home.monitors.get_job(job_id)

    @_needs_store
    def list_monitor_job_metrics(self, job_id: int) -> list[MonitoringMetric]:
        """The metrics one monitoring job wrote, per objective and field
        (`Monitors.job_metrics`); `JobNotFound` if unknown."""
        return self.home.monitors.job_metrics(job_id)

    def search_monitoring_metrics(
        self,
        name: str | None = None,
        *,
        feature: str | None = None,
        objective: str | None = None,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        anomalies_only: bool = False,
        limit: int = 1000,
    ) -> list[MonitoringMetric]:
        """Metrics of monitor `name`'s jobs (None: of all), oldest window first
        (`Monitors.search_metrics`)."""
        return self.home.monitors.search_metrics(
            name,
            feature=feature,
            objective=objective,
            start_time=start_time,
            end_time=end_time,
            anomalies_only=anomalies_only,
            limit=limit,
        )

    # -- monitoring alerts ------------------------------------------------------

    def search_monitoring_alerts(
        self,
        name: str | None = None,
        *,
        feature: str | None = None,
        objective: str | None = None,
        kind: str | None = None,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        limit: int = 100,
    ) -> list[MonitoringAlert]:
        """Alerts of monitor `name` (None: of all), newest first (`Monitors.search_alerts`);
        `objective` one of `feature_drift`, `feature_skew`, `prediction_output_drift`, ...,
        `kind` `anomaly` or `recovery`."""
        return self.home.monitors.search_alerts(
            name,
            feature=feature,
            objective=objective,
            kind=kind,
            start_time=start_time,
            end_time=end_time,
            limit=limit,
        )

    @_needs_store
    def list_alert_deliveries(self, *alert_ids: int) -> list[AlertDelivery]:
        """The deliveries of these alerts: channel, destination, state, attempts, error."""
        return self.home.monitors.deliveries(*alert_ids)

    @_needs_store
    def deliver_monitoring_alerts(self) -> list[AlertDelivery]:
        """Send the alert deliveries due now (the alert log, webhooks, email); those
        attempted, after the attempt."""
        return self.home.monitors.deliver_alerts()

    # -- plumbing ---------------------------------------------------------------

    @contextmanager
    def _homes(self, from_env: str | None, to_env: str) -> Iterator[tuple[Home, Home]]:
        """This client's home (or environment `from_env`'s) and environment `to_env`'s,
        those opened here closed after the block."""
        with ExitStack() as opened:
            source = self.home
            if from_env is not None:
                settings = self._settings_of(from_env, "from_env")
                source = opened.enter_context(open_home(settings=settings))
            target = opened.enter_context(open_home(settings=self._settings_of(to_env, "to_env")))
            yield source, target

    def _settings_of(self, env: str, field: str) -> Settings:
        """Environment `env`'s settings, read without the variables that placed this home's
        stores (a run gives them to its tasks): an environment declaring its own `home`
        keeps its store and artifacts there, not in this home's."""
        if not isinstance(env, str) or not env.strip():
            raise UsageError(
                f"{field}: name an environment of conveyor.toml (`conveyor env list`), got {env!r}"
            )
        placed = self.home.settings.to_env()
        environ = {
            k: v for k, v in os.environ.items() if k not in _PLACED_BY_HOME or placed[k] != v
        }
        return Settings.from_env(environ=environ, env=env)

    def _recorded_sha256(self, *uris: str) -> str | None:
        """The sha256 of the newest LIVE artifact the metadata store holds at one of `uris`."""
        from conveyor.store.metadata.kinds import ArtifactState

        for uri in dict.fromkeys(uris):
            try:
                graph = self.home.store.lineage(uri, depth=0)
            except NotFound:
                continue
            live = [
                graph.artifacts[i]
                for i in graph.roots
                if i in graph.artifacts and graph.artifacts[i].state == ArtifactState.LIVE
            ]
            if live:
                return live[-1].sha256
        return None


def _declares_store(settings: Settings) -> bool:
    """Whether `conveyor.toml` gives the environment a store of its own (`home` or
    `metadata_url`), beside its server."""
    if settings.config_file is None:
        return False
    from conveyor.environments import load

    _, declared = load(settings.config_file).settings(settings.env)
    return "folder" in declared or "metadata_url" in declared


def parse_since(value: str | datetime | timedelta, now: datetime | None = None) -> datetime:
    """The moment a `since` filter names, in UTC.

    A duration back from now (`30m`, `12h`, `7d`, `2w`, a timedelta), or an ISO
    date or time (`2026-11-01`, `2026-11-01T08:00`); a date or time without a
    zone is local time.
    """
    now = now or datetime.now(UTC)
    if isinstance(value, timedelta):
        return now - value
    if isinstance(value, datetime):
        moment = value
    elif _DURATION.match(value):
        try:
            return now - parse_age(value)
        except UsageError:
            raise UsageError(
                f"since {value!r} must be a positive duration (30m, 12h, 7d) or an ISO date "
                "(2026-11-01)"
            ) from None
    else:
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise UsageError(
                f"since {value!r} is neither a duration (30m, 12h, 7d) nor an ISO date (2026-11-01)"
            ) from None
    return (moment if moment.tzinfo else moment.astimezone()).astimezone(UTC)


def _post_json(url: str, body: dict[str, Any], timeout: float) -> dict[str, Any]:
    """POST `body` as JSON and read the JSON answer; an error answer raises, with its message."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        text = exc.read().decode(errors="replace")
        try:
            message = json.loads(text)["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = text.strip() or exc.reason
        raise UsageError(f"{url} answered {exc.code}: {message}") from None
    except urllib.error.URLError as exc:
        raise UsageError(
            f"cannot reach {url}: {exc.reason}; is `conveyor serve` running there?"
        ) from None


def _status(text: str) -> RunStatus:
    try:
        return RunStatus(text.upper())
    except ValueError:
        known = ", ".join(s.value for s in RunStatus)
        raise UsageError(f"unknown run status {text!r}; use one of {known}") from None


def _spellings(artifact: int | str) -> list[int | str]:
    """An artifact as given, then a local URI as the local store records it (absolute)."""
    if isinstance(artifact, int) or not artifact_naming.is_local(artifact):
        return [artifact]
    other = str(artifact_naming.local_of(artifact))
    return [artifact] if other == artifact else [artifact, other]
