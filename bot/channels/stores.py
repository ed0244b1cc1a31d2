"""What the channels keep in the database (or Redis) between webhook calls.

- `PayloadStore`: button payloads too long for a platform (Telegram's 64-byte
  callback_data) under a short hashed id, and which payload a button title stood for in
  one conversation (Zalo sends the title back as text), for 48 hours.
- The dedupe stores: which platform updates were already handled, so a redelivery gets no
  second reply. Telegram keeps retrying an update for up to 24 hours and Zalo retries for
  hours too, so a claim is kept at least `DEFAULT_TTL` (25 h) and shared by every replica
  and restart: in the SQL database (`DATABASE_URL`), or in Redis when `REDIS_URL` is set
  (`SET NX EX`). Keys hold update/message ids, never user ids.
- At least once, exactly one reply (`begin` / `finish` / `abandon`): a webhook `begin`s an
  update before its turn (an in-flight claim with a lease), and `finish`es it only once
  the reply was sent (or the turn failed and the user got the fallback reply); only then
  is it "done" and a redelivery a duplicate. A turn cut short (SIGTERM) `abandon`s its
  claim, so the redelivery runs it at once; a turn that died with its process (SIGKILL)
  leaves a claim whose lease expires, and the redelivery after that runs it again.

The tables are declared in `bot.db` and created by its migrations.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as _dt
import enum
import hashlib
import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot.channels.replied import RepliedJournal, journal_for
from bot.db import button_payloads as _payloads
from bot.db import ensure_schema, sqlite_write_ahead_log
from bot.db import processed_updates as processed
from bot.db import turns_in_flight as in_flight
from bot.db import zalo_reply_targets as _reply_targets

logger = logging.getLogger(__name__)


def _schema_if_reachable(engine: Engine) -> None:
    """Migrate now if the database answers; else the first use does (`ensure_schema` runs
    until it succeeds), so a channel can start while the database is down."""
    try:
        ensure_schema(engine)
    except SQLAlchemyError:
        pass


# --- button payloads ------------------------------------------------------------------------

SHORT_ID_PREFIX = "p:"
REPLY_KEY_PREFIX = "z:"
REPLY_KEY_TTL = _dt.timedelta(hours=48)


class PayloadStore:
    """Maps button payloads to short ids (Telegram's 64-byte callback_data) and back.

    The id is a hash of the payload, so the same payload always gets the same id and the
    table only grows with distinct payloads (topics x entities), never per user. It also
    keeps, for 48 hours, which payload a visible button title stood for in one
    conversation (`remember_reply`), for platforms whose buttons send their title back.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._puts = 0
        _schema_if_reachable(engine)

    @staticmethod
    def short_id(payload: str) -> str:
        digest = hashlib.sha256(payload.encode("utf-8", "surrogatepass")).digest()[:12]
        return SHORT_ID_PREFIX + base64.urlsafe_b64encode(digest).decode("ascii")

    def _put(self, key: str, payload: str) -> None:
        now = _dt.datetime.utcnow()
        ensure_schema(self._engine)
        with self._engine.begin() as conn:
            updated = conn.execute(
                sa.update(_payloads).where(_payloads.c.key == key).values(payload=payload, created_at=now)
            ).rowcount
            if not updated:
                try:
                    with conn.begin_nested():
                        conn.execute(sa.insert(_payloads).values(key=key, payload=payload, created_at=now))
                except IntegrityError:
                    pass  # inserted concurrently with the same content
            self._puts += 1
            if self._puts % 200 == 1:
                conn.execute(
                    sa.delete(_payloads).where(
                        _payloads.c.key.like(REPLY_KEY_PREFIX + "%"),
                        _payloads.c.created_at < now - REPLY_KEY_TTL,
                    )
                )

    def _get(self, key: str) -> str | None:
        ensure_schema(self._engine)
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(_payloads.c.payload, _payloads.c.created_at).where(_payloads.c.key == key)
            ).first()
        if row is None:
            return None
        if key.startswith(REPLY_KEY_PREFIX) and row.created_at < _dt.datetime.utcnow() - REPLY_KEY_TTL:
            return None
        return row.payload

    async def encode(self, payload: str, max_bytes: int) -> str:
        """`payload` itself when it fits in `max_bytes`, else its stored short id."""
        if len(payload.encode("utf-8", "surrogatepass")) <= max_bytes and not payload.startswith(
            SHORT_ID_PREFIX
        ):
            return payload
        key = self.short_id(payload)
        await asyncio.to_thread(self._put, key, payload)
        return key

    async def decode(self, data: str) -> str | None:
        """The payload behind button data; None for a short id we do not know."""
        if not data.startswith(SHORT_ID_PREFIX):
            return data
        return await asyncio.to_thread(self._get, data)

    @staticmethod
    def _reply_key(sender_id: str, title: str) -> str:
        # surrogatepass: a lone surrogate in a typed text must not end the turn (review Z29).
        material = f"{sender_id}\n{' '.join(title.split()).casefold()}".encode("utf-8", "surrogatepass")
        return REPLY_KEY_PREFIX + hashlib.sha256(material).hexdigest()[:40]

    async def remember_reply(self, sender_id: str, title: str, payload: str) -> None:
        """A button titled `title` was offered to `sender_id` and stands for `payload`."""
        await asyncio.to_thread(self._put, self._reply_key(sender_id, title), payload)

    async def reply_payload(self, sender_id: str, text: str) -> str | None:
        """The payload of a button recently offered to `sender_id` whose title is `text`."""
        return await asyncio.to_thread(self._get, self._reply_key(sender_id, text))


