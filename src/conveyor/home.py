"""The assembled home: `open_home` builds every part of one Conveyor home from its settings.

    from conveyor.home import open_home

    with open_home() as home:                   # .conveyor/ here, or $CONVEYOR_HOME
        home.registry.get_version("churn@production")
        home.endpoints.list()

`conveyor.run`, `Client`, every CLI command, the REST app and the prediction server
take a home rather than reading settings or opening stores themselves, so several
homes work side by side in one process and nothing passes settings through
`os.environ`. Each part is safe to use from several threads.
"""

from __future__ import annotations

import dataclasses
import os

from conveyor.config import Settings
from conveyor.registry import ArtifactPolicy, Registry
from conveyor.serving.endpoints import Endpoints
from conveyor.serving.loading import ModelLoader
from conveyor.store.artifacts import ArtifactStore
from conveyor.store.metadata import MetadataStore


@dataclasses.dataclass(frozen=True)
class Home:
    """One home's parts; `close()` gives the metadata store back."""

    settings: Settings
    store: MetadataStore
    artifacts: ArtifactStore
    registry: Registry
    endpoints: Endpoints
    models: ModelLoader
    """Runtimes of the model versions this home has loaded, shared by its callers."""

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
        models = ModelLoader(settings.cache_dir / "models")
        registry = Registry(store, user=settings.user, policy=ArtifactPolicy.of(settings))
        endpoints = Endpoints(store, registry, loader=models)
        registry.add_delete_guard(endpoints.delete_guard)  # a deployed version stays
    except BaseException:
        store.close()
        raise
    return Home(settings, store, artifacts, registry, endpoints, models)
