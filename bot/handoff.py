"""Handing a conversation to a person: the requests staff answer, and the way back to the user.

A user who asks for a person (or whom the bot failed twice, or who pressed 👎 twice) is
offered a handoff and consents (actions/handoff.py). From then until staff end it, the
channel layer keeps the bot silent (`hold_turn`): the user's messages are stored here for
staff, except that danger still gets the urgent card at once and marks the handoff urgent.

Staff work through the functions below (the console's inbox, or the optional Telegram
staff group in `bot.channels.staff_group`). A staff reply goes out through the user's own
channel, found through the pseudonym map (`bot.identity`); staff never see a platform id
or phone number, only a pseudonymous label. Zalo's rules are enforced before sending: an
Official Account may reply only within 7 days of the user's last message, and only 8
replies within 48 hours of it are free (later ones count as paid "proactive" messages),
so a reply that cannot go out is refused with a reason instead of failing silently.

The text is conversation content like the tracker store: `forget` deletes it on "forget
me", and `purge` after RETENTION_DAYS. Times are stored naive UTC, returned aware UTC.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import hashlib
import importlib
import logging
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

# The outbound sender's failure reasons, re-exported: the console translates them.
from bot.channels.outbound import (  # noqa: F401
    REASON_CHANNEL_OFF,
    REASON_FORGOTTEN,
    REASON_NO_CHANNEL,
    REASON_NOT_SENT,
)
from bot.db import ensure_schema, handoff_changes, handoff_messages, handoff_signals, handoffs
from bot.i18n import gettext
from bot.payloads import payload

logger = logging.getLogger(__name__)

WAITING, ACTIVE, CLOSED = "waiting", "active", "closed"
OPEN_STATES = (WAITING, ACTIVE)
OUTCOMES = ("resolved", "bot_should_have_known", "no_reply")
LABEL_PREFIX = {"telegram": "TG", "zalo": "ZL", "webchat": "WEB", "rest": "API"}
DELIVERABLE = ("telegram", "zalo", "webchat")
GROUP_STAFF = "telegram-group"  # how replies from the Telegram staff group are recorded  # channels a staff reply can reach later
HISTORY_TURNS = 20  # the conversation before the request that staff see
THUMBS_DOWN_TO_OFFER = 2
THUMBS_DOWN_MEMORY = _dt.timedelta(hours=24)

ZALO_WINDOW = _dt.timedelta(days=7)
ZALO_FREE_WINDOW = _dt.timedelta(hours=48)
ZALO_FREE_REPLIES = 8

# Reasons and notes for staff: English msgids, translated by the console.
NOTE_ZALO_WINDOW = "Zalo allows no reply: the user last wrote more than 7 days ago."
NOTE_ZALO_PAID = (
    "Zalo's free replies are used up (8 within 48 hours of the user's last message): "
    "this reply counts as a paid proactive message."
)
# Why a delivery failed: the outbound sender's reasons (imported above), and the handoff's own.

REASON_CLOSED = "This conversation has ended."
REASON_CLAIMED = "Another staff member is answering this conversation."
REASON_UNKNOWN = "No such conversation."
REASON_EMPTY = "The reply is empty."
REASON_NO_CARD = "No such card."

# The user's side (English msgids, catalog domain `messages`).
OFFER_TEXT = (
    "Would you like to talk to a person? NGO staff will answer you here, in this chat. "
    "They will see this conversation (your messages and my answers), your language and the "
    "country or province you mentioned. They will not see your phone number or your account "
    "on this app."
)
OFFER_YES = "Yes, connect me"
OFFER_NO = "No, thanks"
DECLINED = "OK. You can keep asking me, or ask for a person at any time."
OPEN_NOW = (
    "Thank you. I have passed this conversation to NGO staff. They are working now (until "
    "{until}, {timezone} time) and will answer you here as soon as they can. Until then I "
    "will stay quiet; just write here."
)
OPEN_ALWAYS = (
    "Thank you. I have passed this conversation to NGO staff. They will answer you here as "
    "soon as they can. Until then I will stay quiet; just write here."
)
CLOSED_NOW = (
    "Thank you. I have passed this conversation to NGO staff. They are not working now: "
    "someone will answer you here from {when} ({timezone} time). Your messages are kept "
    "for them. If you are in danger, do not wait:"
)
STAFF_PREFIX = "Staff member:"
BACK_TO_BOT = (
    "The staff member has ended this conversation. You are talking to the assistant again: "
    "ask me anything, or ask for a person again at any time."
)


@dataclass(frozen=True)
class HandoffSummary:
    id: int
    label: str
    channel: str
    lang: str
    country: str | None
    province: str | None
    topic: str | None
    state: str
    urgent: bool
    claimed_by: str | None
    created_at: _dt.datetime
    last_user_message_at: _dt.datetime | None
    can_reply: bool
    reply_note: str | None


@dataclass(frozen=True)
class Turn:
    author: str
    text: str
    at: _dt.datetime
    staff: str | None = None


@dataclass(frozen=True)
class Delivery:
    ok: bool
    reason: str | None = None


# --- time ---------------------------------------------------------------------------------


def _utcnow() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None)


def _naive(value: _dt.datetime | None) -> _dt.datetime:
    if value is None:
        return _utcnow()
    return value.astimezone(_dt.timezone.utc).replace(tzinfo=None) if value.tzinfo else value


def _aware(value: _dt.datetime | None) -> _dt.datetime | None:
    return value.replace(tzinfo=_dt.timezone.utc) if value is not None else None


# --- opening and the user's side ----------------------------------------------------------


def label_for(channel: str, sender_id: str) -> str:
    """The pseudonymous label staff see: the channel and 6 hex digits of a hash of the
    pseudonym (itself an HMAC), so it cannot be turned back into a platform id."""
    digest = hashlib.sha256(sender_id.encode("utf-8")).hexdigest()[:6].upper()
    return f"{LABEL_PREFIX.get(channel, 'CH')}-{digest}"


def _changed(conn: Connection, handoff_id: int) -> None:
    conn.execute(sa.insert(handoff_changes).values(handoff_id=handoff_id))


def _add_turn(
    conn: Connection,
    handoff_id: int,
    author: str,
    text: str,
    at: _dt.datetime,
    staff: str | None = None,
    delivery: str | None = None,
) -> None:
    conn.execute(
        sa.insert(handoff_messages).values(
            handoff_id=handoff_id, author=author, staff=staff, text=text, created_at=at, delivery=delivery
        )
    )


def current(engine: Engine, sender_id: str) -> Any | None:
    """The waiting or active handoff of this user (a row), or None."""
    ensure_schema(engine)
    with engine.connect() as conn:
        return conn.execute(
            sa.select(handoffs)
            .where(handoffs.c.sender_id == sender_id, handoffs.c.state.in_(OPEN_STATES))
            .order_by(handoffs.c.id.desc())
        ).first()


def open_handoff(
    engine: Engine,
    sender_id: str,
    channel: str,
    lang: str,
    country: str | None = None,
    province: str | None = None,
    topic: str | None = None,
    history: list[tuple[str, str]] | None = None,
    now: _dt.datetime | None = None,
) -> int:
    """Open a waiting handoff with the conversation so far ((author, text) pairs, oldest
    first); returns its id. A user who already has an open one keeps it."""
    existing = current(engine, sender_id)
    if existing is not None:
        return int(existing.id)
    at = _naive(now)
    with engine.begin() as conn:
        handoff_id = conn.execute(
            sa.insert(handoffs).values(
                sender_id=sender_id,
                label=label_for(channel, sender_id),
                channel=channel,
                lang=lang,
                country=(country or None) and str(country)[:2],
                province=province or None,
                topic=topic or None,
                state=WAITING,
                urgent=False,
                created_at=at,
                updated_at=at,
                last_user_message_at=at,  # the consent itself is the user's latest message
            )
        ).inserted_primary_key[0]
        for author, text in (history or [])[-HISTORY_TURNS:]:
            _add_turn(conn, handoff_id, author, text, at)
        _changed(conn, handoff_id)
    logger.info("handoff %s opened", handoff_id)
    return int(handoff_id)


def record_user_message(
    engine: Engine, handoff_id: int, text: str, urgent: bool = False, now: _dt.datetime | None = None
) -> None:
    """A message the user sent while the handoff is open (urgent: it expressed danger)."""
    at = _naive(now)
    values: dict[str, Any] = {"updated_at": at, "last_user_message_at": at}
    if urgent:
        values["urgent"] = True
    with engine.begin() as conn:
        _add_turn(conn, handoff_id, "user", text, at)
        conn.execute(sa.update(handoffs).where(handoffs.c.id == handoff_id).values(**values))
        _changed(conn, handoff_id)


def record_bot_message(engine: Engine, handoff_id: int, text: str, delivery: str = "sent") -> None:
    """What the bot itself said during the handoff (the confirmation, an urgent card)."""
    at = _utcnow()
    with engine.begin() as conn:
        _add_turn(conn, handoff_id, "bot", text, at, delivery=delivery)
        _changed(conn, handoff_id)


def offer(lang: str) -> dict[str, Any]:
    """The consent question: what staff will see, with Yes / No buttons."""
    return {
        "text": gettext(lang, OFFER_TEXT),
        "buttons": [
            {"title": gettext(lang, OFFER_YES), "payload": payload("human_handoff", consent="yes")},
            {"title": gettext(lang, OFFER_NO), "payload": payload("human_handoff", consent="no")},
        ],
    }


def availability(lang: str, now: _dt.datetime | None = None) -> list[dict[str, Any]]:
    """What the user is told once the handoff is open: within staff hours, that a person will
    answer and until when staff work; outside, from when, followed by the urgent card."""
    from babel.dates import format_datetime, format_time

    from bot.answers import card_reply
    from bot.settings import get_settings
    from bot.staff_hours import local_time, parse_hours

    settings = get_settings()
    hours = parse_hours(settings.handoff_hours)
    local = local_time(now or _dt.datetime.now(_dt.timezone.utc), settings.handoff_timezone)
    timezone = settings.handoff_timezone
    if hours.always:
        return [{"text": gettext(lang, OPEN_ALWAYS)}]
    if hours.is_open(local):
        until = hours.closes_at(local)
        shown = format_time(until, "HH:mm", locale=lang) if until and until != _dt.time.max else "24:00"
        return [{"text": gettext(lang, OPEN_NOW, until=shown, timezone=timezone)}]
    opening = hours.next_opening(local)
    when = format_datetime(opening, "EEEE d/M HH:mm", locale=lang)
    messages: list[dict[str, Any]] = [{"text": gettext(lang, CLOSED_NOW, when=when, timezone=timezone)}]
    urgent = card_reply("emergency_help", lang)
    if urgent:
        messages.append(dict(urgent))
    return messages


def note_thumbs_down(engine: Engine, sender_id: str, now: _dt.datetime | None = None) -> bool:
    """Count a 👎 of this user; True when it is the second within a day: offer a person then
    (the count starts again)."""
    ensure_schema(engine)
    at = _naive(now)
    with engine.begin() as conn:
        row = conn.execute(sa.select(handoff_signals).where(handoff_signals.c.sender_id == sender_id)).first()
        count = 1
        if row is not None and at - row.updated_at <= THUMBS_DOWN_MEMORY:
            count = row.thumbs_down + 1
        offer_now = count >= THUMBS_DOWN_TO_OFFER
        stored = 0 if offer_now else count
        if row is None:
            conn.execute(
                sa.insert(handoff_signals).values(sender_id=sender_id, thumbs_down=stored, updated_at=at)
            )
        else:
            conn.execute(
                sa.update(handoff_signals)
                .where(handoff_signals.c.sender_id == sender_id)
                .values(thumbs_down=stored, updated_at=at)
            )
    return offer_now


# --- the channel turn while a person holds the conversation --------------------------------


@dataclass(frozen=True)
class HeldTurn:
    """The channel's turn for a held conversation: no bot reply unless `replies` (danger)."""

    handoff_id: int
    lang: str
    replies: list[dict[str, Any]]


