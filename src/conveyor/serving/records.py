"""What the endpoints API returns: plain, frozen dataclasses that turn into JSON.

They hold no database session: keep them, pass them between threads, serve them over REST.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from conveyor.store.metadata.records import to_json


class _Record:
    def to_json(self) -> dict[str, Any]:
        return to_json(self)


@dataclasses.dataclass(frozen=True)
class DeployedModel(_Record):
    """A registered model served by an endpoint with a share of its traffic.

    `alias` None: pinned to `deployed_version`. `alias` set: the deployment follows the
    alias, and `version_id` is the version holding it when the record was read (None
    when the alias no longer exists); `deployed_version` is the one that held it at
    deployment. `id` is a string of digits, as Vertex AI's deployed model ids.
    `shadow_of` is the id of the deployed model whose traffic this one mirrors (a shadow
    takes no traffic; its answers are logged and compared, never returned), else None.
    """

    id: str
    endpoint: str
    model: str
    alias: str | None
    deployed_version: int
    version_id: int | None
    traffic_percentage: int
    deployed_by: str
    deployed_at: datetime
    shadow_of: str | None = None

    @property
    def reference(self) -> str:
        """What the deployment serves: `churn@production` (followed) or `churn@3` (pinned)."""
        return f"{self.model}@{self.alias or self.deployed_version}"

    @property
    def follows_alias(self) -> bool:
        return self.alias is not None


@dataclasses.dataclass(frozen=True)
class Endpoint(_Record):
    """An endpoint, its deployed models (oldest first) and its traffic split (id -> percent).

    `log_sample_rate` is the share of requests written to the prediction log (None: the
    server's default). `generation` grows by one at every change.
    """

    name: str
    description: str | None
    labels: dict[str, str]
    log_sample_rate: float | None
    deployed_models: list[DeployedModel]
    traffic_split: dict[str, int]
    generation: int
    created_by: str
    created_at: datetime
    updated_at: datetime

    def deployed_model(self, deployed_model_id: str) -> DeployedModel | None:
        return next((d for d in self.deployed_models if d.id == str(deployed_model_id)), None)