# --- dedupe -------------------------------------------------------------------------------

DEFAULT_TTL = _dt.timedelta(hours=25)


class DedupeUnavailable(RuntimeError):
    """The store could not be asked; the webhook should answer 503 so the platform retries."""


DEFAULT_LEASE = _dt.timedelta(seconds=60)

# `finish` (the "replied" mark) runs on threads of its own. Through the default pool it
# queued behind every other blocking call of the process (tracker store, payloads, claims,
# pseudonyms: 6 threads on 2 cores), and each millisecond between the platform's 2xx for a
# reply and this commit is a window in which a crash (SIGKILL) makes the redelivery answer
# the update twice. `run_in_executor` hands the write to a thread before it yields, so the
# commit does not wait for the event loop either.
_MARKS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="dedupe-replied")


class Claim(enum.Enum):
    """What `begin` found for an update."""

    NEW = "new"  # run the turn (first delivery, or the claim of a dead turn expired)
    DONE = "done"  # its reply was sent: a duplicate
    BUSY = "busy"  # its turn runs elsewhere (or died less than a lease ago): try again later


class DedupeStore(Protocol):
    async def claim(self, key: str) -> bool:
        """True the first time `key` is claimed within the TTL, False for a repeat (done at once)."""

    async def begin(self, key: str, lease: _dt.timedelta = DEFAULT_LEASE) -> Claim:
        """Claim `key` for a turn that is about to run, for `lease`."""

    async def finish(self, key: str) -> None:
        """The turn of `key` is over: its redeliveries are duplicates from now on."""

    def finish_now(self, key: str) -> bool:
        """`finish` at once on the calling thread (any thread; a platform client's, the
        moment the platform accepted the reply); False when this store cannot, or failed."""

    async def abandon(self, key: str) -> None:
        """The turn of `key` was cut short: let its redelivery run it."""