async def hold_turn(engine: Engine, sender_id: str, text: str, locale: str | None = None) -> HeldTurn | None:
    """None when no handoff holds this user (the turn goes to Rasa as usual). Otherwise the
    message is stored for staff (and posted to the staff group); danger gets the urgent card
    at once, rendered in-process like `bot.nlg` does, and marks the handoff urgent."""
    from bot.answers import card_reply
    from bot.emergency import detect_danger
    from bot.language import choose_language

    row = await asyncio.to_thread(current, engine, sender_id)
    if row is None:
        return None
    lang = choose_language(row.lang, {"locale": locale} if locale else None, text)
    danger = detect_danger(text) is not None
    await asyncio.to_thread(record_user_message, engine, row.id, text, danger)
    replies: list[dict[str, Any]] = []
    if danger:
        card = card_reply("emergency_help", lang)
        if card:
            replies.append(dict(card))
            await asyncio.to_thread(record_bot_message, engine, row.id, card["text"])
        logger.info("handoff %s marked urgent", row.id)
    await _mirror(engine, row.id, ("🚨 " if danger else "") + text, "user")  # urgent: marked for staff
    return HeldTurn(int(row.id), lang, replies)


# --- staff: reading -----------------------------------------------------------------------


def _reply_window(row: Any, engine: Engine, now: _dt.datetime) -> tuple[bool, str | None]:
    if row.state == CLOSED:
        return False, REASON_CLOSED
    if row.channel != "zalo":
        return True, None
    last = row.last_user_message_at
    if last is None or now - last > ZALO_WINDOW:
        return False, NOTE_ZALO_WINDOW
    with engine.connect() as conn:
        sent_since = conn.execute(
            sa.select(sa.func.count())
            .select_from(handoff_messages)
            .where(
                handoff_messages.c.handoff_id == row.id,
                handoff_messages.c.author.in_(("bot", "staff")),
                handoff_messages.c.delivery == "sent",
                handoff_messages.c.created_at >= last,
            )
        ).scalar_one()
    if now - last > ZALO_FREE_WINDOW or sent_since >= ZALO_FREE_REPLIES:
        return True, NOTE_ZALO_PAID
    return True, None


