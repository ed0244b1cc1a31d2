"""Rasa's ticket lock shared by the Rasa worker processes of one machine, without Redis.

`bot run` starts several Rasa workers on one port (`RASA_WORKERS`, Sanic workers sharing
the socket: the second core, docs/benchmarks.md). Two messages of one conversation can
then reach two workers, and Rasa's in-memory lock store would let both turns run at once,
each on its own copy of the tracker, and the later save would drop the earlier turn's
events. Rasa allows several workers only with a lock store other than the in-memory one;
Redis is the one it ships, and a fresh clone has no Redis.

`SQLiteLockStore` keeps Rasa's `TicketLock`s (the same JSON Rasa's Redis store writes) in a
SQLite file next to the tracker store. Rasa's base class reads, changes and writes a lock
in three steps (a race between processes: a ticket lost, or a lock deleted just after
another worker took a ticket on it, and that turn then fails); here each of those
read-modify-write steps (issue a ticket, drop expired ones, finish and clean up) is one
`BEGIN IMMEDIATE` transaction, so workers take turns on the file. A transaction lasts
microseconds; the file needs no durability (a lock outlives no restart: its tickets expire
after Rasa's lock lifetime), so it is written with `synchronous=OFF`.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore


def begin_immediate(db: sqlite3.Connection, timeout: float = 30.0) -> None:
    """BEGIN IMMEDIATE (take the file's write lock now), retried after short sleeps.

    SQLite's own busy handler (the `timeout` of `sqlite3.connect`) sleeps 1, 2, 5, 10 … ms
    between tries, on Rasa's event loop; the other worker holds the lock for a few
    microseconds, so those sleeps were most of the wait (py-spy: 5 % of a worker's loop
    at 20 users). Here the first retries come after 50 µs, doubling up to 5 ms."""
    import time

    deadline, pause = time.monotonic() + timeout, 0.00005
    while True:
        try:
            db.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.005)


def connect_shared(path: Path) -> sqlite3.Connection:
    """A connection to a SQLite file the workers share, for this process only (a SQLite
    connection must not cross a fork). Nothing in these files outlives a restart (tickets,
    claims and rate windows expire), so they are written without fsync (`synchronous=OFF`);
    busy waits are `begin_immediate`'s, not SQLite's."""
    from bot.db import private_sqlite_file

    path.parent.mkdir(parents=True, exist_ok=True)
    private_sqlite_file(str(path))
    connection = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=OFF")
    # From here on: readers of a WAL file do not wait for the writer, and writers wait in
    # `begin_immediate`.
    connection.execute("PRAGMA busy_timeout=0")
    return connection


_SCHEMA = "CREATE TABLE IF NOT EXISTS rasa_locks (conversation_id TEXT PRIMARY KEY, data TEXT NOT NULL)"


def lock_file_for(tracker_store_url: str, var_dir: Path) -> Path:
    """Next to a SQLite tracker store (so two deployments on one machine do not share it);
    under `var_dir` for a server database."""
    if tracker_store_url.startswith("sqlite") and ":///" in tracker_store_url:
        path = tracker_store_url.split(":///", 1)[1]
        if path and path != ":memory:":
            return Path(path + "-locks")
    return var_dir / "rasa-locks.db"


class SQLiteLockStore(LockStore):
    """Rasa's ticket locks in a SQLite file, each change one transaction (module docstring)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._connection: sqlite3.Connection | None = None
        self._pid = 0
        super().__init__()

    def _db(self) -> sqlite3.Connection:
        # A SQLite connection must not cross a fork: Sanic forks its workers after Rasa
        # has read the endpoints, so each process opens its own.
        if self._connection is None or self._pid != os.getpid():
            connection = connect_shared(self.path)
            connection.execute(_SCHEMA)
            self._connection, self._pid = connection, os.getpid()
        return self._connection

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """One atomic read-modify-write: other workers wait (busy timeout) until it ends."""
        db = self._db()
        if db.in_transaction:  # nested in one of ours
            yield
            return
        begin_immediate(db)
        try:
            yield
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def get_lock(self, conversation_id: str) -> TicketLock | None:
        import json

        row = (
            self._db()
            .execute("SELECT data FROM rasa_locks WHERE conversation_id = ?", (conversation_id,))
            .fetchone()
        )
        return TicketLock.from_dict(json.loads(row[0])) if row else None

    def delete_lock(self, conversation_id: str) -> None:
        deleted = self._db().execute("DELETE FROM rasa_locks WHERE conversation_id = ?", (conversation_id,))
        self._log_deletion(conversation_id, deleted.rowcount > 0)

    def save_lock(self, lock: TicketLock) -> None:
        self._db().execute(
            "INSERT OR REPLACE INTO rasa_locks (conversation_id, data) VALUES (?, ?)",
            (lock.conversation_id, lock.dumps()),
        )

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        try:
            with self._transaction():
                lock = self.get_or_create_lock(conversation_id)
                ticket = lock.issue_ticket(lock_lifetime)
                self.save_lock(lock)
                return ticket
        except Exception as error:  # as Rasa's base class reports it
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    def update_lock(self, conversation_id: str) -> None:
        with self._transaction():
            super().update_lock(conversation_id)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        # Finishing, checking for waiters and deleting in one step: apart, another worker
        # could take a ticket between the check and the delete and find its lock gone.
        with self._transaction():
            super().cleanup(conversation_id, ticket_number)

    def close(self) -> None:
        if self._connection is not None and self._pid == os.getpid():
            self._connection.close()
        self._connection = None
