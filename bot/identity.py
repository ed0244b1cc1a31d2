"""Pseudonymous sender ids, and the one table that maps them back to a platform user.

Rasa never sees a Telegram chat id or a Zalo user id: the channel layer turns the platform
id into a pseudonym with a keyed HMAC-SHA256 (`pseudonymize`) and uses that as Rasa's
`sender_id`, so the tracker store, the action server and the logs only hold pseudonyms.

To reply, and to honour "forget me", the channel needs the way back. That map lives only
in the `platform_identities` table (`IdentityStore`): `forget(sender_id)` deletes it, after
which the pseudonym in any remaining record points to nobody.

The HMAC key is `SENDER_ID_SECRET`. When it is not set and the database is SQLite,
`sender_id_secret()` generates a random key once into its own 0600 file, so pseudonyms
stay stable across restarts; it is never stored in the database beside the map, where one
reader would get both. A database server requires the variable. Changing the key changes every
pseudonym (each user starts a fresh conversation), so set it once and keep it.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

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


KEY_FILE_NAME = "pseudonym.key"
_MEMORY_KEYS: dict[str, str] = {}


def sender_id_secret(engine: Engine, configured: str = "") -> str:
    """The pseudonym key: SENDER_ID_SECRET, else (SQLite only) a key file of its own.

    The key never sits beside the map it protects: with SQLite it is generated once into
    `pseudonym.key` (0600) next to the database file; with a database server it must come
    from the environment. A key an older version kept in the `pseudonym_secrets` table is
    moved to the file, so existing pseudonyms stay valid.
    """
    if configured:
        return configured
    if engine.url.get_backend_name() != "sqlite":
        from bot.settings import SettingsError

        raise SettingsError(
            "SENDER_ID_SECRET must be set when DATABASE_URL is not SQLite (the pseudonym key must not "
            "live in the database beside the pseudonym map; if an older version kept one in the "
            "pseudonym_secrets table, set SENDER_ID_SECRET to that value and delete the row)"
        )
    database = engine.url.database or ""
    if not database or database.startswith(":memory:"):
        return _MEMORY_KEYS.setdefault(str(engine.url), secrets.token_urlsafe(48))
    key_file = Path(database).resolve().parent / KEY_FILE_NAME
    ensure_schema(engine)
    with engine.begin() as conn:
        stored = conn.execute(
            sa.select(_secrets.c.value).where(_secrets.c.name == _SECRET_NAME)
        ).scalar_one_or_none()
        if stored and not key_file.exists():
            _write_key(key_file, stored)
        if stored:
            conn.execute(sa.delete(_secrets).where(_secrets.c.name == _SECRET_NAME))
    if not key_file.exists():
        _write_key(key_file, secrets.token_urlsafe(48))
    return key_file.read_text(encoding="ascii").strip()


def _write_key(path: Path, key: str) -> None:
    """Create the key file 0600, never replacing one another process wrote first."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another process generated it first; everyone uses that one
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(key + "\n")


@dataclass(frozen=True)
class Identity:
    """Where to deliver messages for one pseudonym."""

    platform: str
    platform_user_id: str


class IdentityStore:
    """The pseudonym -> platform user map, in its own table (created on first use)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        try:
            ensure_schema(engine)
        except SQLAlchemyError:
            pass  # the database is down at start: the first use migrates (the channels start anyway)

    def remember(self, sender_id: str, platform: str, platform_user_id: str | int) -> None:
        """Record (or refresh) where `sender_id` lives; idempotent."""
        now = _dt.datetime.utcnow()
        values = {"platform": platform, "platform_user_id": str(platform_user_id), "updated_at": now}
        ensure_schema(self._engine)
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
        ensure_schema(self._engine)
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(identities.c.platform, identities.c.platform_user_id).where(
                    identities.c.sender_id == sender_id
                )
            ).first()
        return Identity(row.platform, row.platform_user_id) if row else None

    def forget(self, sender_id: str) -> int:
        """Delete the way back from `sender_id` to a person; returns the rows deleted."""
        from bot.privacy import forget_identity

        return forget_identity(self._engine, sender_id)