def _summary(engine: Engine, row: Any, now: _dt.datetime | None = None) -> HandoffSummary:
    can_reply, note = _reply_window(row, engine, _naive(now))
    return HandoffSummary(
        id=int(row.id),
        label=row.label,
        channel=row.channel,
        lang=row.lang,
        country=row.country,
        province=row.province,
        topic=row.topic,
        state=row.state,
        urgent=bool(row.urgent),
        claimed_by=row.claimed_by,
        created_at=_aware(row.created_at),  # type: ignore[arg-type]
        last_user_message_at=_aware(row.last_user_message_at),
        can_reply=can_reply,
        reply_note=note,
    )


def inbox(engine: Engine, now: _dt.datetime | None = None) -> list[HandoffSummary]:
    """Waiting and active handoffs, urgent first, then oldest first."""
    ensure_schema(engine)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(handoffs)
            .where(handoffs.c.state.in_(OPEN_STATES))
            .order_by(handoffs.c.urgent.desc(), handoffs.c.created_at, handoffs.c.id)
        ).all()
    return [_summary(engine, row, now) for row in rows]


def _row(engine: Engine, handoff_id: int) -> Any | None:
    ensure_schema(engine)
    with engine.connect() as conn:
        return conn.execute(sa.select(handoffs).where(handoffs.c.id == handoff_id)).first()


