"""Rasa's tracker and lock stores, configured from the settings, plus "forget me".

Configured in endpoints.yml by class name only (`bot.tracker_store.PrivacyTrackerStore`,
`bot.tracker_store.ConfiguredLockStore`): they read TRACKER_STORE_URL, DATABASE_URL and
REDIS_URL from `bot.settings` themselves, so endpoints.yml holds no password and works the
same under `rasa run` and `python -m bot run`.

A tracker store database that is down at start no longer holds the server back (Rasa's
own constructor retries forever): the store starts without it and creates its tables once
the database answers; Rasa's fail-safe wrapper keeps conversations in memory meanwhile.

"Forget me": the forget action deletes everything (`bot.privacy.forget_everything`) and
says whether it worked; saving that turn deletes again instead of writing the turn back
(Rasa's save would otherwise re-insert every event it no longer finds).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import unquote, urlparse

from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.payloads import FORGET_ACTION

logger = logging.getLogger(__name__)


def asked_to_forget(tracker: DialogueStateTracker) -> bool:
    """True when the forget action ran after the latest user message."""
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            return False
        if isinstance(event, ActionExecuted) and event.action_name == FORGET_ACTION:
            return True
    return False


def sql_store_kwargs(url: str) -> dict[str, Any]:
    """Rasa's SQLTrackerStore arguments for a database URL (SQLite file or server)."""
    parsed = urlparse(url)
    if parsed.scheme.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:":
            from bot.db import private_sqlite_file

            private_sqlite_file(path)
        return {"dialect": "sqlite", "db": path}
    dialect = parsed.scheme.split("+")[0]
    return {
        "dialect": "postgresql" if dialect == "postgres" else dialect,
        "host": parsed.hostname,
        "port": parsed.port or 5432,
        "db": parsed.path.lstrip("/"),
        "username": unquote(parsed.username) if parsed.username else None,
        "password": unquote(parsed.password) if parsed.password else None,
    }


def redis_lock_kwargs(url: str) -> dict[str, Any]:
    """Rasa's RedisLockStore arguments for a redis:// URL (database 1 unless given)."""
    parsed = urlparse(url)
    return {
        "host": parsed.hostname or "localhost",
        "port": parsed.port or 6379,
        "db": int((parsed.path or "/1").lstrip("/") or 1),
        "username": unquote(parsed.username) if parsed.username else None,
        "password": unquote(parsed.password) if parsed.password else None,
        "use_ssl": parsed.scheme == "rediss",
    }


class PrivacyTrackerStore(SQLTrackerStore):
    """SQLTrackerStore on TRACKER_STORE_URL whose save honours a request to be forgotten."""

    def __init__(self, *args: Any, identity_database_url: str | None = None, **kwargs: Any):
        if not kwargs.get("dialect") and not kwargs.get("db"):
            from bot.settings import get_settings

            settings = get_settings()
            kwargs.update(sql_store_kwargs(settings.tracker_store_url))
            identity_database_url = identity_database_url or settings.database_url
        self._identity_database_url = identity_database_url
        self._tables_ready = True
        if kwargs.get("dialect", "sqlite") == "sqlite" or _reachable(kwargs):
            super().__init__(*args, **kwargs)
            return
        # Rasa's constructor would retry every 5 s until the database answers, so the server
        # (and the urgent card) would never start. Start without it: Rasa's fail-safe
        # wrapper keeps conversations in memory meanwhile, and the tables are created at the
        # first use after the database is back.
        logger.warning("The tracker store database is unreachable; starting without it.")
        self._start_offline(*args, **kwargs)

    def _start_offline(self, domain: Any = None, event_broker: Any = None, **kwargs: Any) -> None:
        import sqlalchemy as sa
        from rasa.core.tracker_store import TrackerStore, create_engine_kwargs, validate_port

        names = ("dialect", "host", "port", "db", "username", "password", "login_db", "query")
        url_parts = {name: kwargs.pop(name) for name in names if name in kwargs}
        url_parts["port"] = validate_port(url_parts.get("port"))
        engine_url = self.get_db_url(**url_parts)
        self.engine = sa.create_engine(engine_url, **create_engine_kwargs(engine_url))
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        self._tables_ready = False
        TrackerStore.__init__(self, domain, event_broker, **kwargs)

    def _ensure_tables(self) -> None:
        if not self._tables_ready:
            self.Base.metadata.create_all(self.engine)  # raises while the database is down
            self._tables_ready = True
            logger.info("The tracker store database is back.")

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool) -> Any:
        self._ensure_tables()
        return await super()._retrieve(sender_id, fetch_events_from_all_sessions)

    async def save(self, tracker: DialogueStateTracker) -> None:
        count_fallback(tracker)
        self._ensure_tables()
        if not asked_to_forget(tracker):
            await super().save(tracker)
            return
        # The forget action has already deleted everything and told the user whether it
        # worked (`bot.privacy.forget_everything`); this turn must not be written back.
        # Deleting again catches events stored since; a failure is left to the purge job.
        from bot.privacy import forget_everything

        result = forget_everything(tracker.sender_id, self._identity_database_url, tracker_engine=self.engine)
        logger.info("Forgot a conversation on request (complete: %s).", result.ok)


def _reachable(kwargs: dict[str, Any], timeout: float = 2.0) -> bool:
    """True when the tracker store's server accepts a TCP connection (a quick check, so
    that a database down at start does not hold the server back)."""
    import socket

    try:
        with socket.create_connection(
            (kwargs.get("host") or "localhost", int(kwargs.get("port") or 5432)), timeout
        ):
            return True
    except OSError:
        return False


def count_fallback(tracker: DialogueStateTracker) -> None:
    """Count a turn that ended in the fallback (`bot.metrics`), seen here because every
    turn is saved in the Rasa process while the action itself runs elsewhere."""
    from bot.metrics import FALLBACKS

    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            return
        if isinstance(event, ActionExecuted) and event.action_name in FALLBACK_ACTIONS:
            FALLBACKS.inc()
            return


FALLBACK_ACTIONS = {"action_default_fallback", "action_fallback_suggest"}


def forget_identity(sender_id: str, database_url: str | None) -> int:
    """Remove the pseudonym -> platform id map of a sender; 0 when there is none."""
    from bot.db import get_engine
    from bot.privacy import forget_identity as _forget

    return _forget(get_engine(database_url), sender_id)


class ConfiguredLockStore(LockStore):
    """Rasa's Redis lock store when REDIS_URL is set (several replicas), else the in-memory one."""

    def __init__(self, endpoint_config: EndpointConfig | None = None) -> None:
        from bot.settings import get_settings

        redis_url = get_settings().redis_url
        self._store: LockStore = (
            RedisLockStore(**redis_lock_kwargs(redis_url)) if redis_url else InMemoryLockStore()
        )
        super().__init__()

    def get_lock(self, conversation_id: str) -> Any:
        return self._store.get_lock(conversation_id)

    def delete_lock(self, conversation_id: str) -> None:
        self._store.delete_lock(conversation_id)

    def save_lock(self, lock: Any) -> None:
        self._store.save_lock(lock)
