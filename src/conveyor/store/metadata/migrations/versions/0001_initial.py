"""Initial schema: types, contexts, artifacts, executions, events, attributions, associations."""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIME = sa.DateTime(timezone=True)


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer(), primary_key=True)


def _type_table(name: str) -> None:
    op.create_table(
        name,
        _id(),
        sa.Column("name", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{name}"),
        sa.UniqueConstraint("name", name=f"uq_{name}_name"),
    )


def upgrade() -> None:
    for name in ("artifact_types", "execution_types", "context_types"):
        _type_table(name)

    op.create_table(
        "contexts",
        _id(),
        sa.Column("type_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("properties", JSON, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_contexts"),
        sa.ForeignKeyConstraint(
            ["type_id"], ["context_types.id"], name="fk_contexts_type_id_context_types"
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["contexts.id"], name="fk_contexts_parent_id_contexts"
        ),
        sa.UniqueConstraint("type_id", "name", name="uq_contexts_type_id_name"),
    )
    op.create_index("ix_contexts_type_id_created_at", "contexts", ["type_id", "created_at"])
    op.create_index("ix_contexts_parent_id_created_at", "contexts", ["parent_id", "created_at"])

    op.create_table(
        "artifacts",
        _id(),
        sa.Column("type_id", sa.Integer(), nullable=False),
        sa.Column("uri", sa.Text(), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("metadata", JSON, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_artifacts"),
        sa.ForeignKeyConstraint(
            ["type_id"], ["artifact_types.id"], name="fk_artifacts_type_id_artifact_types"
        ),
    )
    op.create_index("ix_artifacts_uri", "artifacts", ["uri"])

    op.create_table(
        "executions",
        _id(),
        sa.Column("type_id", sa.Integer(), nullable=False),
        sa.Column("task_key", sa.String(1024), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("input_parameters", JSON, nullable=False),
        sa.Column("output_parameters", JSON, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("started_at", TIME, nullable=True),
        sa.Column("ended_at", TIME, nullable=True),
        sa.Column("log_uri", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("cache_key", sa.String(255), nullable=True),
        sa.Column("cache_key_parts", JSON, nullable=True),
        sa.Column("cached_from_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_executions"),
        sa.ForeignKeyConstraint(
            ["type_id"], ["execution_types.id"], name="fk_executions_type_id_execution_types"
        ),
        sa.ForeignKeyConstraint(
            ["cached_from_id"], ["executions.id"], name="fk_executions_cached_from_id_executions"
        ),
    )
    op.create_index("ix_executions_cache_key_state", "executions", ["cache_key", "state"])
    op.create_index("ix_executions_task_key_id", "executions", ["task_key", "id"])

    op.create_table(
        "events",
        _id(),
        sa.Column("execution_id", sa.Integer(), nullable=False),
        sa.Column("artifact_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sa.ForeignKeyConstraint(
            ["execution_id"], ["executions.id"], name="fk_events_execution_id_executions"
        ),
        sa.ForeignKeyConstraint(
            ["artifact_id"], ["artifacts.id"], name="fk_events_artifact_id_artifacts"
        ),
        sa.UniqueConstraint(
            "execution_id",
            "type",
            "name",
            "position",
            name="uq_events_execution_id_type_name_position",
        ),
    )
    op.create_index("ix_events_artifact_id_type", "events", ["artifact_id", "type"])

    for table, member, referred in (
        ("attributions", "artifact_id", "artifacts"),
        ("associations", "execution_id", "executions"),
    ):
        op.create_table(
            table,
            sa.Column("context_id", sa.Integer(), nullable=False),
            sa.Column(member, sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("context_id", member, name=f"pk_{table}"),
            sa.ForeignKeyConstraint(
                ["context_id"], ["contexts.id"], name=f"fk_{table}_context_id_contexts"
            ),
            sa.ForeignKeyConstraint(
                [member], [f"{referred}.id"], name=f"fk_{table}_{member}_{referred}"
            ),
        )
        op.create_index(f"ix_{table}_{member}", table, [member])


def downgrade() -> None:
    for table in (
        "associations",
        "attributions",
        "events",
        "executions",
        "artifacts",
        "contexts",
        "context_types",
        "execution_types",
        "artifact_types",
    ):
        op.drop_table(table)
