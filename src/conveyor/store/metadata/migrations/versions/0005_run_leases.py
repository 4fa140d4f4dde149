"""Run leases: the process running a run renews its lease, so a run whose runner died
is seen as such, two runners never run one run, and another process can cancel it."""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "run_leases",
        sa.Column("context_id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(32), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("pid_started", sa.Double(), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["context_id"], ["contexts.id"], name="fk_run_leases_context_id_contexts"
        ),
        sa.PrimaryKeyConstraint("context_id", name="pk_run_leases"),
    )


def downgrade() -> None:
    op.drop_table("run_leases")
