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

import itertools
import json
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlparse

import sqlalchemy as sa
from rasa.core.lock_store import LOCK_LIFETIME, InMemoryLockStore, LockStore, RedisLockStore
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import ActionExecuted, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from rasa.utils.endpoints import EndpointConfig

from bot import rasa_speedups
from bot.db import sqlite_write_ahead_log
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
        # sender_id -> ((stored count, highest id, its timestamp), serialised events of the latest session,
        # their latest timestamp): `_session_events`
        self._cache: OrderedDict[str, tuple[tuple[int, int, float], list[str], float | None]] = OrderedDict()
        self._stats_engine: tuple[int, Any] | None = None
        # sender_id -> the tracker this process saved last, while the store still holds
        # exactly what it saved (`_Kept`)
        self._trackers: OrderedDict[str, _Kept] = OrderedDict()
        self._stats_writer: StatisticsWriter | None = None
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
        if fetch_events_from_all_sessions or not self.domain:
            return await super()._retrieve(sender_id, fetch_events_from_all_sessions)
        with self.session_scope() as session:
            stored, _, state = self._session_events_and_state(session, sender_id)
        if not stored:
            return None
        kept = self._trackers.get(sender_id)
        if (
            kept is not None
            and kept.state == state
            and kept.domain is self.domain
            and len(kept.tracker.events) == kept.events
            and kept.tracker.events[-1] is kept.last_event
        ):
            self._trackers.move_to_end(sender_id)
            return kept.tracker
        self._trackers.pop(sender_id, None)
        return DialogueStateTracker.from_dict(
            sender_id, [json.loads(data) for data in stored], self.domain.slots
        )

    def _session_events(self, session: Any, sender_id: str) -> tuple[list[str], float | None]:
        stored, latest, _ = self._session_events_and_state(session, sender_id)
        return stored, latest

    def _session_events_and_state(
        self, session: Any, sender_id: str
    ) -> tuple[list[str], float | None, tuple[int, int, float]]:
        """The serialised events of the latest session of `sender_id`, as Rasa's query
        returns them, their latest timestamp, and the stored state (`_state`); from this
        process's cache when the stored conversation has not changed since, else from the
        database (and cached)."""
        state = self._state(session, sender_id)
        cached = self._cache.get(sender_id)
        if cached is not None and cached[0] == state:
            self._cache.move_to_end(sender_id)
            return cached[1], cached[2], state
        rows = self._event_query(session, sender_id, fetch_events_from_all_sessions=False).all()
        stored = [row.data for row in rows]
        times = [row.timestamp for row in rows if row.timestamp is not None]
        latest = max(times) if len(times) == len(rows) and times else None
        self._remember(sender_id, state, stored, latest)
        return stored, latest, state

    def _state(self, session: Any, sender_id: str) -> tuple[int, int, float]:
        """(number of stored events, highest id, timestamp of that event) of `sender_id`.
        Any insert raises the highest id, any delete (forget me, the purge, another
        process) lowers the count; SQLite may hand a deleted highest id out again (rowids
        without AUTOINCREMENT), to an event written later, so with another timestamp. A
        cache entry taken at the same state is therefore exact (events are never updated).
        Plain SQL on the sender_id index: the ORM's statement building took most of this
        check's time (py-spy)."""
        count, highest, latest = session.execute(_STATE_QUERY, {"sender_id": sender_id}).one()
        return int(count), int(highest or 0), float(latest or 0.0)

    def _remember(
        self, sender_id: str, state: tuple[int, int, float], stored: list[str], latest: float | None
    ) -> None:
        self._cache[sender_id] = (state, stored, latest)
        self._cache.move_to_end(sender_id)
        while len(self._cache) > TRACKER_CACHE_SIZE:
            self._cache.popitem(last=False)

    async def save(self, tracker: DialogueStateTracker) -> None:
        count_fallback(tracker)
        self._ensure_tables()
        if not asked_to_forget(tracker):
            new_events = await self._save_new_events(tracker)
            self._count_turns(tracker, new_events)
            return
        # The forget action has already deleted everything and told the user whether it
        # worked (`bot.privacy.forget_everything`); this turn must not be written back.
        # Deleting again catches events stored since; a failure is left to the purge job.
        from bot.privacy import forget_everything

        self._cache.pop(tracker.sender_id, None)
        self._trackers.pop(tracker.sender_id, None)
        result = forget_everything(tracker.sender_id, self._identity_database_url, tracker_engine=self.engine)
        logger.info("Forgot a conversation on request (complete: %s).", result.ok)

    async def _save_new_events(self, tracker: DialogueStateTracker) -> list[Any]:
        """Rasa's `SQLTrackerStore.save` (the events beyond those stored for the latest
        session, same rows), in one statement for all new events instead of one INSERT
        each, with the stored count taken from the cache when it is current. Returns the
        events written, which the statistics count."""
        await self.stream_events(tracker)
        sender_id = tracker.sender_id
        with self.session_scope() as session:
            stored, latest = self._session_events(session, sender_id)
            new_events = list(itertools.islice(tracker.events, len(stored), len(tracker.events)))
            if not new_events:
                return []
            rows = [_event_row(sender_id, event) for event in new_events]
            session.execute(sa.insert(self.SQLEvent.__table__), rows)
            state = self._state(session, sender_id)
            session.commit()
        times = [row["timestamp"] for row in rows]
        if (
            any(row["type_name"] == SessionStarted.type_name for row in rows)
            or None in times
            or (stored and (latest is None or min(times) < latest))
        ):
            # Rasa's query might now return another list (a new session, or an event it
            # would filter out by its timestamp): let the next load ask the database.
            self._cache.pop(sender_id, None)
            self._trackers.pop(sender_id, None)
        else:
            self._remember(sender_id, state, [*stored, *(row["data"] for row in rows)], max(times))
            self._keep(sender_id, state, tracker)
        return new_events

    def _keep(self, sender_id: str, state: tuple[int, int, float], tracker: DialogueStateTracker) -> None:
        """Keep the tracker just saved, to hand out again while nothing changes (`_Kept`)."""
        if not tracker.events:
            return
        self._trackers[sender_id] = _Kept(
            state, self.domain, tracker, len(tracker.events), tracker.events[-1]
        )
        self._trackers.move_to_end(sender_id)
        while len(self._trackers) > TRACKER_CACHE_SIZE:
            self._trackers.popitem(last=False)

    def _count_turns(self, tracker: DialogueStateTracker, new_events: list[Any]) -> None:
        """Hand the turns to this process's statistics writer (`StatisticsWriter`)."""
        turns = turn_facts(tracker, new_events)
        if not turns or not self._identity_database_url:
            return
        import os

        if self._stats_writer is None or self._stats_writer.pid != os.getpid():
            self._stats_writer = StatisticsWriter(self._statistics_engine)
        self._stats_writer.put(tracker.sender_id, turns)

    def flush_statistics(self) -> None:
        """Wait until the turns saved so far are counted (`StatisticsWriter`)."""
        if self._stats_writer is not None:
            self._stats_writer.flush()

    def _statistics_engine(self) -> Any:
        """The identity database's engine for the turn statistics, written on every turn.
        For a SQLite file, a pool that keeps its connections: `bot.db`'s engine (NullPool,
        SQLAlchemy 1.4's SQLite default) opened and closed a connection for each turn,
        with its PRAGMA, 14 % of the Rasa loop (py-spy, docs/benchmarks.md). Made per
        process: a SQLite connection must not cross the fork of the Rasa workers."""
        import os

        from bot.db import get_engine

        url = self._identity_database_url or ""
        if not url.startswith("sqlite") or ":memory:" in url or ":///" not in url:
            return get_engine(url)
        if self._stats_engine is None or self._stats_engine[0] != os.getpid():
            from sqlalchemy.pool import QueuePool

            engine = sa.create_engine(
                url, future=True, poolclass=QueuePool, pool_size=2, connect_args={"check_same_thread": False}
            )
            sa.event.listen(engine, "connect", _sqlite_foreign_keys)
            # Without it each batch's commit waited for an fsync (SQLite's default
            # synchronous=FULL is per connection): `bot.db`'s other engines have it too.
            sqlite_write_ahead_log(engine)
            self._stats_engine = (os.getpid(), engine)
        return self._stats_engine[1]


