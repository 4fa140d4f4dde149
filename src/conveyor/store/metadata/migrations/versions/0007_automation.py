"""Automation: registered pipelines, their versions and tags, schedules, triggers and fires.
A monitor's `cron` becomes a schedule of its jobs, named after it. A model version keeps
its `origin` when promoted from another environment."""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from croniter import croniter
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIME = sa.DateTime(timezone=True)
MONITORING_JOB = "model_monitoring_job"
"""A schedule's request to run a monitor's job (`conveyor.automation.requests`)."""
KEYWORDS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
"""The keywords a monitor's cron took, as the five fields a schedule's cron takes."""

_monitors = sa.table(
    "model_monitors",
    sa.column("name"),
    sa.column("display_name"),
    sa.column("cron"),
    sa.column("created_by"),
)
_SCHEDULE_COLUMNS = [
    "name",
    "display_name",
    "cron",
    "state",
    "start_time",
    "end_time",
    "max_run_count",
    "max_concurrent_run_count",
    "allow_queueing",
    "catch_up",
    "next_run_time",
    "started_run_count",
    "created_by",
    "created_at",
    "updated_at",
]
_schedules = sa.table(
    "schedules", *(sa.column(c) for c in _SCHEDULE_COLUMNS), sa.column("request", JSON)
)


def upgrade() -> None:
    op.create_table(
        "pipelines",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("last_version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_pipelines"),
        sa.UniqueConstraint("name", name="uq_pipelines_name"),
    )
    op.create_table(
        "pipeline_versions",
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("spec_digest", sa.String(64), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("default_parameters", JSON, nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("pipeline_id", "version", name="pk_pipeline_versions"),
        sa.ForeignKeyConstraint(
            ["pipeline_id"], ["pipelines.id"], name="fk_pipeline_versions_pipeline_id_pipelines"
        ),
        sa.ForeignKeyConstraint(
            ["spec_digest"],
            ["pipeline_specs.digest"],
            name="fk_pipeline_versions_spec_digest_pipeline_specs",
        ),
    )
    op.create_index("ix_pipeline_versions_spec_digest", "pipeline_versions", ["spec_digest"])
    op.create_table(
        "pipeline_tags",
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("pipeline_id", "tag", name="pk_pipeline_tags"),
        sa.ForeignKeyConstraint(
            ["pipeline_id"], ["pipelines.id"], name="fk_pipeline_tags_pipeline_id_pipelines"
        ),
    )
    op.create_table(
        "schedules",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("display_name", sa.String(128), nullable=False),
        sa.Column("cron", sa.String(255), nullable=False),
        sa.Column("request", JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("start_time", TIME, nullable=False),
        sa.Column("end_time", TIME, nullable=True),
        sa.Column("max_run_count", sa.Integer(), nullable=True),
        sa.Column("max_concurrent_run_count", sa.Integer(), nullable=False),
        sa.Column("allow_queueing", sa.Boolean(), nullable=False),
        sa.Column("catch_up", sa.Boolean(), nullable=False),
        sa.Column("next_run_time", TIME, nullable=True),
        sa.Column("started_run_count", sa.Integer(), nullable=False),
        sa.Column("last_scheduled_run_response", JSON, nullable=True),
        sa.Column("last_pause_time", TIME, nullable=True),
        sa.Column("last_resume_time", TIME, nullable=True),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_schedules"),
        sa.UniqueConstraint("name", name="uq_schedules_name"),
    )
    op.create_index("ix_schedules_state_next_run_time", "schedules", ["state", "next_run_time"])
    op.create_table(
        "triggers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("event", JSON, nullable=False),
        sa.Column("request", JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_triggers"),
        sa.UniqueConstraint("name", name="uq_triggers_name"),
    )
    op.create_table(
        "automation_fires",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("occurrence", sa.String(512), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("scheduled_time", TIME, nullable=True),
        sa.Column("run_id", sa.String(255), nullable=True),
        sa.Column("event", JSON, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("claimed_by", sa.String(255), nullable=True),
        sa.Column("claim_expires", TIME, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_automation_fires"),
        sa.UniqueConstraint(
            "source",
            "source_id",
            "occurrence",
            name="uq_automation_fires_source_source_id_occurrence",
        ),
    )
    op.create_index(
        "ix_automation_fires_source_source_id_id", "automation_fires", ["source", "source_id", "id"]
    )
    op.create_index("ix_automation_fires_state", "automation_fires", ["state"])
    op.create_index("ix_automation_fires_run_id", "automation_fires", ["run_id"])
    _schedule_monitors()
    op.add_column("model_versions", sa.Column("origin", JSON, nullable=True))
    # SQLite drops the column in place (3.35+): copying the table would break the foreign
    # keys of the monitors' jobs, metrics and alerts, enforced during the migration.
    with op.batch_alter_table("model_monitors", recreate="never") as batch:
        batch.drop_column("cron")


def _schedule_monitors() -> None:
    """A schedule of each monitor with a cron (UTC, as a schedule's cron without a zone),
    named after it, from now on: the times missed before it are not caught up."""
    conn = op.get_bind()
    now = datetime.now(UTC)
    found = conn.execute(
        sa.select(_monitors).where(_monitors.c.cron.is_not(None)).order_by(_monitors.c.name)
    ).all()
    for monitor in found:
        cron = KEYWORDS.get(monitor.cron, monitor.cron)
        conn.execute(
            _schedules.insert().values(
                name=monitor.name,
                display_name=monitor.display_name,
                cron=cron,
                request={MONITORING_JOB: {"monitor": monitor.name}},
                state="ACTIVE",
                start_time=now,
                end_time=None,
                max_run_count=None,
                max_concurrent_run_count=1,
                allow_queueing=False,
                catch_up=False,
                next_run_time=croniter(cron, now).get_next(datetime).astimezone(UTC),
                started_run_count=0,
                created_by=monitor.created_by,
                created_at=now,
                updated_at=now,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("model_versions", recreate="never") as batch:
        batch.drop_column("origin")
    with op.batch_alter_table("model_monitors") as batch:
        batch.add_column(sa.Column("cron", sa.String(255), nullable=True))
    _monitor_crons()
    op.drop_table("automation_fires")
    op.drop_table("triggers")
    op.drop_table("schedules")
    op.drop_table("pipeline_tags")
    op.drop_index("ix_pipeline_versions_spec_digest", table_name="pipeline_versions")
    op.drop_table("pipeline_versions")
    op.drop_table("pipelines")


def _monitor_crons() -> None:
    """Back to a monitor's cron: the cron of a schedule of its jobs (the one named after it
    first), when the monitor's field can hold it (five fields in UTC)."""
    conn = op.get_bind()
    crons: dict[str, str] = {}
    found = conn.execute(
        sa.select(_schedules.c.name, _schedules.c.cron, _schedules.c.request).order_by(
            _schedules.c.name
        )
    ).all()
    for name, cron, request in found:
        monitor = (request or {}).get(MONITORING_JOB, {}).get("monitor")
        if monitor is None or "TZ=" in cron or len(cron.split()) != 5:
            continue
        if name == monitor or monitor not in crons:
            crons[monitor] = cron
    for monitor, cron in crons.items():
        conn.execute(_monitors.update().where(_monitors.c.name == monitor).values(cron=cron))