class SqlDedupeStore:
    """Claims as rows with a primary key; old rows are purged now and then.

    With a `RepliedJournal` (`bot.channels.replied`), the "replied" mark is first a line
    appended to it (microseconds, and it survives a crash of the process) and then the row;
    `begin` finds an update in the journal before it asks the database."""

    def __init__(
        self,
        engine: Engine,
        ttl: _dt.timedelta = DEFAULT_TTL,
        purge_every: int = 500,
        journal: RepliedJournal | None = None,
    ) -> None:
        self._engine = engine
        self._ttl = ttl
        self._purge_every = purge_every
        self._claims = 0
        self.journal = journal
        sqlite_write_ahead_log(engine)
        _schema_if_reachable(engine)

    def claim_sync(self, key: str) -> bool:
        now = _dt.datetime.utcnow()
        try:
            ensure_schema(self._engine)
            with self._engine.begin() as conn:
                self._claims += 1
                if self._claims % self._purge_every == 1:
                    conn.execute(sa.delete(processed).where(processed.c.created_at < now - self._ttl))
                existing = conn.execute(
                    sa.select(processed.c.created_at).where(processed.c.key == key)
                ).scalar_one_or_none()
                if existing is not None:
                    if existing >= now - self._ttl:
                        return False
                    # An expired claim (ids can be reused after a week): take it afresh.
                    conn.execute(sa.update(processed).where(processed.c.key == key).values(created_at=now))
                    return True
                conn.execute(sa.insert(processed).values(key=key, created_at=now))
                return True
        except IntegrityError:
            return False  # a concurrent delivery of the same update won the insert
        except SQLAlchemyError as exc:
            raise DedupeUnavailable(type(exc).__name__) from exc

    async def claim(self, key: str) -> bool:
        return await asyncio.to_thread(self.claim_sync, key)

    def begin_sync(self, key: str, lease: _dt.timedelta = DEFAULT_LEASE) -> Claim:
        if self.journal is not None and self._journal_done(key):
            return Claim.DONE
        now = _dt.datetime.utcnow()
        try:
            ensure_schema(self._engine)
            with self._engine.begin() as conn:
                self._claims += 1
                if self._claims % self._purge_every == 1:
                    conn.execute(sa.delete(processed).where(processed.c.created_at < now - self._ttl))
                    conn.execute(sa.delete(in_flight).where(in_flight.c.lease_until < now - self._ttl))
                done_at = conn.execute(
                    sa.select(processed.c.created_at).where(processed.c.key == key)
                ).scalar_one_or_none()
                if done_at is not None and done_at >= now - self._ttl:
                    return Claim.DONE
                lease_until = conn.execute(
                    sa.select(in_flight.c.lease_until).where(in_flight.c.key == key)
                ).scalar_one_or_none()
                if lease_until is None:
                    conn.execute(sa.insert(in_flight).values(key=key, lease_until=now + lease))
                    return Claim.NEW
                if lease_until > now:
                    return Claim.BUSY
                # The turn that claimed it died (its lease ran out): take it over, once.
                taken = conn.execute(
                    sa.update(in_flight)
                    .where(in_flight.c.key == key, in_flight.c.lease_until == lease_until)
                    .values(lease_until=now + lease)
                ).rowcount
                return Claim.NEW if taken == 1 else Claim.BUSY
        except IntegrityError:
            return Claim.BUSY  # a concurrent delivery of the same update claimed it first
        except SQLAlchemyError as exc:
            raise DedupeUnavailable(type(exc).__name__) from exc

    def _journal_done(self, key: str) -> bool:
        """The journal has `key`; rotated now and then (here: never on a sending thread)."""
        journal = self.journal
        assert journal is not None
        try:
            if journal.due():
                journal.rotate(self.record_done)
        except (OSError, SQLAlchemyError) as exc:  # kept whole; tried again at the next claim
            logger.warning("replied journal not rotated: %s", type(exc).__name__)
        try:
            return journal.contains(key)
        except OSError as exc:  # the database then decides, as before
            logger.warning("replied journal not read: %s", type(exc).__name__)
            return False

    def record_done(self, entries: Iterable[tuple[str, float]]) -> None:
        """Updates marked in the journal (key, unix time), as done rows when missing (the
        journal's rotation: a process killed before its own row leaves only the line)."""
        wanted: dict[str, float] = {}
        for key, at in entries:
            wanted[key] = max(at, wanted.get(key, at))
        keys = list(wanted)
        with self._engine.begin() as conn:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                have = set(
                    conn.execute(sa.select(processed.c.key).where(processed.c.key.in_(chunk))).scalars()
                )
                rows = [
                    {"key": key, "created_at": _dt.datetime.utcfromtimestamp(wanted[key])}
                    for key in chunk
                    if key not in have
                ]
                if rows:
                    conn.execute(sa.insert(processed), rows)

    def finish_sync(self, key: str) -> None:
        if self.journal is not None:
            self.journal.append(key)
        self._commit_done(key)

    def _commit_done(self, key: str) -> None:
        now = _dt.datetime.utcnow()
        try:
            with self._engine.begin() as conn:
                conn.execute(sa.delete(in_flight).where(in_flight.c.key == key))
                updated = conn.execute(
                    sa.update(processed).where(processed.c.key == key).values(created_at=now)
                ).rowcount
                if not updated:
                    conn.execute(sa.insert(processed).values(key=key, created_at=now))
        except SQLAlchemyError as exc:
            raise DedupeUnavailable(type(exc).__name__) from exc

    def finish_now(self, key: str) -> bool:
        try:
            self.finish_sync(key)
        except DedupeUnavailable:
            return False  # the webhook's own `finish` tries again and logs it
        return True

    def abandon_sync(self, key: str) -> None:
        try:
            with self._engine.begin() as conn:
                conn.execute(sa.delete(in_flight).where(in_flight.c.key == key))
        except SQLAlchemyError as exc:
            raise DedupeUnavailable(type(exc).__name__) from exc

    async def begin(self, key: str, lease: _dt.timedelta = DEFAULT_LEASE) -> Claim:
        return await asyncio.to_thread(self.begin_sync, key, lease)

    async def finish(self, key: str) -> None:
        if self.journal is not None:
            self.journal.append(key)  # here, not behind the threads of `_MARKS`
        await asyncio.get_running_loop().run_in_executor(_MARKS, self._commit_done, key)

    async def abandon(self, key: str) -> None:
        await asyncio.to_thread(self.abandon_sync, key)


