"""Remember which platform updates were already handled, so a redelivery gets no second reply.

Telegram keeps retrying an update for up to 24 hours and Zalo retries for hours too, so a
claim is kept at least `DEFAULT_TTL` (25 h) and shared by every replica and restart: in
the SQL database (`DATABASE_URL`), or in Redis when `REDIS_URL` is set (`SET NX EX`).
A claim is taken before any side effect; keys hold update/message ids, never user ids.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot.db import ensure_schema
from bot.db import processed_updates as processed

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
        self._client = None

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
