"""Pseudonymous sender ids, and the one table that maps them back to a platform user.

Rasa never sees a Telegram chat id or a Zalo user id: the channel layer turns the platform
id into a pseudonym with a keyed HMAC-SHA256 (`pseudonymize`) and uses that as Rasa's
`sender_id`, so the tracker store, the action server and the logs only hold pseudonyms.

To reply, and to honour "forget me", the channel needs the way back. That map lives only
in the `platform_identities` table (`IdentityStore`): `forget(sender_id)` deletes it, after
which the pseudonym in any remaining record points to nobody.

The HMAC key is `SENDER_ID_SECRET`. When it is not set, `sender_id_secret()` generates a
random key once and keeps it in the `pseudonym_secrets` table, so pseudonyms stay stable
across restarts and replicas sharing the database. Changing the key changes every
pseudonym (each user starts a fresh conversation), so set it once and keep it.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.db import ensure_schema, identities
from bot.db import pseudonym_secrets as _secrets

_SECRET_NAME = "sender_id_secret"


def pseudonymize(platform: str, platform_user_id: str | int, secret: str) -> str:
    """The stable pseudonym of one platform user: "<platform>-<32 hex chars of HMAC-SHA256>".

    The platform name is inside the MAC, so the same number on two platforms gives two
    unrelated pseudonyms; 128 bits make collisions irrelevant.
    """
    if not secret:
        raise ValueError("a non-empty secret is required to pseudonymize a sender")
    message = f"{platform}:{platform_user_id}".encode()
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()
    return f"{platform}-{digest[:32]}"


def sender_id_secret(engine: Engine, configured: str = "") -> str:
    """The configured key (SENDER_ID_SECRET), else the one generated once and stored in the database."""
    if configured:
        return configured
    ensure_schema(engine)
    with engine.begin() as conn:
        stored = conn.execute(
            sa.select(_secrets.c.value).where(_secrets.c.name == _SECRET_NAME)
        ).scalar_one_or_none()
    if stored:
        return stored
    candidate = secrets.token_urlsafe(48)
    try:
        with engine.begin() as conn:
            conn.execute(sa.insert(_secrets).values(name=_SECRET_NAME, value=candidate))
        return candidate
    except IntegrityError:
        # Another replica generated its key first; everyone must use the same one.
        with engine.begin() as conn:
            return conn.execute(
                sa.select(_secrets.c.value).where(_secrets.c.name == _SECRET_NAME)
            ).scalar_one()


@dataclass(frozen=True)
class Identity:
    """Where to deliver messages for one pseudonym."""

    platform: str
    platform_user_id: str


class IdentityStore:
    """The pseudonym -> platform user map, in its own table (created on first use)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        ensure_schema(engine)

    def remember(self, sender_id: str, platform: str, platform_user_id: str | int) -> None:
        """Record (or refresh) where `sender_id` lives; idempotent."""
        now = _dt.datetime.utcnow()
        values = {"platform": platform, "platform_user_id": str(platform_user_id), "updated_at": now}
        with self._engine.begin() as conn:
            updated = conn.execute(
                sa.update(identities).where(identities.c.sender_id == sender_id).values(**values)
            ).rowcount
            if updated:
                return
            try:
                with conn.begin_nested():
                    conn.execute(sa.insert(identities).values(sender_id=sender_id, **values))
            except IntegrityError:
                # A concurrent first message inserted the same row; its values are equal.
                pass

    def lookup(self, sender_id: str) -> Identity | None:
        """The platform user behind `sender_id`, or None if unknown or forgotten."""
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(identities.c.platform, identities.c.platform_user_id).where(
                    identities.c.sender_id == sender_id
                )
            ).first()
        return Identity(row.platform, row.platform_user_id) if row else None

    def forget(self, sender_id: str) -> int:
        """Delete the way back from `sender_id` to a person; returns the rows deleted."""
        with self._engine.begin() as conn:
            return conn.execute(sa.delete(identities).where(identities.c.sender_id == sender_id)).rowcount