def get(engine: Engine, handoff_id: int, now: _dt.datetime | None = None) -> HandoffSummary | None:
    row = _row(engine, handoff_id)
    return _summary(engine, row, now) if row is not None else None


def transcript(engine: Engine, handoff_id: int, limit: int = 30) -> list[Turn]:
    """The last `limit` turns, oldest first."""
    ensure_schema(engine)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(handoff_messages)
            .where(handoff_messages.c.handoff_id == handoff_id)
            .order_by(handoff_messages.c.id.desc())
            .limit(limit)
        ).all()
    return [Turn(r.author, r.text, _aware(r.created_at), r.staff) for r in reversed(rows)]  # type: ignore[arg-type]


def likely_topics(engine: Engine, handoff_id: int) -> list[str]:
    """Cards staff may want to send in one click: the urgent card when the handoff is
    urgent, the topic detected, then the look-ups that answer most requests for a person
    (embassy, partners nearby, legal aid)."""
    from bot.content.topics import topic_ids

    row = _row(engine, handoff_id)
    if row is None:
        return []
    known = set(topic_ids())
    picked: list[str] = []
    if row.topic and row.topic in known:
        picked.append(row.topic)
    if row.urgent and "emergency_help" in known and "emergency_help" not in picked:
        picked.insert(0, "emergency_help")
    for fallback in ("consular_contact", "referral_partner", "legal_aid"):
        if fallback in known and fallback not in picked and len(picked) < 4:
            picked.append(fallback)
    return picked


