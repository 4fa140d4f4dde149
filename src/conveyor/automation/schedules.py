"""`Schedules`: Vertex AI's `Schedule` for pipeline runs and monitoring jobs, kept in the
metadata store, and what each of their occurrences becomes.

    from conveyor.home import open_home

    with open_home() as home:
        home.schedules.create(
            "nightly", "TZ=Europe/Paris 0 3 * * *",
            pipeline_job("churn-train@prod", {"epochs": 3}),
            max_concurrent_run_count=1,
        )
        home.schedules.pause("nightly")
        home.schedules.resume("nightly", catch_up=True)

Semantics, as Vertex AI defines them: a schedule fires at the times of its cron from its
`start_time` (default: now); it COMPLETES once it has started `max_run_count` runs or once
its next time is past `end_time`. A time that comes while `max_concurrent_run_count` runs
of the schedule are under way is SKIPPED, or QUEUED when `allow_queueing` (then it starts
when a run ends). Times missed while no scheduler ran, or while the schedule was paused,
are skipped but the latest, unless `catch_up` (Conveyor's field, also `resume`'s option):
then each fires in turn. Everything knowable is checked when a schedule is written: the
cron and its time zone, the times and counts, the pipeline version and its parameters, the
monitor.

`claim_due` is the scheduler's half: it turns the due times of every schedule into fires,
each claimed in one transaction that moves the schedule on from the time it read
(compare-and-set) and writes the fire under its unique occurrence key, so two schedulers on
one store never fire one time twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Row

from conveyor.automation import _fire_rows, _schedule_rows, requests
from conveyor.automation.cron import parse_cron
from conveyor.automation.errors import AutomationConflict, AutomationUsageError
from conveyor.automation.fires import SCHEDULE, Claim, Resolved, occurrence_of, resolve
from conveyor.automation.schedule_records import (
    FireRecord,
    FireState,
    ScheduleRecord,
    ScheduleState,
)
from conveyor.errors import ConveyorError
from conveyor.registry.history import current_user
from conveyor.registry.names import MODEL_NAME
from conveyor.store.metadata import MetadataStore

if TYPE_CHECKING:
    from conveyor.automation.pipelines import PipelineRegistry
    from conveyor.monitoring.monitors import Monitors

_UNSET: Any = object()
MAX_DISPLAY_NAME = 128


def utc_now() -> datetime:
    return datetime.now(UTC)


class Schedules:
    """The schedules of a metadata store; `pipelines` and `monitors` check and resolve
    their requests; `now` is the clock (tests pass their own)."""

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

    def acting_as(self, user: str) -> Schedules:
        return Schedules(self.store, self.pipelines, self.monitors, user=user, now=self.now)

    # The resource

    def create(
        self,
        name: str,
        cron: str,
        request: dict[str, Any],
        *,
        display_name: str | None = None,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        max_run_count: int | None = None,
        max_concurrent_run_count: int = 1,
        allow_queueing: bool = False,
        catch_up: bool = False,
    ) -> ScheduleRecord:
        """A new ACTIVE schedule; `AutomationConflict` when the name is taken."""
        check_name(name)
        parsed = parse_cron(cron)
        start = _time(start_time, "start_time") or self.now()
        end = _time(end_time, "end_time")
        if end is not None and end <= start:
            raise AutomationUsageError("end_time: must be after start_time")
        values = {
            "name": name,
            "display_name": _display_name(display_name, name),
            "cron": parsed.text,
            "request": self._request(request),
            "state": ScheduleState.ACTIVE.value,
            "start_time": start,
            "end_time": end,
            "max_run_count": _count(max_run_count, "max_run_count", optional=True),
            "max_concurrent_run_count": _count(
                max_concurrent_run_count, "max_concurrent_run_count"
            ),
            "allow_queueing": _flag(allow_queueing, "allow_queueing"),
            "catch_up": _flag(catch_up, "catch_up"),
            "next_run_time": parsed.next_after(start - timedelta(microseconds=1)),
            "started_run_count": 0,
            "last_scheduled_run_response": None,
            "created_by": self.user or current_user(),
        }
        with self.store.transaction(write=True) as conn:
            _schedule_rows.insert_schedule(conn, values)
        return self.get(name)

    def get(self, name: str) -> ScheduleRecord:
        with self.store.transaction() as conn:
            return _schedule_rows.record(_schedule_rows.row(conn, check_name(name)))

    def list(self) -> list[ScheduleRecord]:
        with self.store.transaction() as conn:
            return [_schedule_rows.record(found) for found in _schedule_rows.rows(conn)]

    def update(
        self,
        name: str,
        *,
        cron: str = _UNSET,
        request: dict[str, Any] = _UNSET,
        display_name: str | None = _UNSET,
        end_time: datetime | None = _UNSET,
        max_run_count: int | None = _UNSET,
        max_concurrent_run_count: int = _UNSET,
        allow_queueing: bool = _UNSET,
        catch_up: bool = _UNSET,
    ) -> ScheduleRecord:
        """Change a schedule (Vertex AI's `update`); a field left out stays. A new cron
        takes effect from now: its next time after now."""
        current = self.get(name)
        values: dict[str, Any] = {}
        if cron is not _UNSET:
            parsed = parse_cron(cron)
            values["cron"] = parsed.text
            values["next_run_time"] = parsed.next_after(max(self.now(), current.start_time))
        if request is not _UNSET:
            values["request"] = self._request(request)
        if display_name is not _UNSET:
            values["display_name"] = _display_name(display_name, name)
        if end_time is not _UNSET:
            end = _time(end_time, "end_time")
            if end is not None and end <= current.start_time:
                raise AutomationUsageError("end_time: must be after start_time")
            values["end_time"] = end
        if max_run_count is not _UNSET:
            values["max_run_count"] = _count(max_run_count, "max_run_count", optional=True)
        if max_concurrent_run_count is not _UNSET:
            values["max_concurrent_run_count"] = _count(
                max_concurrent_run_count, "max_concurrent_run_count"
            )
        if allow_queueing is not _UNSET:
            values["allow_queueing"] = _flag(allow_queueing, "allow_queueing")
        if catch_up is not _UNSET:
            values["catch_up"] = _flag(catch_up, "catch_up")
        if values:
            with self.store.transaction(write=True) as conn:
                found = _schedule_rows.row(conn, name, lock=True)
                _schedule_rows.change(conn, found.id, **values)
        return self.get(name)

    def pause(self, name: str) -> ScheduleRecord:
        """Stop firing until `resume`; a COMPLETED schedule cannot be paused."""
        with self.store.transaction(write=True) as conn:
            found = _schedule_rows.row(conn, check_name(name), lock=True)
            if found.state == ScheduleState.COMPLETED:
                raise AutomationConflict(f"schedule {name!r} has completed; it cannot be paused")
            if found.state == ScheduleState.ACTIVE:
                _schedule_rows.change(
                    conn, found.id, state=ScheduleState.PAUSED.value, last_pause_time=self.now()
                )
        return self.get(name)

    def resume(self, name: str, *, catch_up: bool = False) -> ScheduleRecord:
        """Fire again. Without `catch_up` (the default) the times that passed while paused
        are not fired: the next time after now is; with it, each fires in turn. As on
        Vertex AI, the schedule's `catch_up` keeps the choice (it also decides what the
        scheduler does with times missed while it was down)."""
        with self.store.transaction(write=True) as conn:
            found = _schedule_rows.row(conn, check_name(name), lock=True)
            if found.state == ScheduleState.COMPLETED:
                raise AutomationConflict(f"schedule {name!r} has completed; it cannot resume")
            if found.state == ScheduleState.PAUSED:
                at = self.now()
                values: dict[str, Any] = {
                    "state": ScheduleState.ACTIVE.value,
                    "last_resume_time": at,
                    "catch_up": _flag(catch_up, "catch_up"),
                }
                if not catch_up and found.next_run_time is not None:
                    values["next_run_time"] = max(
                        found.next_run_time,
                        parse_cron(found.cron).next_after(max(at, found.start_time)),
                    )
                _schedule_rows.change(conn, found.id, **values)
        return self.get(name)

    def delete(self, name: str) -> None:
        """Delete a schedule and the record of its fires; runs it started stay."""
        with self.store.transaction(write=True) as conn:
            found = _schedule_rows.row(conn, check_name(name), lock=True)
            _fire_rows.delete_of(conn, SCHEDULE, found.id)
            _schedule_rows.delete(conn, found.id)

    def fires(self, name: str, *, limit: int | None = 100) -> list[FireRecord]:
        """Its fires, newest first: started, queued, skipped or failed."""
        with self.store.transaction() as conn:
            found = _schedule_rows.row(conn, check_name(name))
            rows = _fire_rows.of_source(conn, SCHEDULE, found.id, limit=limit)
        return [_fire_rows.record(row, name) for row in rows]

    def delete_guard(self, pipeline: str, version: int | None) -> str | None:
        """Why the pipeline (or one version of it) cannot be deleted: a schedule runs it."""
        for schedule in self.list():
            reference = requests.pipeline_of(schedule.request)
            if reference is None or reference.partition("@")[0] != pipeline:
                continue
            if version is None or self._names(reference, version):
                return (
                    f"schedule {schedule.name!r} runs {reference}; delete it or point it "
                    "elsewhere first (`conveyor schedules update`)"
                )
        return None

    def _names(self, reference: str, version: int) -> bool:
        try:
            return self.pipelines.resolve(reference).version == version
        except ConveyorError:
            return False

    def _request(self, request: Any) -> dict[str, Any]:
        return requests.check(request, self.pipelines, self.monitors)

    # The scheduler's half

    def claim_due(self, owner: str, ttl: timedelta) -> list[Claim]:
        """Fire every due time of every ACTIVE schedule, and the queued fires that may start:
        the fires this caller (`owner`) claimed, to start now. Skipped, queued and failed
        fires are recorded on the way; schedules past their end complete."""
        at = self.now()
        with self.store.transaction() as conn:
            due = [found.id for found in _schedule_rows.active(conn)]
        claims: list[Claim] = []
        for schedule_id in due:
            claims.extend(self._claim(schedule_id, at, owner, ttl))
        return claims

    def _claim(self, schedule_id: int, at: datetime, owner: str, ttl: timedelta) -> list[Claim]:
        """The fires of one schedule due at `at`, one occurrence per transaction."""
        claims: list[Claim] = []
        while True:
            with self.store.transaction() as conn:
                found = _schedule_rows.by_id(conn, schedule_id)
                if found is None or found.state != ScheduleState.ACTIVE:
                    return claims
                active = _fire_rows.count(conn, SCHEDULE, schedule_id, _fire_rows.ACTIVE)
                queued = _fire_rows.oldest_queued(conn, SCHEDULE, schedule_id)
            starts_queued = queued is not None and active < found.max_concurrent_run_count
            due = found.next_run_time is not None and found.next_run_time <= at
            if not (starts_queued or due):
                if found.next_run_time is None and queued is None:
                    self._complete(found)
                return claims
            try:
                resolved, failure = resolve(found.request, self.pipelines), None
            except ConveyorError as error:
                resolved, failure = None, str(error)
            try:
                with self.store.transaction(write=True) as conn:
                    current = _schedule_rows.by_id(conn, schedule_id, lock=True)
                    if current is None or current.updated_at != found.updated_at:
                        continue  # changed meanwhile: read it again
                    step = _Step(conn, current, resolved, failure, at, owner, ttl)
                    claim = step.start_queued(queued) if starts_queued else step.fire(active)
            except _Lost:
                continue
            if claim is not None:
                claims.append(claim)

    def _complete(self, found: Row[Any]) -> None:
        """COMPLETED: no time left to fire (`max_run_count` runs started, or past
        `end_time`) and nothing of it waits in the queue."""
        with self.store.transaction(write=True) as conn:
            current = _schedule_rows.by_id(conn, found.id, lock=True)
            if current is not None and current.updated_at == found.updated_at:
                _schedule_rows.change(conn, found.id, state=ScheduleState.COMPLETED.value)

    def monitor_guard(self, monitor_name: str) -> str | None:
        """Why monitor `monitor_name` cannot be deleted: a schedule runs its jobs."""
        request = requests.monitoring_job(monitor_name)
        for schedule in self.list():
            if schedule.request == request:
                return (
                    f"schedule {schedule.name!r} runs its jobs; delete that schedule first "
                    f"(`conveyor schedules delete {schedule.name}`)"
                )
        return None


class _Step:
    """One occurrence of one schedule, inside the transaction that holds its row."""

    def __init__(
        self,
        conn: Connection,
        found: Row[Any],
        resolved: Resolved | None,
        failure: str | None,
        at: datetime,
        owner: str,
        ttl: timedelta,
    ) -> None:
        self.conn, self.found, self.resolved, self.failure = conn, found, resolved, failure
        self.at, self.owner, self.ttl = at, owner, ttl

    def fire(self, active: int) -> Claim | None:
        """Turn the schedule's next time into a fire (or a skip, or a place in the queue),
        and move the schedule on to its following time."""
        found = self.found
        cron = parse_cron(found.cron)
        when = found.next_run_time
        if found.end_time is not None and when > found.end_time:
            self._advance(when, next_run_time=None)  # past the end
            return None
        if not found.catch_up:
            limit = min(self.at, found.end_time) if found.end_time is not None else self.at
            latest = cron.latest(when, limit)
            if latest is not None and not self._fired(when):  # missed: skip to the latest
                self._insert(
                    when,
                    FireState.SKIPPED,
                    error=(
                        f"missed: the times from {when.isoformat()} until before "
                        f"{latest.isoformat()} passed while no scheduler ran or the schedule "
                        "was paused, and catch_up is off"
                    ),
                )
            when = latest or when
        after: datetime | None = cron.next_after(when)
        if found.end_time is not None and after > found.end_time:
            after = None
        if self._fired(when):  # fired before (a cron changed back): never twice
            self._advance(found.next_run_time, next_run_time=after)
            return None
        queued = _fire_rows.count(self.conn, SCHEDULE, found.id, [FireState.QUEUED.value])
        if found.max_run_count is not None and found.started_run_count + queued >= (
            found.max_run_count
        ):
            self._advance(found.next_run_time, next_run_time=None)
            return None
        following: dict[str, Any] = {"next_run_time": after}
        claim = None
        if active >= found.max_concurrent_run_count:
            if found.allow_queueing:
                self._insert(when, FireState.QUEUED)
                queued += 1
            else:
                self._insert(
                    when,
                    FireState.SKIPPED,
                    error=(
                        f"{active} run(s) of the schedule still under way "
                        f"(max_concurrent_run_count {found.max_concurrent_run_count}) and "
                        "allow_queueing is off"
                    ),
                )
        elif self.failure is not None:
            self._insert(when, FireState.FAILED, error=self.failure)
            following["last_scheduled_run_response"] = _response(when, self.failure)
        else:
            claim = self._claimed(when, None)
            following["started_run_count"] = found.started_run_count + 1
            following["last_scheduled_run_response"] = _response(when, claim.run_id)
            started = found.started_run_count + 1
            if found.max_run_count is not None and started + queued >= found.max_run_count:
                following["next_run_time"] = None
        self._advance(found.next_run_time, **following)
        return claim

    def start_queued(self, queued: Row[Any]) -> Claim | None:
        """Start the oldest queued fire, now that a slot is free."""
        if self.failure is not None:
            _fire_rows.move(
                self.conn,
                queued.id,
                [FireState.QUEUED.value],
                state=FireState.FAILED.value,
                error=self.failure,
            )
            _schedule_rows.change(self.conn, self.found.id)
            return None
        claim = self._claimed(queued.scheduled_time, queued.id)
        _schedule_rows.change(
            self.conn,
            self.found.id,
            started_run_count=self.found.started_run_count + 1,
            last_scheduled_run_response=_response(queued.scheduled_time, claim.run_id),
        )
        return claim

    def _claimed(self, when: datetime, queued_id: int | None) -> Claim:
        """The fire of `when` (the queued fire `queued_id`), CLAIMED by this scheduler."""
        assert self.resolved is not None
        values = {
            "state": FireState.CLAIMED.value,
            "run_id": self.resolved.run_id,
            "event": {"request": self.resolved.request},
            "claimed_by": self.owner,
            "claim_expires": self.at + self.ttl,
        }
        if queued_id is None:
            fire_id = self._insert(when, **values)
        elif _fire_rows.move(self.conn, queued_id, [FireState.QUEUED.value], **values):
            fire_id = queued_id
        else:
            raise _Lost()
        return Claim(fire_id, SCHEDULE, self.found.name, self.resolved.run_id)

    def _fired(self, when: datetime) -> bool:
        return _fire_rows.exists(self.conn, SCHEDULE, self.found.id, occurrence_of(when))

    def _insert(self, when: datetime, state: FireState | str, **values: Any) -> int:
        fire_id = _fire_rows.insert(
            self.conn,
            {
                "source": SCHEDULE,
                "source_id": self.found.id,
                "occurrence": occurrence_of(when),
                "scheduled_time": when,
                **values,
                "state": FireState(state).value,
            },
        )
        if fire_id is None:  # another scheduler fired this time
            raise _Lost()
        return fire_id

    def _advance(self, expected: datetime, **values: Any) -> None:
        if not _schedule_rows.advance(self.conn, self.found.id, expected, **values):
            raise _Lost()


def _response(when: datetime, outcome: str | None) -> dict[str, Any]:
    """Vertex AI's `last_scheduled_run_response`: the time and the run it started (or why
    none started)."""
    return {"scheduled_run_time": when.isoformat(), "run_response": outcome}


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not MODEL_NAME.fullmatch(name):
        raise AutomationUsageError(
            f"name: {name!r} is not valid: start with a letter and use letters, digits, "
            "'-' and '_', up to 128 characters (for example nightly-train)"
        )
    return name


def _display_name(text: Any, name: str) -> str:
    if text is None:
        return name
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_DISPLAY_NAME:
        raise AutomationUsageError(f"display_name: 1 to {MAX_DISPLAY_NAME} characters")
    return text


def _time(value: Any, field: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise AutomationUsageError(
                f"{field}: {value!r} is not an ISO 8601 time (2026-12-31T23:00:00Z)"
            ) from None
    if not isinstance(value, datetime):
        raise AutomationUsageError(f"{field}: must be a time")
    if value.tzinfo is None:
        raise AutomationUsageError(f"{field}: give a time zone (e.g. a trailing Z for UTC)")
    return value.astimezone(UTC)


def _count(value: Any, field: str, *, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise AutomationUsageError(f"{field}: must be a whole number of at least 1")
    return value


def _flag(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise AutomationUsageError(f"{field}: must be true or false")
    return value


class _Lost(Exception):
    """Another scheduler moved the schedule on first: this transaction is rolled back."""
