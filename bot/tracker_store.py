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

from bot import rasa_speedups
from bot.payloads import FORGET_ACTION

logger = logging.getLogger(__name__)

# Loaded by every Rasa server through endpoints.yml: the place to trim Rasa's per-turn work.
rasa_speedups.install()


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

    engine: Any

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
            if self.engine.dialect.name == "sqlite":
                self._pooled_sqlite()
                sqlite_write_ahead_log(self.engine)
            return
        # Rasa's constructor would retry every 5 s until the database answers, so the server
        # (and the urgent card) would never start. Start without it: Rasa's fail-safe
        # wrapper keeps conversations in memory meanwhile, and the tables are created at the
        # first use after the database is back.
        logger.warning("The tracker store database is unreachable; starting without it.")
        self._start_offline(*args, **kwargs)

    def _pooled_sqlite(self) -> None:
        """Keep SQLite connections open between turns. SQLAlchemy 1.4 opens and closes a
        new connection for every session on a SQLite file (NullPool): two per turn, a
        tenth of the Rasa loop's time at 20 users (py-spy, docs/benchmarks.md)."""
        import sqlalchemy as sa
        from sqlalchemy.pool import QueuePool

        unpooled = self.engine
        self.engine = sa.create_engine(
            unpooled.url, poolclass=QueuePool, pool_size=5, connect_args={"check_same_thread": False}
        )
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        unpooled.dispose()

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
            new_events = self._unsaved_events(tracker)
            await super().save(tracker)
            self._count_turns(tracker, new_events)
            return
        # The forget action has already deleted everything and told the user whether it
        # worked (`bot.privacy.forget_everything`); this turn must not be written back.
        # Deleting again catches events stored since; a failure is left to the purge job.
        from bot.privacy import forget_everything

        result = forget_everything(tracker.sender_id, self._identity_database_url, tracker_engine=self.engine)
        logger.info("Forgot a conversation on request (complete: %s).", result.ok)

    def _unsaved_events(self, tracker: DialogueStateTracker) -> list[Any]:
        """The events this save will write (Rasa's own rule), so a turn is counted once."""
        if not self._identity_database_url:
            return []
        try:
            with self.session_scope() as session:
                return list(self._additional_events(session, tracker))
        except Exception:  # statistics must never cost a reply
            logger.warning("Could not read the stored events for statistics.")
            return []

    def _count_turns(self, tracker: DialogueStateTracker, new_events: list[Any]) -> None:
        turns = turn_facts(tracker, new_events)
        if not turns or not self._identity_database_url:
            return
        try:
            from bot.db import get_engine
            from bot.statistics import record_turns

            record_turns(get_engine(self._identity_database_url), tracker.sender_id, turns)
        except Exception:  # statistics must never cost a reply
            logger.warning("Could not count a turn for the statistics.", exc_info=False)


def turn_facts(tracker: DialogueStateTracker, new_events: list[Any]) -> list[Any]:
    """What `bot.statistics` counts of each user message among `new_events`: its channel,
    the conversation's language, topic and place after the turn, and whether the turn ended
    in the fallback. Nothing else of the event is read."""
    from bot.statistics import TurnFacts

    turns = []
    current: UserUttered | None = None
    answered = True
    for event in new_events:
        if isinstance(event, UserUttered):
            if current is not None:
                turns.append((current, answered))
            current, answered = event, True
        elif isinstance(event, ActionExecuted) and event.action_name in FALLBACK_ACTIONS:
            answered = False
    if current is not None:
        turns.append((current, answered))

    def slot(name: str) -> str | None:
        value = tracker.get_slot(name)
        return value if isinstance(value, str) else None

    return [
        TurnFacts(
            channel=event.input_channel or "unknown",
            lang=slot("language") or "",
            topic=slot("topic"),
            country=slot("country"),
            province=slot("province"),
            answered=ok,
        )
        for event, ok in turns
    ]


def sqlite_write_ahead_log(engine: Any) -> None:
    """SQLite in write-ahead-log mode with `synchronous=NORMAL`: Rasa saves every turn
    synchronously on the server's event loop, and in SQLite's default mode each save waits
    for two fsyncs while every other chat waits for the loop (the first suspect of issue 13's
    profile). In WAL mode a commit appends to the log and syncs only at checkpoints; a power
    cut can lose the last turns, never corrupt the file (https://sqlite.org/wal.html). The
    -wal and -shm files get the database file's permissions (0600). A server deployment uses
    PostgreSQL anyway."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _pragmas(connection: Any, _: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    engine.dispose()  # connections opened before the listener get the pragmas too


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

    async def _acquire_lock(self, conversation_id: str, ticket: int, wait_time_in_seconds: float) -> Any:
        """Rasa's wait for the conversation's turn, logged when it lasts (ticket numbers only)."""
        import time

        started = time.monotonic()
        try:
            return await super()._acquire_lock(conversation_id, ticket, wait_time_in_seconds)
        finally:
            waited = time.monotonic() - started
            if waited >= 5:
                lock = self.get_lock(conversation_id)
                serving = lock.now_serving if lock else None
                logger.warning(
                    "lock store: turn waited %.0f s for ticket %s (now serving %s)", waited, ticket, serving
                )
