"""`RemoteEndpoints`: the prediction endpoints of a Conveyor server, with `Endpoints`'
methods over `/api/v1/endpoints` (docs/api.md), and its predictions over Vertex AI's
`POST /v1/endpoints/{endpoint}:predict` (docs/serving.md), returning the same records."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conveyor.remote.records import rebuild
from conveyor.remote.server import Answers, Server, path
from conveyor.serving.errors import (
    EndpointNotFound,
    ServingConflict,
    ServingUsageError,
)
from conveyor.serving.records import DeployedModel, Endpoint
from conveyor.store.metadata.errors import NotFound

ROOT = "/api/v1/endpoints"

_ANSWERS = Answers(usage=ServingUsageError, not_found=NotFound, conflict=ServingConflict)
_ONE = Answers(usage=ServingUsageError, not_found=EndpointNotFound, conflict=ServingConflict)
"""A request about one endpoint and nothing else: its 404 is the endpoint's."""


class RemoteEndpoints:
    """The endpoints of `server`: what `Endpoints` does, over REST."""

    def __init__(self, server: Server) -> None:
        self.server = server

    def create(
        self,
        name: str,
        *,
        description: str | None = None,
        labels: Mapping[str, str] | None = None,
        log_sample_rate: float | None = None,
    ) -> Endpoint:
        body = {
            "name": name,
            "description": description,
            "labels": labels,
            "log_sample_rate": log_sample_rate,
        }
        return self._endpoint("POST", ROOT, body=body)

    def get(self, name: str) -> Endpoint:
        return self._endpoint("GET", path(ROOT, name), answers=_ONE)

    def list(self) -> list[Endpoint]:
        found = self.server.call("GET", ROOT, answers=_ANSWERS)
        return [rebuild(Endpoint, e) for e in found["endpoints"]]

    def update(self, name: str, **changes: Any) -> Endpoint:
        """Change the description, labels (replaced whole) or log sample rate given."""
        return self._endpoint("PATCH", path(ROOT, name), body=changes, answers=_ONE)

    def delete(self, name: str) -> None:
        self.server.call("DELETE", path(ROOT, name), answers=_ANSWERS)

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
        """Deploy `churn@3`, `churn@production` or `churn` (or `model` at `version`)."""
        body: dict[str, Any] = {"model": model if version is None else f"{model}@{version}"}
        body["pin"] = pin
        given = {
            "traffic_percentage": traffic_percentage,
            "traffic_split": traffic_split,
            "shadow_of": shadow_of,
        }
        body.update({k: v for k, v in given.items() if v is not None})
        made = self.server.call(
            "POST", path(ROOT, endpoint, suffix=":deployModel"), body=body, answers=_ANSWERS
        )
        return rebuild(DeployedModel, made)

    def undeploy(
        self,
        endpoint: str,
        deployed_model_id: str,
        *,
        traffic_split: Mapping[str, int] | None = None,
    ) -> Endpoint:
        body = {"deployed_model_id": str(deployed_model_id), "traffic_split": traffic_split}
        return self._endpoint("POST", path(ROOT, endpoint, suffix=":undeployModel"), body=body)

    def set_traffic(
        self,
        endpoint: str,
        traffic_split: Mapping[str, int] | None = None,
        *,
        deployed_model_id: str | None = None,
        traffic_percentage: int | None = None,
    ) -> Endpoint:
        given = {
            "traffic_split": traffic_split,
            "deployed_model_id": None if deployed_model_id is None else str(deployed_model_id),
            "traffic_percentage": traffic_percentage,
        }
        body = {k: v for k, v in given.items() if v is not None}
        return self._endpoint("POST", path(ROOT, endpoint, suffix=":setTraffic"), body=body)

    def predict(self, endpoint: str, body: Mapping[str, Any], *, timeout: float) -> dict[str, Any]:
        """The server's Vertex AI prediction: `{"predictions": [...], "deployedModelId",
        ...}`."""
        return self.server.call(
            "POST",
            path("/v1/endpoints", endpoint, suffix=":predict"),
            body=body,
            answers=_ONE,
            timeout=timeout,
        )

    def _endpoint(self, method: str, where: str, **options: Any) -> Endpoint:
        options.setdefault("answers", _ANSWERS)
        return rebuild(Endpoint, self.server.call(method, where, **options))