def changes_since(engine: Engine, cursor: int) -> tuple[int, list[int]]:
    """(new cursor, ids of handoffs changed after `cursor`); start with cursor 0."""
    ensure_schema(engine)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(handoff_changes.c.id, handoff_changes.c.handoff_id)
            .where(handoff_changes.c.id > cursor)
            .order_by(handoff_changes.c.id)
        ).all()
    if not rows:
        return cursor, []
    ids = list(dict.fromkeys(int(r.handoff_id) for r in rows))
    return int(rows[-1].id), ids


# --- staff: acting ------------------------------------------------------------------------


def claim(engine: Engine, handoff_id: int, staff: str) -> bool:
    """Take the conversation; False if another staff member holds it (or it is closed)."""
    ensure_schema(engine)
    with engine.begin() as conn:
        taken = conn.execute(
            sa.update(handoffs)
            .where(
                handoffs.c.id == handoff_id,
                handoffs.c.state.in_(OPEN_STATES),
                sa.or_(handoffs.c.claimed_by.is_(None), handoffs.c.claimed_by == staff),
            )
            .values(claimed_by=staff, state=ACTIVE, updated_at=_utcnow())
        ).rowcount
        if taken:
            _changed(conn, handoff_id)
    return bool(taken)


def release(engine: Engine, handoff_id: int, staff: str) -> None:
    """Let go of a claimed conversation (only its holder can); it waits again."""
    with engine.begin() as conn:
        released = conn.execute(
            sa.update(handoffs)
            .where(handoffs.c.id == handoff_id, handoffs.c.claimed_by == staff, handoffs.c.state == ACTIVE)
            .values(claimed_by=None, state=WAITING, updated_at=_utcnow())
        ).rowcount
        if released:
            _changed(conn, handoff_id)


async def _deliver(
    engine: Engine, row: Any, text: str, buttons: list[dict[str, Any]] | None = None, free_reply: bool = True
) -> Delivery:
    """Send `text` (and `buttons`) to the user of `row` through their own channel
    (`bot.channels.outbound`, in the same markup as the bot's own replies)."""
    from bot.channels.outbound import send_to_user

    sent = await send_to_user(engine, row.sender_id, text, row.channel, buttons, row.lang, free_reply)
    return Delivery(sent.ok, sent.reason)


