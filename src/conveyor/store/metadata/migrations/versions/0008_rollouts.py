"""Progressive delivery: rollouts on endpoints, and shadow deployments that get a mirror of
another deployed model's traffic."""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "rollouts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("endpoint_id", sa.Integer(), nullable=False),
        sa.Column("active_endpoint_id", sa.Integer(), nullable=True),
        sa.Column("strategy", sa.String(16), nullable=False),
        sa.Column("model_name", sa.String(128), nullable=False),
        sa.Column("candidate_version", sa.Integer(), nullable=False),
        sa.Column("alias", sa.String(128), nullable=True),
        sa.Column("stable_deployed_id", sa.Integer(), nullable=True),
        sa.Column("candidate_deployed_id", sa.Integer(), nullable=True),
        sa.Column("steps", JSON, nullable=False),
        sa.Column("step_index", sa.Integer(), nullable=False),
        sa.Column("interval_seconds", sa.Float(), nullable=False),
        sa.Column("criteria", JSON, nullable=False),
        sa.Column("failure_limit", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("window_started_at", TIME, nullable=False),
        sa.Column("window_start", JSON, nullable=False),
        sa.Column("analyses", JSON, nullable=False),
        sa.Column("leased_by", sa.String(255), nullable=True),
        sa.Column("lease_expires", TIME, nullable=True),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("finished_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_rollouts"),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["endpoints.id"],
            name="fk_rollouts_endpoint_id_endpoints",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("active_endpoint_id", name="uq_rollouts_active_endpoint_id"),
    )
    op.create_index("ix_rollouts_endpoint_id", "rollouts", ["endpoint_id"])
    op.create_index("ix_rollouts_state", "rollouts", ["state"])
    op.add_column("deployed_models", sa.Column("shadow_of", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deployed_models", recreate="never") as batch:
        batch.drop_column("shadow_of")
    op.drop_index("ix_rollouts_state", table_name="rollouts")
    op.drop_index("ix_rollouts_endpoint_id", table_name="rollouts")
    op.drop_table("rollouts")
