"""Model monitoring: monitors, their jobs, metrics and alerts, and the alerts' deliveries."""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "model_monitors",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("display_name", sa.String(128), nullable=False),
        sa.Column("target", sa.String(260), nullable=False),
        sa.Column("training_dataset", JSON, nullable=False),
        sa.Column("model_monitoring_schema", JSON, nullable=False),
        sa.Column("tabular_objective", JSON, nullable=False),
        sa.Column("target_window", sa.String(32), nullable=False),
        sa.Column("target_offset", sa.String(32), nullable=True),
        sa.Column("sampling_rate", sa.Double(), nullable=False),
        sa.Column("min_samples", sa.BigInteger(), nullable=False),
        sa.Column("notification_spec", JSON, nullable=False),
        sa.Column("cron", sa.String(255), nullable=True),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_model_monitors"),
        sa.UniqueConstraint("name", name="uq_model_monitors_name"),
    )

    op.create_table(
        "model_monitoring_jobs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("monitor_id", sa.Integer(), nullable=False),
        sa.Column("execution_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("model_name", sa.String(128), nullable=True),
        sa.Column("model_version_id", sa.Integer(), nullable=True),
        sa.Column("window_start", TIME, nullable=True),
        sa.Column("window_end", TIME, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("ended_at", TIME, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("summary", JSON, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_model_monitoring_jobs"),
        sa.ForeignKeyConstraint(
            ["monitor_id"],
            ["model_monitors.id"],
            name="fk_model_monitoring_jobs_monitor_id_model_monitors",
        ),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["executions.id"],
            name="fk_model_monitoring_jobs_execution_id_executions",
        ),
    )
    op.create_index(
        "ix_model_monitoring_jobs_monitor_id_id", "model_monitoring_jobs", ["monitor_id", "id"]
    )
    op.create_index("ix_model_monitoring_jobs_state", "model_monitoring_jobs", ["state"])

    op.create_table(
        "model_monitoring_metrics",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("monitor_id", sa.Integer(), nullable=False),
        sa.Column("feature", sa.String(255), nullable=False),
        sa.Column("objective", sa.String(64), nullable=False),
        sa.Column("metric_type", sa.String(64), nullable=False),
        sa.Column("value", sa.Double(), nullable=True),
        sa.Column("threshold", sa.Double(), nullable=True),
        sa.Column("chance_level", sa.Double(), nullable=True),
        sa.Column("anomaly", sa.Boolean(), nullable=False),
        sa.Column("insufficient_data", sa.Boolean(), nullable=False),
        sa.Column("baseline_count", sa.BigInteger(), nullable=False),
        sa.Column("target_count", sa.BigInteger(), nullable=False),
        sa.Column("window_start", TIME, nullable=True),
        sa.Column("window_end", TIME, nullable=True),
        sa.Column("statistics", JSON, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_model_monitoring_metrics"),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["model_monitoring_jobs.id"],
            name="fk_model_monitoring_metrics_job_id_model_monitoring_jobs",
        ),
        sa.ForeignKeyConstraint(
            ["monitor_id"],
            ["model_monitors.id"],
            name="fk_model_monitoring_metrics_monitor_id_model_monitors",
        ),
    )
    op.create_index("ix_model_monitoring_metrics_job_id", "model_monitoring_metrics", ["job_id"])
    op.create_index(
        "ix_model_monitoring_metrics_series",
        "model_monitoring_metrics",
        ["monitor_id", "objective", "feature", "window_end"],
    )

    op.create_table(
        "model_monitoring_alerts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("monitor_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("feature", sa.String(255), nullable=False),
        sa.Column("objective", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.Double(), nullable=True),
        sa.Column("threshold", sa.Double(), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_model_monitoring_alerts"),
        sa.ForeignKeyConstraint(
            ["monitor_id"],
            ["model_monitors.id"],
            name="fk_model_monitoring_alerts_monitor_id_model_monitors",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["model_monitoring_jobs.id"],
            name="fk_model_monitoring_alerts_job_id_model_monitoring_jobs",
        ),
    )
    op.create_index("ix_model_monitoring_alerts_job_id", "model_monitoring_alerts", ["job_id"])
    op.create_index(
        "ix_model_monitoring_alerts_monitor_id_feature_objective_id",
        "model_monitoring_alerts",
        ["monitor_id", "feature", "objective", "id"],
    )
    op.create_index(
        "ix_model_monitoring_alerts_monitor_id_created_at",
        "model_monitoring_alerts",
        ["monitor_id", "created_at"],
    )

    op.create_table(
        "alert_deliveries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("destination", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TIME, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_alert_deliveries"),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["model_monitoring_alerts.id"],
            name="fk_alert_deliveries_alert_id_model_monitoring_alerts",
        ),
    )
    op.create_index("ix_alert_deliveries_alert_id", "alert_deliveries", ["alert_id"])
    op.create_index(
        "ix_alert_deliveries_state_next_attempt_at",
        "alert_deliveries",
        ["state", "next_attempt_at"],
    )


def downgrade() -> None:
    op.drop_table("alert_deliveries")
    op.drop_table("model_monitoring_alerts")
    op.drop_table("model_monitoring_metrics")
    op.drop_table("model_monitoring_jobs")
    op.drop_table("model_monitors")
