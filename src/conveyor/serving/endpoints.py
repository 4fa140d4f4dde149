"""`Endpoints`: prediction endpoints and the model versions deployed to them (Vertex AI).

    from conveyor.home import open_home

    with open_home() as home:
        endpoints = home.endpoints
        endpoints.create("churn-prod", description="churn scores for the CRM")
        blue = endpoints.deploy("churn-prod", "churn@production")        # follows the alias
        green = endpoints.deploy("churn-prod", "churn@4", traffic_percentage=10)
        endpoints.set_traffic("churn-prod", deployed_model_id=green.id, traffic_percentage=30)
        endpoints.get("churn-prod").traffic_split                        # {"1": 70, "2": 30}
        endpoints.undeploy("churn-prod", blue.id)                        # green takes 100
        shadow = endpoints.deploy("churn-prod", "churn@5", shadow_of=green.id)  # mirrors green
        endpoints.end_shadow("churn-prod", shadow.id)                    # at 0 %, may get traffic

A deployment names a registered model version by id (`churn@3`: pinned) or by alias
(`churn@production`, or `churn` for `default`: it follows the alias, and a running server
switches to the version the alias moves to). Each call is one transaction; every change
counts one more `generation` of the endpoint, which running servers watch. The home gives
the registry the endpoints' delete guard, so a deployed version cannot be deleted.

A shadow deployment (`shadow_of`, Conveyor's own) takes no traffic: a running server sends
it a copy of every request the deployed model it mirrors answers (`conveyor.serving.shadow`).
It never gets traffic while it is a shadow, and the model it mirrors cannot be undeployed
while it has shadows. See docs/serving.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from conveyor.registry import ModelVersion, Registry, parse_reference
from conveyor.registry.errors import InvalidLabels
from conveyor.registry.history import current_user
from conveyor.registry.names import DEFAULT, check_labels
from conveyor.registry.references import with_selector
from conveyor.serving import _rows, traffic
from conveyor.serving.errors import (
    DeployedModelNotFound,
    InvalidEndpoint,
    InvalidTraffic,
    ServingConflict,
    UndeployableModel,
)
from conveyor.serving.records import DeployedModel, Endpoint
from conveyor.store.metadata import MetadataStore

if TYPE_CHECKING:
    from conveyor.serving.loading import ModelLoader

ENDPOINT_NAME = re.compile(r"[a-z]([a-z0-9-]{0,61}[a-z0-9])?")
"""Vertex AI's rule for an endpoint id chosen by the user."""

_UNSET: Any = object()


def check_endpoint_name(name: str) -> str:
    if not isinstance(name, str) or not ENDPOINT_NAME.fullmatch(name):
        raise InvalidEndpoint(
            f"endpoint name {name!r} is not valid: use 1 to 63 lowercase letters, digits and "
            "'-', starting with a letter and not ending with '-' (for example churn-prod)"
        )
    return name


def check_description(text: Any) -> str | None:
    if text is None:
        return None
    if not isinstance(text, str):
        raise InvalidEndpoint(f"an endpoint's description is text, not {type(text).__name__}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidEndpoint(
            "an endpoint's description must be Unicode text (it holds a lone surrogate)"
        ) from None
    return text


def check_sample_rate(rate: Any) -> float | None:
    if rate is None:
        return None
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0.0 <= rate <= 1.0:
        raise InvalidEndpoint(
            f"log sample rate {rate!r} must be a number from 0 (log nothing) to 1 (log every "
            "request)"
        )
    return float(rate)


