"""Alembic's entry point: migrate the connection that `schema.py` hands over, in its transaction."""

from alembic import context

from conveyor.store.metadata.tables import metadata

attributes = context.config.attributes
context.configure(
    connection=attributes["connection"],
    target_metadata=metadata,
    version_table=attributes["version_table"],
    render_as_batch=True,
)
with context.begin_transaction():
    context.run_migrations()
