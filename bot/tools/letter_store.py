"""Where a complaint letter's answers and its finished PDF wait, and when they go.

Why in DATABASE_URL and not in Rasa's slots: slots stay in the tracker store for the
whole retention period, while these answers (amounts, names of companies, what happened)
are kept only until the letter is made, unless the user asks to keep a draft. The
finished PDF waits in `letter_files` under the SHA-256 of a random token until its
channel takes it (Telegram and Zalo at once; the web chat through a one-time link), at
most LETTER_LINK_MINUTES. "Forget me" (bot/privacy.py FORGET_STORES) deletes both; the
purge deletes drafts older than RETENTION_DAYS and expired files. Nothing here logs.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.db import ensure_schema, letter_drafts, letter_files

TOKEN_BYTES = 32


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _link_minutes() -> int:
    from bot.settings import get_settings

    return get_settings().letter_link_minutes


# --- drafts --------------------------------------------------------------------------------


def load_draft(engine: Engine, sender_id: str) -> dict[str, Any]:
    ensure_schema(engine)
    with engine.begin() as conn:
        row = conn.execute(
            sa.select(letter_drafts.c.answers).where(letter_drafts.c.sender_id == sender_id)
        ).first()
    if row is None:
        return {}
    try:
        answers = json.loads(row[0])
    except ValueError:
        return {}
    return answers if isinstance(answers, dict) else {}


def save_draft(engine: Engine, sender_id: str, answers: dict[str, Any], keep: bool = False) -> None:
    ensure_schema(engine)
    values = {"answers": json.dumps(answers, ensure_ascii=False), "keep": keep, "updated_at": _now()}
    with engine.begin() as conn:
        updated = conn.execute(
            sa.update(letter_drafts).where(letter_drafts.c.sender_id == sender_id).values(**values)
        ).rowcount
        if not updated:
            conn.execute(sa.insert(letter_drafts).values(sender_id=sender_id, **values))


def delete_draft(engine: Engine, sender_id: str, unless_kept: bool = False) -> int:
    """Delete the sender's draft; with `unless_kept`, only one the user did not ask to keep."""
    ensure_schema(engine)
    condition = letter_drafts.c.sender_id == sender_id
    if unless_kept:
        condition = condition & letter_drafts.c.keep.is_(False)
    with engine.begin() as conn:
        return conn.execute(sa.delete(letter_drafts).where(condition)).rowcount


# --- finished letters ------------------------------------------------------------------------


@dataclass(frozen=True)
class LetterFile:
    filename: str
    pdf: bytes


def store_file(
    engine: Engine, sender_id: str, filename: str, pdf: bytes, now: _dt.datetime | None = None
) -> str:
    """Keep a finished PDF; returns the token that takes it (once)."""
    ensure_schema(engine)
    now = now or _now()
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with engine.begin() as conn:
        conn.execute(sa.delete(letter_files).where(letter_files.c.expires_at < now))
        conn.execute(
            sa.insert(letter_files).values(
                token_hash=_hash(token),
                sender_id=sender_id,
                filename=filename,
                pdf=pdf,
                created_at=now,
                expires_at=now + _dt.timedelta(minutes=_link_minutes()),
            )
        )
    return token


def take_file(
    engine: Engine, token: str, sender_id: str | None = None, now: _dt.datetime | None = None
) -> LetterFile | None:
    """The PDF for `token`, deleted as it is read; None when unknown, taken or expired, or
    (given `sender_id`) made for someone else."""
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        return None
    ensure_schema(engine)
    now = now or _now()
    key = _hash(token)
    with engine.begin() as conn:
        row = conn.execute(
            sa.select(
                letter_files.c.filename,
                letter_files.c.pdf,
                letter_files.c.expires_at,
                letter_files.c.sender_id,
            ).where(letter_files.c.token_hash == key)
        ).first()
        if row is None or (sender_id is not None and row.sender_id != sender_id):
            return None
        deleted = conn.execute(sa.delete(letter_files).where(letter_files.c.token_hash == key)).rowcount
    if not deleted or row.expires_at < now:
        return None
    return LetterFile(row.filename, bytes(row.pdf))


# --- privacy -----------------------------------------------------------------------------------


def forget(engine: Engine, sender_id: str) -> int:
    """ "Forget me": the sender's draft and every letter still waiting."""
    ensure_schema(engine)
    with engine.begin() as conn:
        drafts = conn.execute(sa.delete(letter_drafts).where(letter_drafts.c.sender_id == sender_id)).rowcount
        files = conn.execute(sa.delete(letter_files).where(letter_files.c.sender_id == sender_id)).rowcount
    return drafts + files


def purge(engine: Engine, now: _dt.datetime, retention_days: int) -> int:
    """Drafts untouched for RETENTION_DAYS, and letters past their expiry."""
    ensure_schema(engine)
    cutoff = now - _dt.timedelta(days=retention_days)
    with engine.begin() as conn:
        drafts = conn.execute(sa.delete(letter_drafts).where(letter_drafts.c.updated_at < cutoff)).rowcount
        files = conn.execute(sa.delete(letter_files).where(letter_files.c.expires_at < now)).rowcount
    return drafts + files
