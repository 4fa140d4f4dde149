"""The assembled home: `open_home` builds every part of one Conveyor home from its settings.

    from conveyor.home import open_home

    with open_home() as home:                   # .conveyor/ here, or $CONVEYOR_HOME
        home.registry.get_version("churn@production")
        home.endpoints.list()
        home.monitors.get("churn-drift")

`conveyor.run`, `Client`, every CLI command, the REST app and the prediction server
take a home rather than reading settings or opening stores themselves, so several
homes work side by side in one process and nothing passes settings through
`os.environ`. Each part is safe to use from several threads.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from typing import TYPE_CHECKING

from conveyor.config import Settings
from conveyor.store.artifacts import ArtifactStore
from conveyor.store.metadata import MetadataStore

if TYPE_CHECKING:
    from conveyor.automation.pipelines import PipelineRegistry
    from conveyor.automation.rollouts import Rollouts
    from conveyor.automation.schedules import Schedules
    from conveyor.automation.triggers import Triggers
    from conveyor.experiments import Experiments
    from conveyor.monitoring.monitors import Monitors
    from conveyor.registry import Registry
    from conveyor.serving.endpoints import Endpoints
    from conveyor.serving.loading import ModelLoader


@dataclasses.dataclass(frozen=True)
class Home:
    """One home's parts; `close()` gives the metadata store back.

    The registry, endpoints, model loader, monitors and pipelines are built together when
    one of them is first used, so that a command that only runs pipelines does not import them
    (with their tables and libraries): `conveyor run` starts sooner."""

    settings: Settings
    store: MetadataStore
    artifacts: ArtifactStore

    @property
    def registry(self) -> Registry:
        return self._services().registry

    @property
    def endpoints(self) -> Endpoints:
        return self._services().endpoints

    @property
    def models(self) -> ModelLoader:
        """Runtimes of the model versions this home has loaded, shared by its callers."""
        return self._services().models

    @property
    def monitors(self) -> Monitors:
        """Model monitors of the registry's versions (Vertex AI Model Monitoring v2)."""
        return self._services().monitors

    @property
    def pipelines(self) -> PipelineRegistry:
        """Registered pipelines with their versions and tags (`conveyor run NAME@TAG`)."""
        return self._services().pipelines

    @property
    def schedules(self) -> Schedules:
        """Schedules of pipeline runs and monitoring jobs (Vertex AI's `Schedule`)."""
        return self._services().schedules

    @property
    def triggers(self) -> Triggers:
        """Triggers of pipeline runs on new data, alerts, finished runs and webhook calls."""
        return self._services().triggers

    @property
    def rollouts(self) -> Rollouts:
        """Progressive delivery (canary, shadow) of model versions to the endpoints."""
        return self._services().rollouts

    @property
    def experiments(self) -> Experiments:
        """Experiments and their runs: params, metrics, time series (Vertex AI Experiments)."""
        return self._services().experiments

    def _services(self) -> _Services:
        built = self.__dict__.get("_built")  # set once (frozen: not through setattr)
        if built is None:
            with _BUILDING:
                built = self.__dict__.get("_built")
                if built is None:
                    built = self.__dict__["_built"] = _Services.build(
                        self.settings, self.store, self.artifacts
                    )
        return built

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Home:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def open_home(
    folder: str | os.PathLike[str] | None = None, *, settings: Settings | None = None
) -> Home:
    """The home at `folder` (default: `CONVEYOR_HOME`, else `.conveyor/` here), with the
    settings of the environment, or the home `settings` describe."""
    settings = settings or Settings.from_env(folder)
    store = MetadataStore.open(settings.metadata_url)
    try:
        artifacts = ArtifactStore.open(settings.artifact_root, local_dir=settings.folder)
    except BaseException:
        store.close()
        raise
    return Home(settings, store, artifacts)


_BUILDING = threading.Lock()
"""One thread builds a home's services; the others then find them built."""


@dataclasses.dataclass(frozen=True)
class _Services:
    """The parts of a home above its stores, built on first use (`Home._services`)."""

    registry: Registry
    endpoints: Endpoints
    models: ModelLoader
    monitors: Monitors
    pipelines: PipelineRegistry
    schedules: Schedules
    triggers: Triggers
    rollouts: Rollouts
    experiments: Experiments

    @classmethod
    def build(
        cls, settings: Settings, store: MetadataStore, artifacts: ArtifactStore | None = None
    ) -> _Services:
        from conveyor.automation.pipelines import PipelineRegistry
        from conveyor.automation.rollouts import Rollouts
        from conveyor.automation.schedules import Schedules
        from conveyor.automation.triggers import Triggers
        from conveyor.experiments import Experiments
        from conveyor.monitoring.monitors import Monitors
        from conveyor.registry import ArtifactPolicy, Registry
        from conveyor.serving.endpoints import Endpoints
        from conveyor.serving.loading import ModelLoader

        models = ModelLoader(settings.cache_dir / "models")
        registry = Registry(store, user=settings.user, policy=ArtifactPolicy.of(settings))
        endpoints = Endpoints(store, registry, loader=models)
        registry.add_delete_guard(endpoints.delete_guard)  # a deployed version stays
        monitors = Monitors(
            store,
            registry,
            cache_dir=settings.cache_dir / "monitoring",
            artifacts=artifacts,
            settings=settings,
        )
        registry.add_delete_guard(monitors.delete_guard)  # a version a monitor pins stays
        pipelines = PipelineRegistry(store, user=settings.user)
        schedules = Schedules(store, pipelines, monitors, user=settings.user)
        pipelines.add_delete_guard(schedules.delete_guard)  # a version a schedule runs stays
        monitors.add_delete_guard(schedules.monitor_guard)  # a monitor a schedule runs stays
        triggers = Triggers(store, pipelines, monitors, user=settings.user)
        pipelines.add_delete_guard(triggers.delete_guard)  # a version a trigger runs stays
        monitors.add_delete_guard(triggers.monitor_guard)  # a monitor a trigger follows stays
        rollouts = Rollouts(store, registry, endpoints, user=settings.user)
        experiments = Experiments(store, registry, artifacts)
        return cls(
            registry,
            endpoints,
            models,
            monitors,
            pipelines,
            schedules,
            triggers,
            rollouts,
            experiments,
        )