class StatisticsWriter:
    """Writes the turn statistics (`bot.statistics.record_turns`) in a thread of its own.

    They were written on Rasa's event loop, in the save of every turn: 20 % of the loop's
    time, more than half of it waiting for the commit's fsync on the SQLite file (py-spy,
    docs/benchmarks.md), while every other conversation of the process waited. The thread
    waits for the disk instead, without the loop. What is still queued when the process is
    killed is lost (a few turns of counts; statistics must never cost a reply); a normal
    exit writes the queue first (`atexit`, at most `FLUSH_SECONDS`)."""

    FLUSH_SECONDS = 5.0
    BATCH = 200  # turns per transaction at most

    def __init__(self, engine: Any) -> None:
        import atexit
        import os
        import queue
        import threading

        self._engine = engine  # a callable: the engine is made in the writing thread's process
        self._queue: queue.Queue[tuple[str, list[Any]] | None] = queue.Queue()
        self.pid = os.getpid()
        self._thread = threading.Thread(target=self._run, name="turn-statistics", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def put(self, sender_id: str, turns: list[Any]) -> None:
        self._queue.put((sender_id, turns))

    def flush(self) -> None:
        """Wait until every turn handed over so far is written (tests, shutdown)."""
        self._queue.join()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(self.FLUSH_SECONDS)

    def _run(self) -> None:
        import queue

        from bot.statistics import record_many_turns

        while True:
            first = self._queue.get()
            if first is None:
                self._queue.task_done()
                return
            # What queued up while the last batch was written goes in one transaction.
            batch, stop = [first], False
            while len(batch) < self.BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            try:
                record_many_turns(self._engine(), batch)
            except Exception:  # statistics must never cost a reply
                logger.warning("Could not count %d turns for the statistics.", len(batch), exc_info=False)
            finally:
                for _ in range(len(batch) + stop):
                    self._queue.task_done()
            if stop:
                return


@dataclass
class _Kept:
    """A tracker this process saved, handed out again by the next load of the conversation
    instead of rebuilt from its events (JSON decoding and a replay of every event, a tenth of
    a turn on the server): only while the store's state (`_state`: count, highest id, its
    timestamp) is the one written with it, so that any write or delete by another process,
    "forget me" or the purge rebuilds it; with the same domain (a swapped model rebuilds);
    and while the tracker still has exactly the events it was saved with (a turn that
    failed before its save leaves events on it, so it is rebuilt). Rasa's lock store keeps
    one turn per conversation at a time, and every turn loads the tracker, changes it and
    saves it, as it would a rebuilt one."""

    state: tuple[int, int, float]
    domain: Any
    tracker: DialogueStateTracker
    events: int
    last_event: Any


_STATE_QUERY = sa.text(
    "SELECT count(*), max(id), (SELECT timestamp FROM events WHERE sender_id = :sender_id "
    "ORDER BY id DESC LIMIT 1) FROM events WHERE sender_id = :sender_id"
)
TRACKER_CACHE_SIZE = 2000  # conversations whose serialised events a process keeps


def _event_row(sender_id: str, event: Any) -> dict[str, Any]:
    """The `events` row Rasa's `SQLTrackerStore.save` writes for `event`."""
    data = event.as_dict()
    return {
        "sender_id": sender_id,
        "type_name": event.type_name,
        "timestamp": data.get("timestamp"),
        "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
        "action_name": data.get("name"),
        "data": json.dumps(data),
    }


def _sqlite_foreign_keys(connection: Any, _: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


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
    """Rasa's Redis lock store when REDIS_URL is set (several replicas); else, with several
    Rasa workers on this machine (`SANIC_WORKERS`, from RASA_WORKERS), a SQLite file they
    share (`bot.lock_store`); else the in-memory one."""

    def __init__(self, endpoint_config: EndpointConfig | None = None) -> None:
        from bot.lock_store import SQLiteLockStore, lock_file_for
        from bot.settings import VAR_DIR, get_settings, sanic_workers

        settings = get_settings()
        if settings.redis_url:
            self._store: LockStore = RedisLockStore(**redis_lock_kwargs(settings.redis_url))
        elif sanic_workers() > 1:
            self._store = SQLiteLockStore(lock_file_for(settings.tracker_store_url, VAR_DIR))
        else:
            self._store = InMemoryLockStore()
        super().__init__()

    def get_lock(self, conversation_id: str) -> Any:
        return self._store.get_lock(conversation_id)

    def delete_lock(self, conversation_id: str) -> None:
        self._store.delete_lock(conversation_id)

    def save_lock(self, lock: Any) -> None:
        self._store.save_lock(lock)

    # The read-modify-write steps go to the store itself: the SQLite one makes each atomic.
    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        return self._store.issue_ticket(conversation_id, lock_lifetime)

    def update_lock(self, conversation_id: str) -> None:
        self._store.update_lock(conversation_id)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        self._store.cleanup(conversation_id, ticket_number)

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
