"""Alembic's entry point for the hub's schema: runs the migrations on the connection the caller passes."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("the hub's migrations run through `modelyard hub migrate`, which passes the connection")
# transaction_per_migration: an interrupted upgrade leaves the database at the last whole revision.
context.configure(connection=connection, transaction_per_migration=True)
with context.begin_transaction():
    context.run_migrations()
