"""Channel state shared by several Rasa workers on one machine: chat claims and rate limits.

`bot run` starts RASA_WORKERS Rasa workers on one port (`bot.rasa_server`); the kernel
hands each new connection to any of them, so two updates of one Telegram or Zalo chat can
reach two workers. The chat claims keep a chat on one replica at a time, which keeps its
replies in order; two things break them between workers:

- Rasa builds the channels, and so their `ChatClaims` and its replica id, before Sanic
  forks the workers: every worker would claim chats under the same id and never refuse
  one another. Here each process takes an id of its own after a fork.
- Without REDIS_URL the claims lived in one process's memory. Here they live in a SQLite
  file the workers share (next to the tracker store, as the lock store's), with the same
  rules as the Redis scripts: a worker takes a chat when no other worker has turns of it
  (one `BEGIN IMMEDIATE` transaction), claims expire after `ttl_seconds`.

Between workers a refused update would be answered 503 and come back only at the
platform's next retry, long after the turn in the way has finished; since the webhook holds
the request for the turn anyway (`ack_within`), a worker here waits for the other's turns of
that chat to finish (up to `wait_seconds`, polled), then takes the chat: the same order,
without the retry. Past the wait, or when this worker stops, the update is refused as before.

The per-sender rate limit (`bot.channels.limits.RateLimiter`) counted in one process's
memory: with two workers a sender would get up to twice RATE_LIMIT_PER_MINUTE.
`SharedRateLimiter` keeps the same sliding window in the same SQLite file (one row per
accepted message, a hash of the sender, kept one window long).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
import uuid
import weakref
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from bot.channels.chat_claims import ChatClaims
from bot.channels.limits import RateLimiter
from bot.lock_store import begin_immediate, connect_shared

_RATE_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS rate_events (sender TEXT NOT NULL, at REAL NOT NULL);"
    "CREATE INDEX IF NOT EXISTS rate_events_sender ON rate_events (sender, at)"
)
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS chat_claims (chat TEXT NOT NULL, replica TEXT NOT NULL, "
    "turns INTEGER NOT NULL, expires REAL NOT NULL, PRIMARY KEY (chat, replica))"
)


class WorkerChatClaims(ChatClaims):
    """`ChatClaims` with a replica id per process and, without Redis, a shared SQLite file."""

    POLL_SECONDS = 0.02

    def __init__(
        self,
        redis_url: str | None = None,
        path: Path | None = None,
        ttl_seconds: int = 120,
        wait_seconds: float = 10.0,
    ) -> None:
        super().__init__(redis_url, ttl_seconds)
        self._path = None if redis_url else path
        self._wait = wait_seconds
        self._connection: sqlite3.Connection | None = None
        self._pid = os.getpid()
        alive = weakref.ref(self)

        def forked() -> None:
            claims = alive()
            if claims is not None:
                claims._forked()

        os.register_at_fork(after_in_child=forked)

    def _forked(self) -> None:
        self.replica = uuid.uuid4().hex[:12]
        self.local = Counter()
        self._client = None  # a Redis connection is not shared across a fork either
        self._connection = None

    def _db(self) -> sqlite3.Connection:
        if self._connection is None or self._pid != os.getpid():
            assert self._path is not None
            connection = connect_shared(self._path)
            connection.execute(_SCHEMA)
            self._connection, self._pid = connection, os.getpid()
        return self._connection

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._db()
        begin_immediate(db)
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _try_take(self, chat: str) -> bool:
        """The Redis `_TAKE` script: refused while another worker has turns of `chat`."""
        key, now = self._key(chat), time.time()
        with self._transaction() as db:
            db.execute("DELETE FROM chat_claims WHERE chat = ? AND expires < ?", (key, now))
            others = db.execute(
                "SELECT count(*) FROM chat_claims WHERE chat = ? AND replica != ? AND turns > 0",
                (key, self.replica),
            ).fetchone()[0]
            mine = db.execute(
                "SELECT turns FROM chat_claims WHERE chat = ? AND replica = ?", (key, self.replica)
            ).fetchone()
            if others and not (mine and mine[0] > 0):
                return False
            db.execute(
                "INSERT INTO chat_claims (chat, replica, turns, expires) VALUES (?, ?, 1, ?) "
                "ON CONFLICT (chat, replica) DO UPDATE SET turns = turns + 1",
                (key, self.replica, now + self._ttl),
            )
            db.execute("UPDATE chat_claims SET expires = ? WHERE chat = ?", (now + self._ttl, key))
        return True

    async def take(self, chat: str) -> bool:
        if self._path is None:
            return await super().take(chat)
        deadline = time.monotonic() + self._wait
        while not self.stopping:
            if self._try_take(chat):
                self.local[chat] += 1
                return True
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(self.POLL_SECONDS)
        return False

    async def release(self, chat: str) -> None:
        if self._path is None:
            await super().release(chat)
            return
        if chat not in self.local:
            return  # given up by `release_all`
        self.local[chat] -= 1
        if self.local[chat] <= 0:
            del self.local[chat]
        with self._transaction() as db:
            db.execute(
                "UPDATE chat_claims SET turns = turns - 1 WHERE chat = ? AND replica = ?",
                (self._key(chat), self.replica),
            )
            db.execute("DELETE FROM chat_claims WHERE chat = ? AND turns <= 0", (self._key(chat),))

    async def release_all(self) -> None:
        if self._path is None:
            await super().release_all()
            return
        self.local = Counter()
        with self._transaction() as db:
            db.execute("DELETE FROM chat_claims WHERE replica = ?", (self.replica,))


def chat_claims_for(redis_url: str | None, tracker_store_url: str, workers: int) -> ChatClaims:
    """The claims for this deployment: Redis when set, the shared SQLite file with several
    workers, else the claims in memory (one process)."""
    if redis_url or workers <= 1:
        return WorkerChatClaims(redis_url, None)
    from bot.lock_store import lock_file_for
    from bot.settings import VAR_DIR

    return WorkerChatClaims(None, lock_file_for(tracker_store_url, VAR_DIR))  # the lock store's file


class SharedRateLimiter(RateLimiter):
    """`RateLimiter`'s sliding window kept in a file the workers share (module docstring).
    `time.monotonic` is the machine's clock since boot, the same in every process."""

    CLEAN_EVERY = 500  # accepted messages between removals of other senders' old rows

    def __init__(self, per_minute: int, path: Path, window: float = 60.0) -> None:
        super().__init__(per_minute, window)
        self._path = path
        self._connection: sqlite3.Connection | None = None
        self._pid = 0
        self._accepted = 0

    def _db(self) -> sqlite3.Connection:
        if self._connection is None or self._pid != os.getpid():
            connection = connect_shared(self._path)
            connection.executescript(_RATE_SCHEMA)
            self._connection, self._pid = connection, os.getpid()
        return self._connection

    def allow(self, sender_id: str, now: float | None = None) -> bool:
        import hashlib

        now = time.monotonic() if now is None else now
        sender = hashlib.sha256(sender_id.encode("utf-8")).hexdigest()[:32]
        db = self._db()
        begin_immediate(db)
        try:
            db.execute("DELETE FROM rate_events WHERE sender = ? AND at <= ?", (sender, now - self.window))
            (count,) = db.execute("SELECT count(*) FROM rate_events WHERE sender = ?", (sender,)).fetchone()
            allowed = count < self.per_minute
            if allowed:
                db.execute("INSERT INTO rate_events (sender, at) VALUES (?, ?)", (sender, now))
                self._accepted += 1
                if self._accepted % self.CLEAN_EVERY == 0:
                    db.execute("DELETE FROM rate_events WHERE at <= ?", (now - self.window,))
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return allowed


def rate_limiter_for(per_minute: int, tracker_store_url: str, workers: int) -> RateLimiter:
    """The sender rate limit: in memory for one process, shared by several workers."""
    if workers <= 1:
        return RateLimiter(per_minute)
    from bot.lock_store import lock_file_for
    from bot.settings import VAR_DIR

    # A file of its own: every message writes to it, and the lock store's file is busy enough.
    lock_file = lock_file_for(tracker_store_url, VAR_DIR)
    return SharedRateLimiter(per_minute, lock_file.with_name(lock_file.name + "-rate"))
