"""Alembic environment: runs on the connection handed over by ``yuantou.store.db.migrate``."""

from alembic import context

from yuantou.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through yuantou.store.db.migrate()")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
