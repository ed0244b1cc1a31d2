"""The "replied" journal: an update is marked handled in microseconds, on this machine.

Why: a webhook marks an update handled the moment the platform accepted the first message
of its reply (`bot.channels.base`); until that mark is committed, a crash (SIGKILL) makes
the platform's redelivery answer the update a second time. The SQL mark (`SqlDedupeStore`)
took 30 ms (median) to 0.44 s (p99) from Telegram's 200 to its commit, mostly waiting for
SQLite's write lock under contention (docs/reliability.md, "Measured"); 0-8 of 300 updates
were answered twice per crash at 20 updates/s. Here the same mark is first one `os.write`
of one line on an `O_APPEND` file descriptor: a few microseconds, and once `write` has
returned, the line is in the kernel's page cache, so it survives the death of the process
(not a power cut: the SQL mark, written right after, is the durable one).

- One journal per database (next to a SQLite `bot.db`, else under `var/` named after the
  database URL), shared by every process on the machine: each Rasa worker appends to it and
  reads what the others appended, from the offset it had read up to (`contains`, called
  when an update is claimed). Replicas on other machines and a Redis dedupe store do not
  see it: they rely on the SQL (or Redis) mark as before.
- A line is `<unix time> <key>\\n`; keys are update and message ids (as in
  `channel_processed_updates`), never a user id. The files are created 0600.
- Kept short: every `ROTATE_SECONDS` one process (holding an `flock`) copies the keys of the
  previous generation (`<journal>.1`) that the database does not have yet into it (`flush`,
  `SqlDedupeStore.record_done`), then renames the journal to `<journal>.1`. A key is kept
  between one and two periods on disk and in memory, and then lives on in the SQL table,
  under its 25 h retention, privacy purge included. When the database is down, nothing is
  dropped until the copy succeeds.
- Appending needs no lock between processes: a writer checks before each write that its
  descriptor is still the journal's (one `stat`); a line that lands in the file just
  renamed to `.1` is read from there, and that file lives one more period.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine

logger = logging.getLogger(__name__)

ROTATE_SECONDS = 600.0
_MAX_KEY = 300


@dataclass
class _Generation:
    """One journal file this process reads: its descriptor (held open, so its inode number
    cannot be reused while tracked), how far it was read, and the keys in it."""

    fd: int
    offset: int = 0
    first: float | None = None  # the time of its first line
    keys: set[str] = field(default_factory=set)


def _storable(key: str) -> bool:
    return 0 < len(key) <= _MAX_KEY and key.isascii() and key.isprintable() and " " not in key


class RepliedJournal:
    """Keys of updates whose reply the platform accepted, in an append-only file."""

    def __init__(self, path: Path, rotate_seconds: float = ROTATE_SECONDS) -> None:
        self.path = path
        self.previous = path.with_name(path.name + ".1")
        self._lock_path = path.with_name(path.name + ".lock")
        self._rotate = rotate_seconds
        self._reset()

    def _reset(self) -> None:
        # Descriptors and locks must not cross a fork (Sanic forks the Rasa workers after
        # the channels are built): each process opens its own, lazily.
        self._pid = os.getpid()
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._writer: tuple[int, int] | None = None  # (fd, inode)
        self._generations: dict[int, _Generation] = {}

    def _same_process(self) -> None:
        if self._pid != os.getpid():
            self._reset()

    def _open(self, path: Path, flags: int) -> int:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        return os.open(path, flags | os.O_CLOEXEC, 0o600)

    # --- writing: any thread (a platform client's, the moment the platform answered) ---

    def append(self, key: str) -> bool:
        """Record `key` as replied; False when it could not (the SQL mark still follows)."""
        if not _storable(key):
            return False
        self._same_process()
        line = f"{time.time():.3f} {key}\n".encode("ascii")
        try:
            with self._write_lock:
                os.write(self._current_writer(), line)
        except OSError as exc:
            logger.warning("replied journal: could not append (%s)", type(exc).__name__)
            return False
        return True

    def _current_writer(self) -> int:
        """The descriptor of the file now at `path` (reopened after a rotation)."""
        try:
            inode = os.stat(self.path).st_ino
        except FileNotFoundError:
            inode = -1
        if self._writer is not None and self._writer[1] == inode:
            return self._writer[0]
        if self._writer is not None:
            os.close(self._writer[0])
            self._writer = None
        fd = self._open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        self._writer = (fd, os.fstat(fd).st_ino)
        return fd

    # --- reading: when an update is claimed ---

    def contains(self, key: str) -> bool:
        """Whether any process on this machine recorded `key` (within the last one or two
        rotation periods; older keys are in the database)."""
        if not _storable(key):
            return False
        self._same_process()
        with self._read_lock:
            self._refresh()
            return any(key in generation.keys for generation in self._generations.values())

    def _refresh(self) -> None:
        """Read what was appended since the last call, to both files; forget a file that
        is neither of them any more (its keys were copied to the database first)."""
        live: set[int] = set()
        for path in (self.previous, self.path):
            try:
                inode = os.stat(path).st_ino
            except FileNotFoundError:
                continue
            if inode not in self._generations:
                try:
                    fd = self._open(path, os.O_RDONLY)
                except FileNotFoundError:
                    continue
                inode = os.fstat(fd).st_ino
                if inode in self._generations:
                    os.close(fd)
                else:
                    self._generations[inode] = _Generation(fd)
            live.add(inode)
            self._read_tail(self._generations[inode])
        for inode in set(self._generations) - live:
            os.close(self._generations.pop(inode).fd)

    @staticmethod
    def _read_tail(generation: _Generation) -> None:
        size = os.fstat(generation.fd).st_size
        if size <= generation.offset:
            return
        data = os.pread(generation.fd, size - generation.offset, generation.offset)
        end = data.rfind(b"\n") + 1  # a line still being written is read next time
        for line in data[:end].splitlines():
            at, _, key = line.decode("ascii", "replace").partition(" ")
            if not key:
                continue
            generation.keys.add(key)
            if generation.first is None:
                with contextlib.suppress(ValueError):
                    generation.first = float(at)
        generation.offset += end

    @staticmethod
    def entries(path: Path) -> list[tuple[str, float]]:
        """The (key, time) lines of one journal file, read afresh (complete lines only)."""
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return []
        found: list[tuple[str, float]] = []
        for line in data[: data.rfind(b"\n") + 1].splitlines():
            at, _, key = line.decode("ascii", "replace").partition(" ")
            with contextlib.suppress(ValueError):
                if key:
                    found.append((key, float(at)))
        return found

    # --- keeping it short ---

    def due(self, now: float | None = None) -> bool:
        """Whether the journal's first line is older than a rotation period (as last read)."""
        now = time.time() if now is None else now
        self._same_process()
        with self._read_lock:
            try:
                inode = os.stat(self.path).st_ino
            except FileNotFoundError:
                return False
            generation = self._generations.get(inode)
            return (
                generation is not None
                and generation.first is not None
                and generation.first < now - self._rotate
            )

    def rotate(self, record: Callable[[Iterable[tuple[str, float]]], None], now: float | None = None) -> bool:
        """Copy the previous generation's keys to the database (`record`, which raises when
        it cannot), then make the journal the previous generation; or, with no journal
        written for a period (an idle machine), drop the previous generation the same way.
        One process at a time (the others skip); True when a file was retired."""
        now = time.time() if now is None else now
        self._same_process()
        if not self.path.exists() and not self.previous.exists():
            return False
        lock = self._open(self._lock_path, os.O_RDWR | os.O_CREAT)
        try:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False  # another process is rotating
            with self._read_lock:
                self._refresh()  # what another process rotated or wrote meanwhile
            if self.due(now):
                record(self.entries(self.previous))
                with contextlib.suppress(FileNotFoundError):
                    os.rename(self.path, self.previous)
                return True
            if not self.path.exists() and self.previous.exists():
                if self.previous.stat().st_mtime < now - self._rotate:
                    record(self.entries(self.previous))
                    self.previous.unlink()
                    return True
            return False
        finally:
            os.close(lock)  # releases the flock


def journal_for(engine: Engine, var_dir: Path) -> RepliedJournal | None:
    """The journal of the database behind `engine`: next to a SQLite file, else under
    `var_dir` named after the URL (two deployments on one machine must not share one);
    None for an in-memory database."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if not database or database.startswith(":memory:") or database.startswith("file:"):
            return None
        return RepliedJournal(Path(database + "-replied"))
    name = hashlib.sha256(url.render_as_string(hide_password=True).encode()).hexdigest()[:16]
    return RepliedJournal(var_dir / f"replied-{name}")
