"""Prediction endpoints: endpoints and the models deployed to them."""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "endpoints",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("labels", JSON, nullable=False),
        sa.Column("log_sample_rate", sa.Float(), nullable=True),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_endpoints"),
        sa.UniqueConstraint("name", name="uq_endpoints_name"),
    )

    op.create_table(
        "deployed_models",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("endpoint_id", sa.Integer(), nullable=False),
        sa.Column("model_name", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("alias", sa.String(128), nullable=True),
        sa.Column("traffic", sa.Integer(), nullable=False),
        sa.Column("deployed_by", sa.String(255), nullable=False),
        sa.Column("deployed_at", TIME, nullable=False),
        sa.Column("undeployed_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_deployed_models"),
        sa.ForeignKeyConstraint(
            ["endpoint_id"], ["endpoints.id"], name="fk_deployed_models_endpoint_id_endpoints"
        ),
    )
    op.create_index("ix_deployed_models_endpoint_id", "deployed_models", ["endpoint_id"])
    op.create_index("ix_deployed_models_model_name", "deployed_models", ["model_name"])


def downgrade() -> None:
    op.drop_table("deployed_models")
    op.drop_table("endpoints")
