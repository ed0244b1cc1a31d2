"""Engine and sessions for the directory database, from DATABASE_URL.

SQLite (the default, a file under var/) for a single machine; PostgreSQL for a shared
deployment. Engines are cached per URL because creating one per look-up would cost more
than the look-up itself.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.directory.models import Base

DEFAULT_DATABASE_URL = "sqlite:///var/bot.db"


def database_url(url: str | None = None) -> str:
    """The URL to use: the argument, else DATABASE_URL, else the local SQLite file."""
    from bot.settings import get_settings

    url = url or get_settings().database_url
    # Hosting platforms still hand out the scheme SQLAlchemy 1.4 no longer accepts.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    return url


def _enable_sqlite_foreign_keys(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


_ENGINES: dict[str, Engine] = {}
_SESSIONS: dict[str, sessionmaker] = {}
_LOCK = threading.Lock()


def get_engine(url: str | None = None) -> Engine:
    """A shared engine for the URL (SQLAlchemy 2.0-style, `future=True`)."""
    url = database_url(url)
    with _LOCK:
        if url not in _ENGINES:
            _ENGINES[url] = _create_engine(url)
        return _ENGINES[url]


def _create_engine(url: str) -> Engine:
    kwargs: dict = {"future": True}
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # Look-ups run in executor threads, not the thread that opened the connection.
        kwargs["connect_args"] = {"check_same_thread": False}
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _enable_sqlite_foreign_keys)
    return engine


def create_tables(url: str | None = None) -> Engine:
    """Create the directory tables that do not exist yet; returns the engine."""
    engine = get_engine(url)
    Base.metadata.create_all(engine)
    return engine


def _session_factory(url: str) -> sessionmaker:
    engine = get_engine(url)
    with _LOCK:
        if url not in _SESSIONS:
            _SESSIONS[url] = sessionmaker(bind=engine, future=True, expire_on_commit=False)
        return _SESSIONS[url]


def dispose_engines() -> None:
    """Close every pooled connection and forget the engines (tests, shutdown)."""
    with _LOCK:
        for engine in _ENGINES.values():
            engine.dispose()
        _ENGINES.clear()
        _SESSIONS.clear()


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A read session; closed (and its connection returned to the pool) on exit."""
    session: Session = _session_factory(database_url(url))()
    try:
        yield session
    finally:
        session.close()
