"""Experiment tracking: the points of the runs' time-series metrics (experiments and their
runs are contexts, which need no table of their own)."""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "experiment_time_series",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.Column("wall_time", sa.Double(), nullable=False),
        sa.Column("value", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_experiment_time_series"),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["contexts.id"],
            name="fk_experiment_time_series_run_id_contexts",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_experiment_time_series_run_id_key_step",
        "experiment_time_series",
        ["run_id", "key", "step"],
    )


def downgrade() -> None:
    op.drop_index("ix_experiment_time_series_run_id_key_step", table_name="experiment_time_series")
    op.drop_table("experiment_time_series")
