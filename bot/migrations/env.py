"""Alembic environment: runs on the connection `bot.db` hands over (no URL in any file).

On PostgreSQL a transaction-scoped advisory lock makes replicas that start together run
the migrations one after the other instead of racing.
"""

from __future__ import annotations

from alembic import context

from bot.db import all_metadata

_LOCK_ID = 7_405_201  # any constant shared by every replica of this project

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `python -m bot db upgrade` (bot.db.upgrade)")
if connection.dialect.name == "postgresql":
    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOCK_ID})")
context.configure(connection=connection, target_metadata=all_metadata(), render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
