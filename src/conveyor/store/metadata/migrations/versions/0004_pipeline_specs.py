"""Pipeline specs stored once, by digest: runs name theirs instead of carrying a copy.
The cache-key index holds cache entries (COMPLETE executions) only."""

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIME = sa.DateTime(timezone=True)
COMPLETE_ONLY = "state = 'COMPLETE'"

_specs = sa.table(
    "pipeline_specs", sa.column("digest"), sa.column("spec", JSON), sa.column("created_at", TIME)
)
_contexts = sa.table("contexts", sa.column("id"), sa.column("properties", JSON))


def _digest(spec: dict) -> str:
    """The sha256 of the spec's canonical JSON, as the store computes it."""
    return hashlib.sha256(
        json.dumps(spec, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()


def upgrade() -> None:
    op.drop_index("ix_executions_cache_key_state", table_name="executions")
    op.create_index(
        "ix_executions_cache_entries",
        "executions",
        ["cache_key", "ended_at"],
        sqlite_where=sa.text(COMPLETE_ONLY),
        postgresql_where=sa.text(COMPLETE_ONLY),
    )
    op.create_table(
        "pipeline_specs",
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("spec", JSON, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("digest", name="pk_pipeline_specs"),
    )
    conn = op.get_bind()
    stored: set[str] = set()
    for context_id, properties in conn.execute(sa.select(_contexts.c.id, _contexts.c.properties)):
        if not properties or properties.get("spec") is None:
            continue
        spec = properties.pop("spec")
        digest = _digest(spec)
        if digest not in stored:
            conn.execute(_specs.insert().values(digest=digest, spec=spec, created_at=_now()))
            stored.add(digest)
        conn.execute(
            _contexts.update()
            .where(_contexts.c.id == context_id)
            .values(properties={**properties, "spec_digest": digest})
        )


def downgrade() -> None:
    conn = op.get_bind()
    specs = dict(conn.execute(sa.select(_specs.c.digest, _specs.c.spec)).all())
    for context_id, properties in conn.execute(sa.select(_contexts.c.id, _contexts.c.properties)):
        if not properties or "spec_digest" not in properties:
            continue
        digest = properties.pop("spec_digest")
        conn.execute(
            _contexts.update()
            .where(_contexts.c.id == context_id)
            .values(properties={**properties, "spec": specs.get(digest)})
        )
    op.drop_table("pipeline_specs")
    op.drop_index("ix_executions_cache_entries", table_name="executions")
    op.create_index("ix_executions_cache_key_state", "executions", ["cache_key", "state"])


def _now() -> datetime:
    return datetime.now(UTC)
