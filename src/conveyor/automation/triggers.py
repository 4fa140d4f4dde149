"""`Triggers`: event-driven runs (continuous training), kept in the metadata store: new data, a
monitoring alert, a finished run or a webhook call fires a registered pipeline.

    from conveyor.home import open_home

    with open_home() as home:
        home.triggers.create(
            "new-spans", "new_data",
            {"pattern": "data/spans/span-*", "parameter": "data_path"},
            pipeline_job("churn-train@prod"),
        )
        home.triggers.create("retrain", "webhook", {}, pipeline_job("churn-train@prod"))
        home.triggers.fire("retrain", {"epochs": 3}, key="build-41")

Every event a trigger sees becomes one fire of it, under the event's key (the object with
its size and stamp, `alert:<id>`, `run:<run id>`, the call's key), so an event is seen
once, ever: across scheduler restarts, and however many schedulers share the store. A
fire is QUEUED (then CLAIMED and STARTED by a scheduler), SKIPPED (the object was there
when the trigger was created; the event came while the trigger was paused, or within a
monitoring trigger's cooldown) or FAILED (it could not start: the reason). Everything
knowable is checked when a trigger is written: the pattern can be listed, the monitor
exists, the pipeline version takes the parameters the event will give.

`claim_due` is the scheduler's half: each round it looks for new events of each ACTIVE
trigger, records them, and claims the QUEUED fires that may start, oldest first, at most
`max_concurrent_run_count` of one trigger at a time (default 1: new spans train in turn).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Row

from conveyor.automation import (
    _fire_rows,
    _trigger_rows,
    alert_events,
    new_data,
    requests,
    run_events,
)
from conveyor.automation.errors import AutomationConflict, AutomationUsageError
from conveyor.automation.fires import TRIGGER, Claim, resolve
from conveyor.automation.schedule_records import FireRecord, FireState
from conveyor.automation.schedules import check_name, utc_now
from conveyor.automation.trigger_records import (
    TriggerEvent,
    TriggerKind,
    TriggerRecord,
    TriggerState,
)
from conveyor.errors import ConveyorError
from conveyor.registry.history import current_user
from conveyor.store.metadata import MetadataStore

if TYPE_CHECKING:
    from conveyor.automation.pipelines import PipelineRegistry
    from conveyor.monitoring.monitors import Monitors

log = logging.getLogger("conveyor.automation")

RUN_LOOKBACK = timedelta(days=7)
"""How long before the trigger last saw an event (or was created) a run may have started
and still count when it ends."""
MAX_KEY = 255
LIMIT = "max_concurrent_run_count"
PRESENT = "present when the trigger was created"
WHILE_PAUSED = "came while the trigger was paused"


class Triggers:
    """The triggers of a metadata store; `pipelines` and `monitors` check and resolve what
    they fire and follow; `now` is the clock (tests pass their own)."""

    def __init__(
        self,
        store: MetadataStore,
        pipelines: PipelineRegistry,
        monitors: Monitors | None = None,
        *,
        user: str | None = None,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store = store
        self.pipelines = pipelines
        self.monitors = monitors
        self.user = user
        self.now = now

    def acting_as(self, user: str) -> Triggers:
        return Triggers(self.store, self.pipelines, self.monitors, user=user, now=self.now)

    # The resource

    def create(
        self,
        name: str,
        kind: TriggerKind | str,
        event: Mapping[str, Any],
        request: Mapping[str, Any],
    ) -> TriggerRecord:
        """A new ACTIVE trigger of `kind` with its `event` settings, firing `request` (a
        pipeline job); `AutomationConflict` when the name is taken. A new_data trigger
        records the objects there now as SKIPPED: only those that come later fire."""
        check_name(name)
        kind = _kind(kind)
        settings, extra = self._event(kind, event)
        checked = self._request(request, extra, kind)
        if kind == TriggerKind.RUN_FINISHED:
            self._no_loop(settings["pipeline"], checked)
        present = new_data.scan(settings) if kind == TriggerKind.NEW_DATA else []
        at = self.now()
        values = {
            "name": name,
            "kind": kind.value,
            "event": settings,
            "request": checked,
            "state": TriggerState.ACTIVE.value,
            "created_by": self.user or current_user(),
            "created_at": at,
            "updated_at": at,
        }
        with self.store.transaction(write=True) as conn:
            trigger_id = _trigger_rows.insert_trigger(conn, values)
            for seen in present:
                _insert(conn, trigger_id, seen, at, FireState.SKIPPED, PRESENT)
        return self.get(name)

    def get(self, name: str) -> TriggerRecord:
        with self.store.transaction() as conn:
            return _trigger_rows.record(_trigger_rows.row(conn, check_name(name)))

    def list(self) -> list[TriggerRecord]:
        with self.store.transaction() as conn:
            return [_trigger_rows.record(found) for found in _trigger_rows.rows(conn)]

    def pause(self, name: str) -> TriggerRecord:
        """Fire nothing until `resume`; fires waiting to start are SKIPPED."""
        with self.store.transaction(write=True) as conn:
            found = _trigger_rows.row(conn, check_name(name), lock=True)
            if found.state == TriggerState.ACTIVE:
                _trigger_rows.change(conn, found.id, self.now(), state=TriggerState.PAUSED.value)
                _trigger_rows.skip_queued(conn, found.id, "the trigger was paused first")
        return self.get(name)

    def resume(self, name: str) -> TriggerRecord:
        """Fire again, on the events that come from now on: those that came while it was
        paused are recorded SKIPPED (an error when they cannot be read: the pattern, the
        monitor)."""
        found = self._row(name)
        if found.state == TriggerState.PAUSED:
            at = self.now()
            missed = self._new_events(found)
            with self.store.transaction(write=True) as conn:
                current = _trigger_rows.row(conn, name, lock=True)
                for seen in missed:
                    _insert(conn, current.id, seen, at, FireState.SKIPPED, WHILE_PAUSED)
                _trigger_rows.change(conn, current.id, at, state=TriggerState.ACTIVE.value)
        return self.get(name)

    def delete(self, name: str) -> None:
        """Delete a trigger and the record of its fires; runs it started stay."""
        with self.store.transaction(write=True) as conn:
            found = _trigger_rows.row(conn, check_name(name), lock=True)
            _fire_rows.delete_of(conn, TRIGGER, found.id)
            _trigger_rows.delete(conn, found.id)

    def fires(self, name: str, *, limit: int | None = 100) -> list[FireRecord]:
        """Its fires, newest first: queued, started, ended, skipped or failed, and why."""
        with self.store.transaction() as conn:
            found = _trigger_rows.row(conn, check_name(name))
            rows = _fire_rows.of_source(conn, TRIGGER, found.id, limit=limit)
        return [_fire_rows.record(row, name) for row in rows]

    def fire(
        self, name: str, parameters: Mapping[str, Any] | None = None, *, key: str | None = None
    ) -> FireRecord:
        """Call a webhook trigger: a QUEUED fire with `parameters` over the request's,
        checked now against the pipeline's inputs (`AutomationUsageError` naming
        `parameters`), which the scheduler starts. A `key` seen before answers the fire it
        made, unchanged (`AutomationConflict` if that fire had other parameters); without
        one, every call is a fire. A paused trigger records the call SKIPPED."""
        found = self._row(name)
        if found.kind != TriggerKind.WEBHOOK:
            raise AutomationUsageError(
                f"trigger {name!r} fires on {found.kind}; only a webhook trigger is fired by a call"
            )
        given = _parameters(parameters)
        occurrence = f"key:{_key(key)}" if key is not None else f"call:{uuid.uuid4().hex}"
        with self.store.transaction() as conn:
            before = _trigger_rows.by_occurrence(conn, found.id, occurrence)
        if before is not None:
            return _same(before, given, name, key)
        self._check_call(found, given)
        at = self.now()
        state, reason = FireState.QUEUED, None
        if found.state != TriggerState.ACTIVE:
            state, reason = FireState.SKIPPED, "the trigger is paused"
        details = {"key": key} if key is not None else {}
        seen = TriggerEvent(occurrence, details, given)
        with self.store.transaction(write=True) as conn:
            fire_id = _insert(conn, found.id, seen, at, state, reason)
            made = _trigger_rows.by_occurrence(conn, found.id, occurrence)
        if fire_id is None:  # the same key, in a call a moment before
            return _same(made, given, name, key)
        return _fire_rows.record(made, name)

    def delete_guard(self, pipeline: str, version: int | None) -> str | None:
        """Why the pipeline (or one version of it) cannot be deleted: a trigger runs it."""
        for trigger in self.list():
            reference = requests.pipeline_of(trigger.request)
            if reference is None or reference.partition("@")[0] != pipeline:
                continue
            if version is None or self._names(reference, version):
                return (
                    f"trigger {trigger.name!r} runs {reference}; delete it first "
                    f"(`conveyor triggers delete {trigger.name}`)"
                )
        return None

    def monitor_guard(self, monitor_name: str) -> str | None:
        """Why monitor `monitor_name` cannot be deleted: a trigger follows its alerts."""
        for trigger in self.list():
            if (
                trigger.kind == TriggerKind.MONITORING_ALERT
                and trigger.event["monitor"] == monitor_name
            ):
                return (
                    f"trigger {trigger.name!r} follows its alerts; delete that trigger first "
                    f"(`conveyor triggers delete {trigger.name}`)"
                )
        return None

    # The scheduler's half

    def claim_due(self, owner: str, ttl: timedelta) -> list[Claim]:
        """Record the new events of every ACTIVE trigger, and claim for `owner` the fires
        that may start now. A trigger whose events cannot be read this round (a bucket
        unreachable, its monitor deleted) is logged and tried again the next."""
        at = self.now()
        with self.store.transaction() as conn:
            triggers = _trigger_rows.active(conn)
        claims: list[Claim] = []
        for found in triggers:
            try:
                self._record(found, self._new_events(found), at)
            except Exception as error:  # any filesystem's or driver's, not only ours
                log.warning("trigger %s: its events cannot be read now: %s", found.name, error)
            claims.extend(self._claim(found.id, at, owner, ttl))
        return claims

    def _new_events(self, found: Row[Any]) -> list[TriggerEvent]:
        """The events of a trigger it has not seen (no fire of it has their key)."""
        kind, event = TriggerKind(found.kind), found.event
        if kind == TriggerKind.NEW_DATA:
            return self._unseen(found.id, new_data.scan(event))
        if kind == TriggerKind.MONITORING_ALERT:
            if self.monitors is None:
                raise AutomationUsageError("this home has no monitors")
            return self._unseen(found.id, alert_events.scan(event, self.monitors, found.created_at))
        if kind == TriggerKind.RUN_FINISHED:
            with self.store.transaction() as conn:
                latest = _trigger_rows.latest_seen(conn, found.id)
            since = max(found.created_at, latest or found.created_at) - RUN_LOOKBACK
            runs = run_events.scan(event, self.store, since, found.created_at)
            with self.store.transaction() as conn:
                known = _trigger_rows.seen(conn, found.id, map(run_events.occurrence, runs))
            return [
                run_events.to_event(event, self.store.get_run(run.run_id))
                for run in runs
                if run_events.occurrence(run) not in known
            ]
        return []  # a webhook's events are its calls

    def _unseen(self, trigger_id: int, events: list[TriggerEvent]) -> list[TriggerEvent]:
        with self.store.transaction() as conn:
            known = _trigger_rows.seen(conn, trigger_id, (e.occurrence for e in events))
        return [e for e in events if e.occurrence not in known]

    def _record(self, found: Row[Any], events: list[TriggerEvent], at: datetime) -> None:
        """Write the new events of an ACTIVE trigger as QUEUED fires (FAILED when one cannot
        fire; SKIPPED within a monitoring trigger's cooldown)."""
        if not events:
            return
        cooldown = None
        if found.kind == TriggerKind.MONITORING_ALERT:
            cooldown = alert_events.cooldown(found.event)
        with self.store.transaction(write=True) as conn:
            current = _trigger_rows.by_id(conn, found.id, lock=True)
            if current is None or current.state != TriggerState.ACTIVE:
                return  # deleted or paused meanwhile
            before = _trigger_rows.last_fired(conn, found.id) if cooldown is not None else None
            last = (before.scheduled_time, before.id) if before is not None else None
            for seen in events:
                state, reason = FireState.QUEUED, seen.failure
                if reason is not None:
                    state = FireState.FAILED
                elif cooldown is not None and last is not None and at - last[0] < cooldown:
                    state = FireState.SKIPPED
                    reason = (
                        f"within the cooldown {found.event['cooldown']} of fire {last[1]} "
                        f"({last[0].isoformat(timespec='seconds')})"
                    )
                fire_id = _insert(conn, found.id, seen, at, state, reason)
                if fire_id is not None and state == FireState.QUEUED:
                    last = (at, fire_id)

    def _claim(self, trigger_id: int, at: datetime, owner: str, ttl: timedelta) -> list[Claim]:
        """Start the oldest QUEUED fires of one trigger while it has room for them."""
        claims: list[Claim] = []
        while True:
            with self.store.transaction() as conn:
                found = _trigger_rows.by_id(conn, trigger_id)
                queued = _fire_rows.oldest_queued(conn, TRIGGER, trigger_id)
                active = _fire_rows.count(conn, TRIGGER, trigger_id, _fire_rows.ACTIVE)
            if not _has_room(found, active) or queued is None:
                return claims
            failure = None
            try:
                resolved = resolve(found.request, self.pipelines, queued.event.get("parameters"))
            except ConveyorError as error:  # a tag gone, parameters the version refuses
                resolved, failure = None, str(error)
            with self.store.transaction(write=True) as conn:
                current = _trigger_rows.by_id(conn, trigger_id, lock=True)
                active = _fire_rows.count(conn, TRIGGER, trigger_id, _fire_rows.ACTIVE)
                if not _has_room(current, active):
                    return claims  # another scheduler started one meanwhile
                waiting = [FireState.QUEUED.value]
                if resolved is None:
                    _fire_rows.move(
                        conn, queued.id, waiting, state=FireState.FAILED.value, error=failure
                    )
                    continue
                moved = _fire_rows.move(
                    conn,
                    queued.id,
                    waiting,
                    state=FireState.CLAIMED.value,
                    run_id=resolved.run_id,
                    event={**queued.event, "request": resolved.request},
                    claimed_by=owner,
                    claim_expires=at + ttl,
                )
            if moved:
                claims.append(Claim(queued.id, TRIGGER, found.name, resolved.run_id))

    # Checks

    def _row(self, name: str) -> Row[Any]:
        with self.store.transaction() as conn:
            return _trigger_rows.row(conn, check_name(name))

    def _event(self, kind: TriggerKind, event: Any) -> tuple[dict[str, Any], set[str]]:
        """The settings of `kind` as stored, and the parameters its events give the run."""
        if not isinstance(event, Mapping):
            raise AutomationUsageError("event: must be an object of the kind's settings")
        settings = dict(event)
        limit = _count(settings.pop(LIMIT, 1), f"event.{LIMIT}")
        if kind == TriggerKind.NEW_DATA:
            checked = new_data.check(settings)
            extra = new_data.parameters_of(checked)
        elif kind == TriggerKind.MONITORING_ALERT:
            checked, extra = alert_events.check(settings, self.monitors), set()
        elif kind == TriggerKind.RUN_FINISHED:
            checked = run_events.check(settings)
            extra = set(checked["parameters"])
        else:
            checked = _webhook(settings)
            extra = set(checked["parameters"])
        return {**checked, LIMIT: limit}, extra

    def _request(self, request: Any, extra: set[str], kind: TriggerKind) -> dict[str, Any]:
        if isinstance(request, Mapping) and requests.MONITORING_JOB in request:
            raise AutomationUsageError(
                "request: a trigger runs a pipeline ('pipeline_job'); run a monitor's jobs "
                "on a schedule (`conveyor schedules create --monitor`)"
            )
        if kind == TriggerKind.WEBHOOK and not extra:
            extra = self._inputs(request)  # any of them may come with a call
        return requests.check(request, self.pipelines, None, extra_parameters=frozenset(extra))

    def _inputs(self, request: Any) -> set[str]:
        """The parameters of the pipeline a (well-formed) request names; none otherwise:
        `requests.check` then says what is wrong with it."""
        try:
            reference = request[requests.PIPELINE_JOB]["pipeline"]
            spec = self.pipelines.spec(self.pipelines.resolve(reference).reference)
        except (ConveyorError, KeyError, TypeError):
            return set()
        return set(spec["root"].get("inputDefinitions", {}).get("parameters", {}))

    def _no_loop(self, followed: str, request: dict[str, Any]) -> None:
        """Refuse a run_finished trigger whose runs would each start the next."""
        reference = requests.pipeline_of(request) or ""
        spec = self.pipelines.spec(self.pipelines.resolve(reference).reference)
        if spec.get("pipelineInfo", {}).get("name") == followed:
            raise AutomationUsageError(
                f"event.pipeline: {reference} runs as {followed!r} too: each of its runs "
                "would start the next, forever"
            )

    def _check_call(self, found: Row[Any], given: dict[str, Any]) -> None:
        allowed = found.event.get("parameters") or []
        unknown = sorted(set(given) - set(allowed)) if allowed else []
        if unknown:
            raise AutomationUsageError(
                f"parameters: {unknown[0]!r} is not one the trigger {found.name!r} takes "
                f"(it takes: {', '.join(allowed)})"
            )
        body = found.request[requests.PIPELINE_JOB]
        version = self.pipelines.resolve(body["pipeline"])
        requests.check_parameters(
            self.pipelines, version.reference, {**body["parameters"], **given}, "parameters"
        )

    def _names(self, reference: str, version: int) -> bool:
        try:
            return self.pipelines.resolve(reference).version == version
        except ConveyorError:
            return False


def _has_room(trigger: Row[Any] | None, active: int) -> bool:
    """Whether a trigger (None: deleted) may start one more run, `active` being under way."""
    return (
        trigger is not None
        and trigger.state == TriggerState.ACTIVE
        and active < trigger.event.get(LIMIT, 1)
    )


def _insert(
    conn: Connection,
    trigger_id: int,
    seen: TriggerEvent,
    at: datetime,
    state: FireState,
    reason: str | None,
) -> int | None:
    """Record an event as a fire of the trigger; None when it has one already."""
    return _fire_rows.insert(
        conn,
        {
            "source": TRIGGER,
            "source_id": trigger_id,
            "occurrence": seen.occurrence,
            "scheduled_time": at,
            "state": state.value,
            "event": {**seen.details, "parameters": seen.parameters},
            "error": reason,
        },
    )


def _same(before: Row[Any], given: dict[str, Any], name: str, key: str | None) -> FireRecord:
    """The fire a key made already, when the call repeats it."""
    if before.event.get("parameters", {}) != given:
        raise AutomationConflict(
            f"key: {key!r} made fire {before.id} of trigger {name!r} with other parameters; "
            "give other parameters a new key"
        )
    return _fire_rows.record(before, name)


def _kind(kind: Any) -> TriggerKind:
    text = kind.replace("-", "_") if isinstance(kind, str) else kind
    try:
        return TriggerKind(text)
    except ValueError:
        known = ", ".join(k.value for k in TriggerKind)
        raise AutomationUsageError(f"kind: {kind!r} is not one of {known}") from None


def _webhook(event: dict[str, Any]) -> dict[str, Any]:
    names = event.get("parameters") or []
    if set(event) - {"parameters"} or not (
        isinstance(names, list) and all(isinstance(n, str) and n for n in names)
    ):
        raise AutomationUsageError(
            "event: a webhook trigger takes only 'parameters': the names a call may give "
            "(none: any parameter of the pipeline)"
        )
    return {"parameters": sorted(set(names))}


def _parameters(parameters: Any) -> dict[str, Any]:
    if parameters is None:
        return {}
    if not isinstance(parameters, Mapping) or not all(isinstance(k, str) for k in parameters):
        raise AutomationUsageError("parameters: must be an object of name to value")
    return dict(parameters)


def _key(key: Any) -> str:
    if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY or not key.isprintable():
        raise AutomationUsageError(
            f"key: 1 to {MAX_KEY} printable characters (an idempotency key, such as a build id)"
        )
    return key


def _count(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise AutomationUsageError(f"{field}: must be a whole number of at least 1")
    return value