class RedisDedupeStore:
    """Claims as Redis keys with an expiry (atomic SET NX EX)."""

    def __init__(self, url: str, ttl: _dt.timedelta = DEFAULT_TTL, prefix: str = "bot:dedupe:") -> None:
        self._url = url
        self._ttl = int(ttl.total_seconds())
        self._prefix = prefix
        self._client: Any = None

    def _redis(self) -> Any:
        import redis.asyncio as aioredis

        if self._client is None:
            # Created lazily so it binds to the server's running event loop.
            self._client = aioredis.from_url(self._url, socket_connect_timeout=2, socket_timeout=2)
        return self._client

    async def claim(self, key: str) -> bool:
        from redis.exceptions import RedisError

        try:
            return bool(await self._redis().set(self._prefix + key, b"1", nx=True, ex=self._ttl))
        except (RedisError, OSError) as exc:
            raise DedupeUnavailable(type(exc).__name__) from exc

    async def begin(self, key: str, lease: _dt.timedelta = DEFAULT_LEASE) -> Claim:
        from redis.exceptions import RedisError

        client = self._redis()
        done, running = self._prefix + key, self._prefix + "inflight:" + key
        try:
            if await client.exists(done):
                return Claim.DONE
            if not await client.set(running, b"1", nx=True, px=int(lease.total_seconds() * 1000)):
                return Claim.BUSY
            if await client.exists(done):  # finished by another replica in between
                await client.delete(running)
                return Claim.DONE
            return Claim.NEW
        except (RedisError, OSError) as exc:
            raise DedupeUnavailable(type(exc).__name__) from exc

    async def finish(self, key: str) -> None:
        from redis.exceptions import RedisError

        client = self._redis()
        try:
            await client.set(self._prefix + key, b"1", ex=self._ttl)
            await client.delete(self._prefix + "inflight:" + key)
        except (RedisError, OSError) as exc:
            raise DedupeUnavailable(type(exc).__name__) from exc

    def finish_now(self, key: str) -> bool:
        return False  # an asyncio client, bound to the server's loop: `finish` does it

    async def abandon(self, key: str) -> None:
        from redis.exceptions import RedisError

        try:
            await self._redis().delete(self._prefix + "inflight:" + key)
        except (RedisError, OSError) as exc:
            raise DedupeUnavailable(type(exc).__name__) from exc


def build_dedupe_store(
    engine: Engine, redis_url: str | None = None, var_dir: Path | None = None
) -> DedupeStore:
    """Redis when a URL is configured, else the SQL database, with the machine's replied
    journal (under `var_dir` unless the database is a SQLite file)."""
    if redis_url:
        return RedisDedupeStore(redis_url)
    if var_dir is None:
        from bot.settings import VAR_DIR

        var_dir = VAR_DIR
    return SqlDedupeStore(engine, journal=journal_for(engine, var_dir))


# --- Zalo reply targets ---------------------------------------------------------------------

FREE_REPLY_WINDOW = _dt.timedelta(hours=48)


def remember_reply_target(engine: Engine, sender_id: str, message_id: str) -> None:
    """The latest Zalo message of `sender_id` (a pseudonym): replies outside the turn name it."""
    now = _dt.datetime.utcnow()
    ensure_schema(engine)
    with engine.begin() as conn:
        updated = conn.execute(
            sa.update(_reply_targets)
            .where(_reply_targets.c.sender_id == sender_id)
            .values(message_id=message_id, received_at=now)
        ).rowcount
        if not updated:
            try:
                with conn.begin_nested():
                    conn.execute(
                        sa.insert(_reply_targets).values(
                            sender_id=sender_id, message_id=message_id, received_at=now
                        )
                    )
            except IntegrityError:
                pass  # a concurrent message of the same user: either id will do


def reply_target(engine: Engine, sender_id: str, now: _dt.datetime | None = None) -> str | None:
    """The message a reply to `sender_id` can name, if it came within the free-reply window."""
    now = now or _dt.datetime.utcnow()
    ensure_schema(engine)
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(_reply_targets.c.message_id, _reply_targets.c.received_at).where(
                _reply_targets.c.sender_id == sender_id
            )
        ).first()
    if row is None or now - row.received_at > FREE_REPLY_WINDOW:
        return None
    return str(row.message_id)


def forget_reply_targets(engine: Engine, sender_id: str) -> int:
    """ "Forget me": the conversation's Zalo message id."""
    ensure_schema(engine)
    with engine.begin() as conn:
        return conn.execute(sa.delete(_reply_targets).where(_reply_targets.c.sender_id == sender_id)).rowcount


def purge_reply_targets(engine: Engine, now: _dt.datetime, retention_days: int = 0) -> int:
    """Message ids past the free-reply window are of no use: deleted (any retention)."""
    ensure_schema(engine)
    with engine.begin() as conn:
        return conn.execute(
            sa.delete(_reply_targets).where(_reply_targets.c.received_at < now - FREE_REPLY_WINDOW)
        ).rowcount