class Endpoints:
    """Endpoints over a metadata store, resolving models through `registry`; `user` names
    who makes changes (default: the registry's user). With `check_loads`, a deployment is
    refused unless its version loads with `loader`. Give `delete_guard` to the registry
    (`registry.add_delete_guard`) so that a deployed version cannot be deleted: the home
    (`conveyor.home`) does."""

    def __init__(
        self,
        store: MetadataStore,
        registry: Registry,
        *,
        user: str | None = None,
        check_loads: bool = True,
        loader: ModelLoader | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.user = user or registry.user
        self.check_loads = check_loads
        self._loader = loader

    def acting_as(self, user: str) -> Endpoints:
        """The same endpoints (and registry), recording `user` as who makes the changes."""
        return Endpoints(
            self.store,
            self.registry.acting_as(user),
            user=user,
            check_loads=self.check_loads,
            loader=self._loader,
        )

    @property
    def loader(self) -> ModelLoader:
        """Loads versions to check them at deployment (imported on first use: numpy and the
        frameworks are not needed to list endpoints)."""
        if self._loader is None:
            from conveyor.serving.loading import ModelLoader

            self._loader = ModelLoader()
        return self._loader

    # Endpoints

    def create(
        self,
        name: str,
        *,
        description: str | None = None,
        labels: Mapping[str, str] | None = None,
        log_sample_rate: float | None = None,
    ) -> Endpoint:
        """A new endpoint, serving nothing until a model is deployed to it."""
        values = {
            "name": check_endpoint_name(name),
            "description": check_description(description),
            "labels": _labels(labels),
            "log_sample_rate": check_sample_rate(log_sample_rate),
            "created_by": self._actor(),
        }
        with self.store.transaction(write=True) as conn:
            _rows.insert_endpoint(conn, values)
        return self.get(name)

    def get(self, name: str) -> Endpoint:
        """The endpoint with its deployed models; followed aliases resolved now."""
        with self.store.transaction() as conn:
            row = _rows.endpoint_row(conn, check_endpoint_name(name))
            deployed = _rows.active(conn, [row.id])
        return self._endpoint(row, deployed)

    def list(self) -> list[Endpoint]:
        """Every endpoint, by name."""
        with self.store.transaction() as conn:
            rows = _rows.endpoint_rows(conn)
            deployed = _rows.active(conn)
        by_endpoint: dict[int, list[Any]] = {}
        for d in deployed:
            by_endpoint.setdefault(d.endpoint_id, []).append(d)
        return [self._endpoint(row, by_endpoint.get(row.id, [])) for row in rows]

    def update(
        self,
        name: str,
        *,
        description: str | None = _UNSET,
        labels: Mapping[str, str] | None = _UNSET,
        log_sample_rate: float | None = _UNSET,
    ) -> Endpoint:
        """Change an endpoint's description, labels (replaced whole) or log sample rate
        (None: the server's default); a field left out stays as it is."""
        changes: dict[str, Any] = {}
        if description is not _UNSET:
            changes["description"] = check_description(description)
        if labels is not _UNSET:
            changes["labels"] = _labels(labels)
        if log_sample_rate is not _UNSET:
            changes["log_sample_rate"] = check_sample_rate(log_sample_rate)
        with self.store.transaction(write=True) as conn:
            row = _rows.endpoint_row(conn, check_endpoint_name(name), lock=True)
            _rows.touch(conn, row.id, **changes)
        return self.get(name)

    def delete(self, name: str) -> None:
        """Delete an endpoint; refused while models are deployed to it."""
        with self.store.transaction(write=True) as conn:
            row = _rows.endpoint_row(conn, check_endpoint_name(name), lock=True)
            if _rows.count_active(conn, row.id):
                raise ServingConflict(
                    f"endpoint {name!r} still serves deployed models; undeploy them first "
                    f"(`conveyor endpoints show {name}` lists them)"
                )
            _rows.delete_endpoint(conn, row.id)

    # Deployments

    def deploy(
        self,
        endpoint: str,
        model: str,
        version: int | str | None = None,
        *,
        traffic_percentage: int | None = None,
        traffic_split: Mapping[str, int] | None = None,
        pin: bool = False,
        shadow_of: str | None = None,
    ) -> DeployedModel:
        """Deploy a model version to `endpoint`; the new deployed model.

        `model` is `churn@3` (pinned to version 3), `churn@production` or `churn` (follow
        the alias, `default` for a bare name), or a name with `version` apart. `pin`
        resolves an alias now and pins the version it names, as Vertex AI does.

        Traffic, as Vertex AI: `traffic_percentage` (default: 100 when no deployed model
        takes traffic, else 0) goes to the new model and the others are scaled down to
        share the rest; or `traffic_split` gives the whole split, with `"0"` for the new
        model. The version must load (checksums, trust, schema) unless `check_loads` is off.

        `shadow_of` deploys it as a shadow of that deployed model of the endpoint instead: it
        takes no traffic (give no percentage or split) and gets a copy of the requests the
        other answers (which must not be a shadow itself).
        """
        check_endpoint_name(endpoint)
        if traffic_percentage is not None and traffic_split is not None:
            raise InvalidTraffic(
                "give either a traffic percentage for the new model or the whole traffic "
                "split, not both"
            )
        if shadow_of is not None and (traffic_percentage is not None or traffic_split is not None):
            raise InvalidTraffic(
                f"a shadow of deployed model {shadow_of} takes no traffic (it gets a copy of "
                f"{shadow_of}'s requests): give no traffic percentage or split with it; end the "
                "shadow later to give it traffic"
            )
        ref = parse_reference(model) if version is None else with_selector(model, version)
        with self.store.transaction() as conn:
            _rows.endpoint_row(conn, endpoint)
        target = self.registry.get_version(ref.model, ref.version or ref.alias)
        alias = None if (pin or ref.version is not None) else ref.alias or DEFAULT
        if self.check_loads:
            self._check_loads(target)
        with self.store.transaction(write=True) as conn:
            row = _rows.endpoint_row(conn, endpoint, lock=True)
            active = _rows.active(conn, [row.id])
            current = {str(d.id): d.traffic for d in active}
            shadows = _shadows(active)
            mirrored = None
            if shadow_of is not None:
                mirrored = _mirrored(endpoint, current, shadows, str(shadow_of))
                split: dict[str, int] = {}
            elif traffic_split is not None:
                # Checked in the caller's terms, "0" being the new model, before it exists.
                split = traffic.check_split(traffic_split, [*current, traffic.NEW])
            else:
                if traffic_percentage is None:
                    traffic_percentage = 0 if any(current.values()) else 100
                split = traffic.allocate(current, traffic.NEW, traffic_percentage)
            _no_traffic_to_shadows(split, shadows)
            new_id = _rows.insert_deployed(
                conn,
                {
                    "endpoint_id": row.id,
                    "model_name": target.model,
                    "version": target.version_id,
                    "alias": alias,
                    "traffic": 0,
                    "deployed_by": self._actor(),
                    "shadow_of": None if mirrored is None else int(mirrored),
                },
            )
            split = {new_id if k == traffic.NEW else k: v for k, v in split.items()}
            _rows.set_traffic(conn, split)
            _rows.touch(conn, row.id)
        found = self.get(endpoint).deployed_model(new_id)
        assert found is not None
        return found

    def undeploy(
        self,
        endpoint: str,
        deployed_model_id: str,
        *,
        traffic_split: Mapping[str, int] | None = None,
    ) -> Endpoint:
        """Stop serving a deployed model; the endpoint afterwards.

        Its traffic goes to the others in proportion to what they had, or as
        `traffic_split` (over the remaining models) says.
        """
        check_endpoint_name(endpoint)
        removed = str(deployed_model_id)
        with self.store.transaction(write=True) as conn:
            row = _rows.endpoint_row(conn, endpoint, lock=True)
            active = _rows.active(conn, [row.id])
            current = {str(d.id): d.traffic for d in active}
            if removed not in current:
                raise _not_found(endpoint, removed, current)
            shadows = _shadows(active)
            mirrors = [k for k, of in shadows.items() if of == removed]
            if mirrors:
                raise ServingConflict(
                    f"deployed model {removed} of endpoint {endpoint!r} has shadows mirroring "
                    f"its traffic ({', '.join(mirrors)}); undeploy them first (`conveyor "
                    f"endpoints undeploy {endpoint} {mirrors[0]}`)"
                )
            rest = [k for k in current if k != removed]
            if traffic_split is not None:
                split = traffic.check_split(traffic_split, rest)
            else:
                split = traffic.unallocate(current, removed)
            _no_traffic_to_shadows(split, shadows)
            _rows.undeploy(conn, removed)
            _rows.set_traffic(conn, split)
            _rows.touch(conn, row.id)
        return self.get(endpoint)

    def set_traffic(
        self,
        endpoint: str,
        traffic_split: Mapping[str, int] | None = None,
        *,
        deployed_model_id: str | None = None,
        traffic_percentage: int | None = None,
    ) -> Endpoint:
        """Replace the endpoint's traffic split (percentages adding up to 100), or give one
        deployed model `traffic_percentage` and scale the others to share the rest in
        proportion, as a deployment does. Read and written in one transaction. A shadow
        takes no traffic: end it first (`end_shadow`)."""
        check_endpoint_name(endpoint)
        if (traffic_split is None) == (deployed_model_id is None or traffic_percentage is None):
            raise InvalidTraffic(
                "give either the whole traffic split, or a deployed model id with its "
                "traffic percentage"
            )
        with self.store.transaction(write=True) as conn:
            row = _rows.endpoint_row(conn, endpoint, lock=True)
            active = _rows.active(conn, [row.id])
            current = {str(d.id): d.traffic for d in active}
            if traffic_split is not None:
                split = traffic.check_split(traffic_split, list(current))
            else:
                split = _reallocated(endpoint, current, str(deployed_model_id), traffic_percentage)
            _no_traffic_to_shadows(split, _shadows(active))
            _rows.set_traffic(conn, split)
            _rows.touch(conn, row.id)
        return self.get(endpoint)

    def end_shadow(self, endpoint: str, deployed_model_id: str) -> Endpoint:
        """The shadow `deployed_model_id` stops mirroring and becomes an ordinary deployed
        model at 0 %, to be given traffic (a rollout's next step); the endpoint afterwards.
        ServingConflict when it is not a shadow."""
        check_endpoint_name(endpoint)
        wanted = str(deployed_model_id)
        with self.store.transaction(write=True) as conn:
            row = _rows.endpoint_row(conn, endpoint, lock=True)
            active = _rows.active(conn, [row.id])
            current = {str(d.id): d.traffic for d in active}
            if wanted not in current:
                raise _not_found(endpoint, wanted, current)
            if wanted not in _shadows(active):
                raise ServingConflict(
                    f"deployed model {wanted} of endpoint {endpoint!r} is not a shadow; it "
                    "takes traffic as the split says (`conveyor endpoints traffic`)"
                )
            _rows.end_shadow(conn, wanted)
            _rows.touch(conn, row.id)
        return self.get(endpoint)

    def answering(self, endpoint: str) -> DeployedModel:
        """The deployed model that answers a single caller (`Client.predict` without a
        server): the one with the largest share of the traffic, the first of equals."""
        found = self.get(endpoint)
        serving = [d for d in found.deployed_models if d.traffic_percentage > 0]
        if not serving:
            raise ServingConflict(
                f"endpoint {endpoint!r} has no deployed model taking traffic; deploy one first "
                f"(`conveyor endpoints deploy {endpoint} MODEL@VERSION`)"
            )
        chosen = max(serving, key=lambda d: d.traffic_percentage)
        if chosen.version_id is None:
            raise ServingConflict(
                f"deployed model {chosen.id} of endpoint {endpoint!r} follows alias "
                f"{chosen.alias!r}, which no version of {chosen.model!r} holds any more"
            )
        return chosen

    def deployments_of(self, model: str) -> list[DeployedModel]:
        """The live deployments of a registered model, on every endpoint."""
        with self.store.transaction() as conn:
            rows = _rows.active_of_model(conn, model)
        return [self._deployed(d, self._aliases(d.model_name)) for d in rows]

    def generations(self) -> dict[str, int]:
        """Each endpoint's generation: what a running server compares to notice changes."""
        with self.store.transaction() as conn:
            return _rows.generations(conn)

    def delete_guard(self, version: ModelVersion) -> str | None:
        """The registry's delete guard: why `version` must stay, while an endpoint serves it
        (pinned, or through an alias it holds)."""
        for d in self.deployments_of(version.model):
            if d.version_id == version.version_id or (
                d.alias is None and d.deployed_version == version.version_id
            ):
                how = f" through alias {d.alias}" if d.alias else ""
                return (
                    f"deployed to endpoint {d.endpoint} as deployed model {d.id}{how}; "
                    f"undeploy it with `conveyor endpoints undeploy {d.endpoint} {d.id}`"
                )
        return None

    # Plumbing

    def _check_loads(self, version: ModelVersion) -> None:
        from conveyor.serving.runtimes.errors import ModelLoadError

        try:
            self.loader.load(version)
        except ModelLoadError as exc:
            raise UndeployableModel(f"{version.reference} cannot be served: {exc}") from exc

    def _endpoint(self, row: Any, deployed: list[Any]) -> Endpoint:
        aliases: dict[str, dict[str, int]] = {}
        models = []
        for d in deployed:
            if d.alias is not None and d.model_name not in aliases:
                aliases[d.model_name] = self._aliases(d.model_name)
            models.append(self._deployed(d, aliases.get(d.model_name, {})))
        return Endpoint(
            name=row.name,
            description=row.description,
            labels=dict(row.labels),
            log_sample_rate=row.log_sample_rate,
            deployed_models=models,
            traffic_split={m.id: m.traffic_percentage for m in models},
            generation=row.generation,
            created_by=row.created_by,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    def _deployed(self, d: Any, aliases: Mapping[str, int]) -> DeployedModel:
        return DeployedModel(
            id=str(d.id),
            endpoint=d.endpoint,
            model=d.model_name,
            alias=d.alias,
            deployed_version=d.version,
            version_id=aliases.get(d.alias) if d.alias else d.version,
            traffic_percentage=d.traffic,
            deployed_by=d.deployed_by,
            deployed_at=d.deployed_at,
            shadow_of=None if d.shadow_of is None else str(d.shadow_of),
        )

    def _aliases(self, model: str) -> dict[str, int]:
        from conveyor.registry import ModelNotFound

        try:
            return self.registry.get_model(model).aliases
        except ModelNotFound:
            return {}

    def _actor(self) -> str:
        return self.user or current_user()


def _reallocated(
    endpoint: str, current: dict[str, int], wanted: str, percentage: Any
) -> dict[str, int]:
    """`current` with `wanted` at `percentage` and the others sharing the rest as they did."""
    if wanted not in current:
        raise _not_found(endpoint, wanted, current)
    others = {k: v for k, v in current.items() if k != wanted}
    if any(others.values()):  # their shares as if `wanted` were not deployed
        others = traffic.unallocate(current, wanted)
    return traffic.allocate(others, wanted, percentage)


def _not_found(endpoint: str, wanted: str, current: Mapping[str, int]) -> DeployedModelNotFound:
    return DeployedModelNotFound(
        f"endpoint {endpoint!r} has no deployed model {wanted!r}; deployed: "
        f"{', '.join(current) or 'none'} (`conveyor endpoints show {endpoint}`)"
    )


def _shadows(active: list[Any]) -> dict[str, str]:
    """The shadows among an endpoint's deployed models: shadow id -> the id it mirrors."""
    return {str(d.id): str(d.shadow_of) for d in active if d.shadow_of is not None}


def _mirrored(
    endpoint: str, current: Mapping[str, int], shadows: Mapping[str, str], wanted: str
) -> str:
    """`wanted`, the deployed model a new shadow is to mirror, once checked."""
    if wanted not in current:
        raise _not_found(endpoint, wanted, current)
    if wanted in shadows:
        raise InvalidTraffic(
            f"deployed model {wanted} of endpoint {endpoint!r} is itself a shadow (of "
            f"{shadows[wanted]}); a shadow mirrors a model that answers clients: shadow "
            f"{shadows[wanted]} instead"
        )
    return wanted


def _no_traffic_to_shadows(split: Mapping[str, int], shadows: Mapping[str, str]) -> None:
    for deployed_id, percent in split.items():
        if percent and deployed_id in shadows:
            raise InvalidTraffic(
                f"deployed model {deployed_id} is a shadow of {shadows[deployed_id]} and takes "
                f"no traffic, not {percent}%; end the shadow first (`Endpoints.end_shadow`), "
                "then give it traffic"
            )


def _labels(labels: Mapping[str, str] | None) -> dict[str, str]:
    try:
        return check_labels(labels)
    except InvalidLabels as exc:
        raise InvalidEndpoint(str(exc).replace("a model holds", "an endpoint holds")) from None
