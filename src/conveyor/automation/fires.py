"""Fires: an occurrence claimed, resolved into what it runs, started, and how it ended.

A `Claim` is a fire a scheduler holds and must start: its request resolved at the claim
(the pipeline version a tag named then, the parameters bound with their defaults), and the
run id chosen before the run exists. The run id is the fence: should a scheduler die after
it started the run but before it could say so, the scheduler that takes the claim over
starts it again under the same id, and the store refuses the second run (`RunExists`).

`Fires` is what the faces and the launched processes read and write: the fires of a
schedule or trigger, a fire started, a fire ended.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import TYPE_CHECKING, Any

from conveyor.automation import _fire_rows, requests
from conveyor.automation.errors import AutomationUsageError
from conveyor.automation.schedule_records import FireRecord, FireState
from conveyor.pipelines.runner import new_run_id
from conveyor.store.metadata import MetadataStore, NotFound

if TYPE_CHECKING:
    from conveyor.automation.pipelines import PipelineRegistry

SCHEDULE = "schedule"
TRIGGER = "trigger"
CLAIM_SECONDS = 60
"""How long a claim lives unless renewed: a fired process renews its fire's claim every
third of it, so a claim that runs out means the process (and its scheduler) is gone."""


@dataclasses.dataclass(frozen=True)
class Resolved:
    """A request as it will run: `request` names the exact pipeline version and carries
    the bound parameters; `run_id` is the id its run will have (None for a monitoring job)."""

    request: dict[str, Any]
    run_id: str | None


@dataclasses.dataclass(frozen=True)
class Claim:
    """A fire this scheduler holds and starts."""

    fire_id: int
    source: str
    source_name: str
    run_id: str | None


def resolve(
    request: dict[str, Any],
    pipelines: PipelineRegistry,
    parameters: dict[str, Any] | None = None,
) -> Resolved:
    """What `request` runs now, with `parameters` (an event's) over its own; an
    `AutomationUsageError` or a not-found error when it cannot run any more (a tag
    removed, a parameter the new version does not take)."""
    body = request.get(requests.PIPELINE_JOB)
    if body is None:
        return Resolved(dict(request), None)
    version = pipelines.resolve(body["pipeline"])
    given = {**body.get("parameters", {}), **(parameters or {})}
    bound = requests.check_parameters(
        pipelines, version.reference, given, f"{requests.PIPELINE_JOB}.parameters"
    )
    spec = pipelines.spec(version.reference)
    name = spec.get("pipelineInfo", {}).get("name", version.pipeline)
    resolved = {
        requests.PIPELINE_JOB: {
            "pipeline": version.reference,
            "parameters": bound,
            "enable_caching": body.get("enable_caching"),
        }
    }
    return Resolved(resolved, new_run_id(name))


class Fires:
    """The fires of a metadata store's schedules and triggers."""

    def __init__(self, store: MetadataStore) -> None:
        self.store = store

    def get(self, fire_id: int) -> FireRecord:
        with self.store.transaction() as conn:
            found = _fire_rows.get(conn, fire_id)
        if found is None:
            raise NotFound(f"no fire {fire_id}")
        return _fire_rows.record(found, "")

    def start(self, fire_id: int) -> bool:
        """Say its run is under way; False when the fire is not CLAIMED any more."""
        with self.store.transaction(write=True) as conn:
            return _fire_rows.move(
                conn, fire_id, [FireState.CLAIMED.value], state=FireState.STARTED.value
            )

    def renew(self, fire_id: int, until: datetime) -> None:
        """Keep the claim of a fire whose process is alive until `until`."""
        with self.store.transaction(write=True) as conn:
            _fire_rows.move(conn, fire_id, _fire_rows.ACTIVE, claim_expires=until)

    def finish(
        self,
        fire_id: int,
        state: FireState,
        error: str | None = None,
        event: dict[str, Any] | None = None,
    ) -> bool:
        """Record how a fire ended (SUCCEEDED or FAILED); False when it had ended already."""
        if state not in (FireState.SUCCEEDED, FireState.FAILED):
            raise AutomationUsageError(f"state: a fire ends SUCCEEDED or FAILED, not {state}")
        values: dict[str, Any] = {"state": state.value, "error": error, "claim_expires": None}
        with self.store.transaction(write=True) as conn:
            if event is not None:
                found = _fire_rows.get(conn, fire_id)
                values["event"] = {**(found.event if found else {}), **event}
            return _fire_rows.move(conn, fire_id, _fire_rows.ACTIVE, **values)


def occurrence_of(at: datetime) -> str:
    """The key of a scheduled time: ISO 8601 in UTC, to the second."""
    return at.isoformat(timespec="seconds")