async def _send(
    engine: Engine,
    handoff_id: int,
    staff: str,
    text: str,
    author: str = "staff",
    buttons: list[dict[str, Any]] | None = None,
) -> Delivery:
    row = await asyncio.to_thread(_row, engine, handoff_id)
    if row is None:
        return Delivery(False, REASON_UNKNOWN)
    if row.claimed_by and row.claimed_by != staff:
        return Delivery(False, REASON_CLAIMED)
    can_reply, note = await asyncio.to_thread(_reply_window, row, engine, _utcnow())
    if not can_reply:
        return Delivery(False, note)
    if not row.claimed_by and staff != GROUP_STAFF:
        # Whoever answers first in the console holds the conversation; the staff group is
        # a team, so its replies do not lock console staff out.
        await asyncio.to_thread(claim, engine, handoff_id, staff)
    shown = f"{gettext(row.lang, STAFF_PREFIX)} {text}" if author == "staff" else text
    result = await _deliver(engine, row, shown, buttons, free_reply=note is None)
    at = _utcnow()
    with engine.begin() as conn:
        _add_turn(
            conn, handoff_id, author, text, at, staff=staff, delivery="sent" if result.ok else result.reason
        )
        conn.execute(sa.update(handoffs).where(handoffs.c.id == handoff_id).values(updated_at=at))
        _changed(conn, handoff_id)
    logger.info("handoff %s: staff message %s", handoff_id, "sent" if result.ok else "not sent")
    return result


async def send_staff_reply(engine: Engine, handoff_id: int, staff: str, text: str) -> Delivery:
    """Deliver a staff member's reply through the user's channel, and record it with its
    result. The first console reply claims the conversation for that staff member."""
    if not text.strip():
        return Delivery(False, REASON_EMPTY)
    result = await _send(engine, handoff_id, staff, text.strip())
    if result.ok:
        await _mirror(engine, handoff_id, text.strip(), "staff", staff)
    return result


async def send_card(engine: Engine, handoff_id: int, staff: str, topic_id: str) -> Delivery:
    """Send an answer card (in the user's language) as a staff message."""
    from bot.answers import card_reply

    row = await asyncio.to_thread(_row, engine, handoff_id)
    if row is None:
        return Delivery(False, REASON_UNKNOWN)
    card = card_reply(topic_id, row.lang)
    if not card:
        return Delivery(False, REASON_NO_CARD)
    # With the card's buttons (follow-ups, look-ups, 👍/👎), as the bot itself sends it.
    return await _send(
        engine, handoff_id, staff, card["text"], author="bot", buttons=list(card.get("buttons") or [])
    )


async def end(engine: Engine, handoff_id: int, staff: str, outcome: str) -> Delivery:
    """Close the handoff, tell the user the assistant is back; a "bot_should_have_known"
    handoff goes to the unanswered queue (bot.feedback, when present)."""
    if outcome not in OUTCOMES:
        return Delivery(False, f"Unknown outcome: {outcome}")
    row = await asyncio.to_thread(_row, engine, handoff_id)
    if row is None:
        return Delivery(False, REASON_UNKNOWN)
    if row.state == CLOSED:
        return Delivery(False, REASON_CLOSED)
    if row.claimed_by and row.claimed_by != staff:
        return Delivery(False, REASON_CLAIMED)
    can_reply, note = await asyncio.to_thread(_reply_window, row, engine, _utcnow())
    at = _utcnow()
    # Closed before the user is told, so that their answer to it reaches the bot.
    with engine.begin() as conn:
        conn.execute(
            sa.update(handoffs)
            .where(handoffs.c.id == handoff_id)
            .values(
                state=CLOSED, outcome=outcome, closed_at=at, updated_at=at, claimed_by=row.claimed_by or staff
            )
        )
    back = gettext(row.lang, BACK_TO_BOT)
    told = await _deliver(engine, row, back, free_reply=note is None) if can_reply else Delivery(False, note)
    with engine.begin() as conn:
        _add_turn(conn, handoff_id, "bot", back, _utcnow(), delivery="sent" if told.ok else told.reason)
        _changed(conn, handoff_id)
    if outcome == "bot_should_have_known":
        await asyncio.to_thread(_to_unanswered_queue, engine, row)
    await _mirror(engine, handoff_id, f"/done ({outcome})", "bot")
    logger.info("handoff %s ended (%s)", handoff_id, outcome)
    return told


