"""The automation layer's tables: registered pipelines and their versions and tags, schedules,
triggers, and the fires of both.

A registered pipeline owns numbered versions (1, 2, ...; `last_version` remembers the
highest number given, so a deleted version's number is never reused); a version names its
compiled spec by digest (`pipeline_specs` holds each spec once), with its default
parameters and where it was uploaded from. A tag (`prod`) names one version of a pipeline;
`latest` is the highest version and is never stored.

A schedule (Vertex AI's `Schedule`) fires its request (a pipeline run or a model
monitoring job, as JSON) at the times of its cron; a trigger fires its request on an event
(new data, a monitoring alert, a finished run, a webhook). Every fire, and every fire not
made (skipped, deduplicated, failed), is a row of `automation_fires`, unique by its source
and its occurrence (the cron time, the object, the alert, the run, the webhook call): that
unique key is the claim that keeps two schedulers on one store from firing one occurrence
twice. A fire names the run id it starts before the run starts, so a run id given once
fences a fire made again after a crash.

`conveyor.automation` reads and writes these tables; migration `0007_automation` creates
them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from conveyor.store.metadata.mlmd_tables import Json
from conveyor.store.metadata.models import Base


class RegisteredPipeline(Base):
    """A pipeline template (Vertex AI's template registry, KFP's `Pipeline`)."""

    __tablename__ = "pipelines"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    last_version: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PipelineVersion(Base):
    """One version (KFP's `PipelineVersion`); `source` is what it was uploaded from (a file,
    `file.py:function`), `default_parameters` the values its spec gives its inputs."""

    __tablename__ = "pipeline_versions"
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipelines.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    spec_digest: Mapped[str] = mapped_column(ForeignKey("pipeline_specs.digest"), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    default_parameters: Mapped[dict[str, Any]]
    source: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]


class PipelineTag(Base):
    """A tag naming one version of a pipeline; moving it is one update."""

    __tablename__ = "pipeline_tags"
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipelines.id"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(128), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime]


class Schedule(Base):
    """A schedule, with Vertex AI's field names; `request` is `{"pipeline_job": {...}}` or
    `{"monitoring_job": {...}}`. `catch_up` says whether occurrences missed while no
    scheduler ran (or while paused, on a resume that asks) fire one by one."""

    __tablename__ = "schedules"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    cron: Mapped[str] = mapped_column(String(255))
    request: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(String(16))
    start_time: Mapped[datetime]
    end_time: Mapped[datetime | None]
    max_run_count: Mapped[int | None] = mapped_column(Integer)
    max_concurrent_run_count: Mapped[int] = mapped_column(Integer)
    allow_queueing: Mapped[bool] = mapped_column(Boolean)
    catch_up: Mapped[bool] = mapped_column(Boolean)
    next_run_time: Mapped[datetime | None]
    started_run_count: Mapped[int] = mapped_column(Integer)
    last_scheduled_run_response: Mapped[dict[str, Any] | None]
    last_pause_time: Mapped[datetime | None]
    last_resume_time: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (Index(None, "state", "next_run_time"),)


class Trigger(Base):
    """A trigger: `kind` is `new_data`, `monitoring_alert`, `run_finished` or `webhook`,
    `event` its kind's settings (the pattern, the monitor, the pipeline and state, the
    parameter mapping, the cooldown), `request` what it fires, as a schedule's."""

    __tablename__ = "triggers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    event: Mapped[dict[str, Any]]
    request: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AutomationFire(Base):
    """One occurrence of a schedule or a trigger and what became of it. `state` is CLAIMED
    (a scheduler is starting it), QUEUED, STARTED, SUCCEEDED or FAILED (the run ended so;
    FAILED also when it could not start), SKIPPED or DEDUPLICATED; `claimed_by` and
    `claim_expires` let another scheduler take over a claim whose scheduler died."""

    __tablename__ = "automation_fires"
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[int] = mapped_column(Integer)
    occurrence: Mapped[str] = mapped_column(String(512))
    state: Mapped[str] = mapped_column(String(16))
    scheduled_time: Mapped[datetime | None]
    run_id: Mapped[str | None] = mapped_column(String(255))
    event: Mapped[dict[str, Any]]
    error: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(255))
    claim_expires: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("source", "source_id", "occurrence"),
        Index(None, "source", "source_id", "id"),
        Index(None, "state"),
        Index(None, "run_id"),
    )


class Rollout(Base):
    """A progressive delivery of a model version to an endpoint (Flagger, Argo Rollouts):
        `strategy` `canary` (traffic moves through `steps`, percentages ending at 100) or
        `shadow` (the candidate gets a mirror of the stable model's traffic). `state` is
        PROGRESSING, PAUSED, PROMOTED, ROLLED_BACK or ABORTED. `active_endpoint_id` is the
        endpoint's id while the rollout is not finished and NULL after: its unique constraint
        is what refuses a second rollout on an endpoint. The analysis window of the current
        step began at `window_started_at`, when the server's counters stood at `window_start`;
        `analyses` keeps the verdicts (the latest last). `leased_by` and `lease_expires` say
        which server process runs its analysis, so that another takes over when it dies. A
    deleted endpoint takes its (finished) rollouts with it."""

    __tablename__ = "rollouts"
    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("endpoints.id", ondelete="CASCADE"), index=True
    )
    active_endpoint_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    strategy: Mapped[str] = mapped_column(String(16))
    model_name: Mapped[str] = mapped_column(String(128))
    candidate_version: Mapped[int] = mapped_column(Integer)
    alias: Mapped[str | None] = mapped_column(String(128))
    stable_deployed_id: Mapped[int | None] = mapped_column(Integer)
    candidate_deployed_id: Mapped[int | None] = mapped_column(Integer)
    steps: Mapped[list[Any]] = mapped_column(Json)
    step_index: Mapped[int] = mapped_column(Integer)
    interval_seconds: Mapped[float] = mapped_column(Float)
    criteria: Mapped[dict[str, Any]]
    failure_limit: Mapped[int] = mapped_column(Integer)
    failures: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    message: Mapped[str | None] = mapped_column(Text)
    window_started_at: Mapped[datetime]
    window_start: Mapped[dict[str, Any]]
    analyses: Mapped[list[Any]] = mapped_column(Json)
    leased_by: Mapped[str | None] = mapped_column(String(255))
    lease_expires: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]

    __table_args__ = (Index(None, "state"),)
