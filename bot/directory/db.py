"""The directory's view of the database: `bot.db`'s engines and sessions, and its tables.

SQLite (the default, a file under var/) for a single machine; PostgreSQL for a shared
deployment. The engine cache, the URL rules and the migrations are `bot.db`'s; this
module keeps the names the directory code uses.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from bot.db import database_url, dispose_engines, ensure_schema, get_engine, session_scope

__all__ = ["create_tables", "database_url", "dispose_engines", "get_engine", "session_scope"]


def create_tables(url: str | None = None) -> Engine:
    """Bring the schema up to date (migrations), directory tables included; returns the engine."""
    return ensure_schema(get_engine(url))
