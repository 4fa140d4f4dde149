"""Automation: registered pipelines, their versions and tags, schedules, triggers and fires."""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIME = sa.DateTime(timezone=True)


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


def downgrade() -> None:
    op.drop_table("automation_fires")
    op.drop_table("triggers")
    op.drop_table("schedules")
    op.drop_table("pipeline_tags")
    op.drop_index("ix_pipeline_versions_spec_digest", table_name="pipeline_versions")
    op.drop_table("pipeline_versions")
    op.drop_table("pipelines")
