"""The state one deployment's channels share, built from the settings.

Database engine, pseudonym map, button payload ids, dedupe store, the pseudonym key, per-chat
ordering (in the process and, with several replicas, across them) and background tasks. Each channel gets one (sharing one is fine too).
"""

from __future__ import annotations

import asyncio
import datetime as _dt
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from bot.channels.chat_claims import ChatClaims
from bot.channels.concurrency import BackgroundTasks, ChatSequencer, RecentKeys, RunningTurns
from bot.channels.limits import RateLimiter
from bot.channels.stores import DedupeStore, PayloadStore, build_dedupe_store
from bot.db import get_engine
from bot.identity import IdentityStore, pseudonymize, sender_id_secret
from bot.settings import VAR_DIR, Settings, sanic_workers
from bot.worker_state import chat_claims_for, rate_limiter_for


@dataclass
class ChannelContext:
    """The stores one deployment's channels share (one instance per channel is fine too)."""

    engine: Engine
    identities: IdentityStore
    payloads: PayloadStore
    dedupe: DedupeStore
    secret: str
    sequencer: ChatSequencer
    tasks: BackgroundTasks
    max_message_chars: int = 2000
    max_body_bytes: int = 1_000_000
    rate_limiter: RateLimiter = field(default_factory=lambda: RateLimiter(20))
    # One chat on one replica at a time (several replicas: `bot.channels.chat_claims`).
    claims: ChatClaims = field(default_factory=ChatClaims)
    # --- reliability (branch reliab): at-least-once delivery, degraded mode ---
    turn_lease: _dt.timedelta = _dt.timedelta(seconds=60)
    send_retry_seconds: float = 30.0
    turns: RunningTurns = field(default_factory=RunningTurns)
    recent: RecentKeys = field(default_factory=RecentKeys)  # dedupe while the store is down
    stopping: bool = False  # set on shutdown: new updates get 503 and are redelivered later

    @classmethod
    def from_settings(cls, settings: Settings) -> ChannelContext:
        """Built from DATABASE_URL, REDIS_URL, SENDER_ID_SECRET and the entrance limits."""
        engine = get_engine(settings.database_url)
        return cls(
            engine=engine,
            identities=IdentityStore(engine),
            payloads=PayloadStore(engine),
            dedupe=build_dedupe_store(engine, settings.redis_url, VAR_DIR),
            secret=sender_id_secret(engine, settings.sender_secret),
            sequencer=ChatSequencer(),
            tasks=BackgroundTasks(),
            max_message_chars=settings.max_message_chars,
            max_body_bytes=settings.max_body_bytes,
            rate_limiter=rate_limiter_for(
                settings.rate_limit_per_minute, settings.tracker_store_url, sanic_workers()
            ),
            # Several Rasa workers (RASA_WORKERS) need claims that tell them apart.
            claims=chat_claims_for(settings.redis_url, settings.tracker_store_url, sanic_workers()),
            turn_lease=_dt.timedelta(seconds=settings.turn_lease_seconds),
            send_retry_seconds=settings.send_retry_seconds,
        )

    def pseudonym(self, platform: str, platform_user_id: str | int) -> str:
        return pseudonymize(platform, platform_user_id, self.secret)

    async def remember(self, sender_id: str, platform: str, platform_user_id: str | int) -> None:
        await asyncio.to_thread(self.identities.remember, sender_id, platform, platform_user_id)

    async def platform_user(self, sender_id: str, platform: str) -> str | None:
        """The platform id to deliver to for `sender_id`, if it is ours and not forgotten."""
        identity = await asyncio.to_thread(self.identities.lookup, sender_id)
        if identity is None or identity.platform != platform:
            return None
        return identity.platform_user_id
