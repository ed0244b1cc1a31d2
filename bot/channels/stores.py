"""What the channels keep in the database (or Redis) between webhook calls.

- `PayloadStore`: button payloads too long for a platform (Telegram's 64-byte
  callback_data) under a short hashed id, and which payload a button title stood for in
  one conversation (Zalo sends the title back as text), for 48 hours.
- The dedupe stores: which platform updates were already handled, so a redelivery gets no
  second reply. Telegram keeps retrying an update for up to 24 hours and Zalo retries for
  hours too, so a claim is kept at least `DEFAULT_TTL` (25 h) and shared by every replica
  and restart: in the SQL database (`DATABASE_URL`), or in Redis when `REDIS_URL` is set
  (`SET NX EX`). A claim is taken before any side effect; keys hold update/message ids,
  never user ids.

The tables are declared in `bot.db` and created by its migrations.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as _dt
import hashlib
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot.db import button_payloads as _payloads
from bot.db import ensure_schema
from bot.db import processed_updates as processed

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
        ensure_schema(engine)

    @staticmethod
    def short_id(payload: str) -> str:
        digest = hashlib.sha256(payload.encode("utf-8", "surrogatepass")).digest()[:12]
        return SHORT_ID_PREFIX + base64.urlsafe_b64encode(digest).decode("ascii")

    def _put(self, key: str, payload: str) -> None:
        now = _dt.datetime.utcnow()
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


class DedupeStore(Protocol):
    async def claim(self, key: str) -> bool:
        """True the first time `key` is claimed within the TTL, False for a repeat."""


class SqlDedupeStore:
    """Claims as rows with a primary key; old rows are purged now and then."""

    def __init__(self, engine: Engine, ttl: _dt.timedelta = DEFAULT_TTL, purge_every: int = 500) -> None:
        self._engine = engine
        self._ttl = ttl
        self._purge_every = purge_every
        self._claims = 0
        ensure_schema(engine)

    def claim_sync(self, key: str) -> bool:
        now = _dt.datetime.utcnow()
        try:
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


class RedisDedupeStore:
    """Claims as Redis keys with an expiry (atomic SET NX EX)."""

    def __init__(self, url: str, ttl: _dt.timedelta = DEFAULT_TTL, prefix: str = "bot:dedupe:") -> None:
        self._url = url
        self._ttl = int(ttl.total_seconds())
        self._prefix = prefix
        self._client: Any = None

    async def claim(self, key: str) -> bool:
        import redis.asyncio as aioredis
        from redis.exceptions import RedisError

        if self._client is None:
            # Created lazily so it binds to the server's running event loop.
            self._client = aioredis.from_url(self._url)
        try:
            return bool(await self._client.set(self._prefix + key, b"1", nx=True, ex=self._ttl))
        except (RedisError, OSError) as exc:
            raise DedupeUnavailable(type(exc).__name__) from exc


def build_dedupe_store(engine: Engine, redis_url: str | None = None) -> DedupeStore:
    """Redis when a URL is configured, else the SQL database."""
    if redis_url:
        return RedisDedupeStore(redis_url)
    return SqlDedupeStore(engine)
