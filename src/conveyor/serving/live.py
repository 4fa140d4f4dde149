"""What a running server serves, kept in step with the store: endpoints and models by name.

State, all replaced whole (copy on write) so that a request reads one consistent table
without a lock:

- `endpoints`: endpoint name -> `LiveEndpoint`: its deployed models, each a `Serving`
  (the version and its loaded runtime), the router that splits its traffic, and its
  shadows by the deployed model they mirror (`conveyor.serving.shadow`);
- `models`: (model name, selector) -> `Serving`, for Open Inference Protocol routes,
  loaded on first use;
- `seen`: model name -> the id of the last registry history entry seen, for every model
  served; `generations`: endpoint name -> the generation last built.

`poll()` runs every `poll_seconds` on a thread of its own. It compares the endpoints'
generations with `generations` (a deployment, undeployment or new split made by any
process), and asks the registry for each served model's history `after` its `seen` id (an
alias moved, a version was updated or deleted). It rebuilds what changed: resolves each
deployment's version (an alias is resolved after its history position is recorded, so no
move is missed), loads new versions (the loader shares runtimes already loaded), and only
then swaps the new table in. A request that started on the old table finishes on the old
runtime; the next one reads the new table. A version that fails to load is not swapped
in: the deployment keeps serving what it served, and the failure is logged and counted.
A shadow that fails to load is left out of `shadows` the same way: the model it mirrors
answers as before.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from conveyor.registry import DEFAULT, ModelVersion
from conveyor.serving.runtimes import Runtime
from conveyor.serving.traffic import Router
from conveyor.store.metadata import NotFound

if TYPE_CHECKING:
    from conveyor.serving.endpoints import Endpoints
    from conveyor.serving.loading import ModelLoader
    from conveyor.serving.metrics import Metrics
    from conveyor.serving.records import DeployedModel

log = logging.getLogger("conveyor.serving")


@dataclass(frozen=True)
class Serving:
    """One loaded model version answering for a deployed model (or an OIP model name)."""

    deployed_model_id: str
    endpoint: str
    version: ModelVersion
    runtime: Runtime
    protocol: str

    @property
    def model(self) -> str:
        return self.version.model

    @property
    def version_id(self) -> int:
        return self.version.version_id

    @cached_property
    def labels(self) -> tuple[str, ...]:
        """The metric labels of its requests (`metrics.LABELS`)."""
        return (
            self.endpoint,
            self.deployed_model_id,
            self.version.model,
            str(self.version.version_id),
            self.protocol,
        )


@dataclass
class LiveEndpoint:
    """An endpoint as served: loaded deployments, failures, the traffic router, and the
    loaded shadows of each deployed model that has some (mirrored id -> shadows; empty for
    most endpoints, so that a request without shadows costs one dict lookup)."""

    name: str
    generation: int
    log_sample_rate: float | None
    deployed: dict[str, Serving]
    failed: dict[str, str] = field(default_factory=dict)
    router: Router = field(default_factory=lambda: Router({}))
    shadows: dict[str, tuple[Serving, ...]] = field(default_factory=dict)


class LiveState:
    """The endpoints and models a server answers for, refreshed from the store."""

    def __init__(
        self,
        endpoints: Endpoints,
        loader: ModelLoader,
        *,
        poll_seconds: float = 1.0,
        metrics: Metrics | None = None,
    ) -> None:
        self.api = endpoints
        self.registry = endpoints.registry
        self.loader = loader
        self.poll_seconds = poll_seconds
        self.metrics = metrics
        self.endpoints: dict[str, LiveEndpoint] = {}
        self.models: dict[tuple[str, str], Serving] = {}
        self.model_failures: dict[tuple[str, str], str] = {}
        self.seen: dict[str, int] = {}
        self.generations: dict[str, int] = {}
        self.ready = False
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # Lifecycle

    def start(self) -> None:
        """Build every endpoint now, then keep watching on a thread."""
        self.poll()
        self.ready = True
        self._thread = threading.Thread(target=self._watch, name="conveyor-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _watch(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.poll()
            except Exception:  # a locked or unreachable store: try again next time
                log.exception("serving: checking the store for changes failed")

    # Watching

    def poll(self) -> None:
        """One look at the store: rebuild the endpoints and models that changed."""
        with self._lock:
            generations = self.api.generations()
            changed = {n for n, g in generations.items() if self.generations.get(n) != g}
            gone = set(self.endpoints) - set(generations)
            latest = {m: self._latest(m) for m in list(self.seen)}
            moved = {m for m, last in latest.items() if last != self.seen[m]}
            for name in gone:
                self._swap_endpoint(name, None)
                self.generations.pop(name, None)
            for name, live in self.endpoints.items():
                served = {s.model for s in live.deployed.values()}
                if served & moved or (live.failed and moved):
                    changed.add(name)
            for name in sorted(changed):
                self.refresh_endpoint(name)
            for key in [k for k in {*self.models, *self.model_failures} if k[0] in moved]:
                self._reload_model(key)
            # Only now: had a rebuild failed (the store busy), the next poll sees it again.
            self.seen.update({m: latest[m] for m in moved})

    def _latest(self, model: str) -> int | None:
        """The id of the model's newest history entry after the one seen (None: the model
        has no history any more; the seen id: nothing new)."""
        try:
            entries = self.registry.history(model, after=self.seen[model])
        except NotFound:
            return None
        return entries[-1].id if entries else self.seen[model]

    def _follow(self, model: str) -> None:
        """Record where the model's history stands, before resolving any of its aliases."""
        if model in self.seen:
            return
        try:
            entries = self.registry.history(model)
        except NotFound:
            entries = []
        self.seen[model] = entries[-1].id if entries else 0

    # Endpoints

    def refresh_endpoint(self, name: str) -> LiveEndpoint | None:
        """Rebuild one endpoint from the store now (loading first, then swapping)."""
        with self._lock:
            try:
                record = self.api.get(name)
            except NotFound:
                self._swap_endpoint(name, None)
                self.generations.pop(name, None)
                return None
            previous = self.endpoints.get(name)
            deployed: dict[str, Serving] = {}
            failed: dict[str, str] = {}
            for d in record.deployed_models:
                self._follow(d.model)
                try:
                    version = self.registry.get_version(d.model, d.alias or d.deployed_version)
                    runtime = self.loader.load(version)
                except Exception as exc:
                    old = previous.deployed.get(d.id) if previous else None
                    self._failed(d.reference, d.model, exc, kept=old)
                    if old is not None:
                        deployed[d.id] = old
                    else:
                        failed[d.id] = f"{d.reference} cannot be served: {exc}"
                    continue
                old = previous.deployed.get(d.id) if previous else None
                if old is not None and old.version == version and old.runtime is runtime:
                    deployed[d.id] = old
                else:
                    deployed[d.id] = Serving(d.id, name, version, runtime, "vertex")
                    if old is not None and old.version_id != version.version_id:
                        log.info(
                            "serving: endpoint %s deployed model %s now serves %s (was %s)",
                            name, d.id, version.reference, old.version.reference,
                        )  # fmt: skip
            live = LiveEndpoint(
                name=name,
                generation=record.generation,
                log_sample_rate=record.log_sample_rate,
                deployed=deployed,
                failed=failed,
                router=Router(record.traffic_split),
                shadows=_shadows(record.deployed_models, deployed),
            )
            self._swap_endpoint(name, live)
            self.generations[name] = record.generation
            return live

    def _swap_endpoint(self, name: str, live: LiveEndpoint | None) -> None:
        table = dict(self.endpoints)
        if live is None:
            table.pop(name, None)
        else:
            table[name] = live
        self.endpoints = table

    # Models by name (Open Inference Protocol)

    def model(self, name: str, selector: str | None = None) -> Serving:
        """The version of `name` that `selector` (a version id or an alias; None: default)
        names, loaded. Raises the registry's NotFound, or ModelLoadError (remembered until
        the model's history moves)."""
        key = (name, selector or DEFAULT)
        found = self.models.get(key)
        if found is not None:
            return found
        with self._lock:
            found = self.models.get(key)
            if found is not None:
                return found
            if key in self.model_failures:
                from conveyor.serving.runtimes import ModelLoadError

                raise ModelLoadError(self.model_failures[key])
            return self._load_model(key)

    def _load_model(self, key: tuple[str, str]) -> Serving:
        name, selector = key
        new = name not in self.seen
        self._follow(name)
        try:
            version = self.registry.get_version(name, selector)
        except NotFound:
            if new:  # do not watch names that clients made up
                self.seen.pop(name, None)
            raise
        try:
            runtime = self.loader.load(version)
        except Exception as exc:
            self.model_failures = {**self.model_failures, key: str(exc)}
            self._failed(version.reference, name, exc, kept=None)
            raise
        serving = Serving(version.reference, "", version, runtime, "oip")
        self.models = {**self.models, key: serving}
        return serving

    def _reload_model(self, key: tuple[str, str]) -> None:
        old = self.models.get(key)
        self.model_failures = {k: v for k, v in self.model_failures.items() if k != key}
        try:
            version = self.registry.get_version(*key)
        except NotFound:
            self.models = {k: v for k, v in self.models.items() if k != key}
            return
        if old is not None and old.version == version:
            return
        try:
            runtime = self.loader.load(version)
        except Exception as exc:
            self._failed(version.reference, key[0], exc, kept=old)
            if old is None:
                self.model_failures = {**self.model_failures, key: str(exc)}
            return
        self.models = {**self.models, key: Serving(version.reference, "", version, runtime, "oip")}

    def _failed(self, what: str, model: str, exc: Exception, kept: Serving | None) -> None:
        still = f"; still serving {kept.version.reference}" if kept is not None else ""
        log.error("serving: %s cannot be served: %s%s", what, exc, still)
        if self.metrics is not None:
            self.metrics.load_failures.labels(model).inc()


def _shadows(
    records: list[DeployedModel], deployed: dict[str, Serving]
) -> dict[str, tuple[Serving, ...]]:
    """The loaded shadows of each mirrored deployed model (one that failed to load is not
    among them)."""
    found: dict[str, tuple[Serving, ...]] = {}
    for d in records:
        if d.shadow_of is not None and d.id in deployed:
            found[d.shadow_of] = (*found.get(d.shadow_of, ()), deployed[d.id])
    return found