def _to_unanswered_queue(engine: Engine, row: Any) -> None:
    try:  # bot.feedback (branch feedback) may not be merged yet
        feedback = importlib.import_module("bot.feedback")
    except ImportError:
        return
    with engine.connect() as conn:
        first = conn.execute(
            sa.select(handoff_messages.c.text)
            .where(handoff_messages.c.handoff_id == row.id, handoff_messages.c.author == "user")
            .order_by(handoff_messages.c.id)
        ).first()
    if first is not None:
        feedback.add_item(engine, "handoff", first.text, row.lang, row.sender_id, row.topic)


# --- the Telegram staff group -------------------------------------------------------------


async def _mirror(engine: Engine, handoff_id: int, text: str, author: str, staff: str | None = None) -> None:
    """Post a turn to the handoff's topic in the staff group, if the bridge is on."""
    from bot.channels.staff_group import mirror

    try:
        await mirror(engine, handoff_id, text, author, staff)
    except Exception as exc:  # noqa: BLE001 - the group is a convenience, never a failure of the turn
        logger.warning("staff group post failed: %s", type(exc).__name__)


async def open_in_staff_group(engine: Engine, handoff_id: int) -> None:
    """Open the handoff's forum topic in the staff group with the conversation so far."""
    from bot.channels.staff_group import open_topic

    try:
        await open_topic(engine, handoff_id)
    except Exception as exc:  # noqa: BLE001 - the inbox still has it
        logger.warning("staff group topic not opened: %s", type(exc).__name__)


def by_staff_thread(engine: Engine, thread_id: int) -> int | None:
    """The open handoff whose staff-group topic is `thread_id`."""
    ensure_schema(engine)
    with engine.connect() as conn:
        return conn.execute(
            sa.select(handoffs.c.id).where(
                handoffs.c.staff_thread_id == thread_id, handoffs.c.state.in_(OPEN_STATES)
            )
        ).scalar_one_or_none()


def set_staff_thread(engine: Engine, handoff_id: int, thread_id: int) -> None:
    with engine.begin() as conn:
        conn.execute(sa.update(handoffs).where(handoffs.c.id == handoff_id).values(staff_thread_id=thread_id))


# --- retention ----------------------------------------------------------------------------


def forget(engine: Engine, sender_id: str) -> int:
    """Delete every handoff of this user with its conversation ("forget me"); rows deleted."""
    ensure_schema(engine)
    with engine.begin() as conn:
        ids = [r.id for r in conn.execute(sa.select(handoffs.c.id).where(handoffs.c.sender_id == sender_id))]
        deleted = _delete(conn, ids)
        deleted += conn.execute(
            sa.delete(handoff_signals).where(handoff_signals.c.sender_id == sender_id)
        ).rowcount
    return deleted


def purge(engine: Engine, now: _dt.datetime, retention_days: int) -> int:
    """Delete handoffs with no activity for `retention_days`, and older turns of the others."""
    ensure_schema(engine)
    cutoff = _naive(now) - _dt.timedelta(days=retention_days)
    with engine.begin() as conn:
        ids = [r.id for r in conn.execute(sa.select(handoffs.c.id).where(handoffs.c.updated_at < cutoff))]
        deleted = _delete(conn, ids)
        deleted += conn.execute(
            sa.delete(handoff_messages).where(handoff_messages.c.created_at < cutoff)
        ).rowcount
        deleted += conn.execute(
            sa.delete(handoff_signals).where(handoff_signals.c.updated_at < cutoff)
        ).rowcount
    return deleted


def _delete(conn: Connection, ids: list[int]) -> int:
    if not ids:
        return 0
    # Explicit child deletes: SQLite enforces ON DELETE CASCADE only with foreign keys on.
    count = conn.execute(sa.delete(handoff_messages).where(handoff_messages.c.handoff_id.in_(ids))).rowcount
    conn.execute(sa.delete(handoff_changes).where(handoff_changes.c.handoff_id.in_(ids)))
    count += conn.execute(sa.delete(handoffs).where(handoffs.c.id.in_(ids))).rowcount
    return count
