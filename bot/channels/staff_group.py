"""The optional Telegram staff group: one forum topic per handoff, so staff answer from their phones.

With STAFF_TELEGRAM_CHAT_ID set (a supergroup with topics, where the bot is an admin so it
sees every message), each handoff opens a topic named by its pseudonymous label, the
conversation so far and the user's new messages are posted in it, a staff member's message
in that topic is delivered to the user (`bot.handoff.send_staff_reply`), and `/done` in the
topic ends the handoff. Messages from any other chat never reach this code (the Telegram
channel routes only this chat id here). The group acts as one staff member,
"telegram-group", so that anyone in it can carry on or end a conversation a colleague
started there; users stay pseudonymous: the group sees the label, never a platform id.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy.engine import Engine

from bot.channels.delivery import Attempt, deliver
from bot.handoff import GROUP_STAFF
from bot.settings import Settings, get_settings

logger = logging.getLogger(__name__)

AUTHOR_MARK = {"user": "👤", "bot": "🤖", "staff": "🧑‍💼"}
MESSAGE_LIMIT = 4000


def enabled(settings: Settings) -> bool:
    return settings.staff_telegram_chat_id is not None and settings.telegram.enabled


async def _call(settings: Settings, method: str, **params: Any) -> Any:
    """One Bot API call with a short-lived Bot (works from any process and event loop)."""
    from bot.channels.telegram import TelegramSender, make_bot

    token = settings.telegram.token.get_secret_value()  # type: ignore[union-attr]
    result: Any = None

    async with make_bot(token, settings.telegram.api_base_url) as bot:

        async def attempt() -> Attempt:
            nonlocal result
            from telegram.error import TelegramError

            try:
                result = await getattr(bot, method)(**params)
                return Attempt.sent()
            except TelegramError as exc:
                return TelegramSender._failure(exc)

        ok = await deliver(attempt, f"telegram {method} (staff group)")
    return result if ok else None


async def open_topic(engine: Engine, handoff_id: int) -> int | None:
    """Create the handoff's topic and post the conversation so far; the topic's thread id."""
    from bot import handoff

    settings = get_settings()
    if not enabled(settings):
        return None
    summary = await asyncio.to_thread(handoff.get, engine, handoff_id)
    if summary is None:
        return None
    topic = await _call(
        settings, "create_forum_topic", chat_id=settings.staff_telegram_chat_id, name=summary.label
    )
    if topic is None:
        return None
    thread_id = int(topic.message_thread_id)
    await asyncio.to_thread(handoff.set_staff_thread, engine, handoff_id, thread_id)
    where = ", ".join(filter(None, [summary.country, summary.province]))
    header = f"{summary.label} · {summary.channel} · {summary.lang}" + (f" · {where}" if where else "")
    if summary.topic:
        header += f" · {summary.topic}"
    lines = [header, "Reply in this topic to answer the user; /done ends the handoff.", ""]
    for turn in await asyncio.to_thread(handoff.transcript, engine, handoff_id):
        lines.append(f"{AUTHOR_MARK.get(turn.author, '')} {turn.text}")
    await _post(settings, thread_id, "\n".join(lines))
    return thread_id


async def _post(settings: Settings, thread_id: int, text: str) -> None:
    await _call(
        settings,
        "send_message",
        chat_id=settings.staff_telegram_chat_id,
        message_thread_id=thread_id,
        text=text[:MESSAGE_LIMIT],
    )


async def mirror(engine: Engine, handoff_id: int, text: str, author: str, staff: str | None = None) -> None:
    """Post one turn in the handoff's topic (nothing when the bridge is off or has no topic)."""
    from bot import handoff

    settings = get_settings()
    if not enabled(settings):
        return
    row = await asyncio.to_thread(handoff._row, engine, handoff_id)
    if row is None or row.staff_thread_id is None:
        return
    if author == "staff" and staff == GROUP_STAFF:
        return  # typed in the topic itself: already there
    await _post(settings, int(row.staff_thread_id), f"{AUTHOR_MARK.get(author, '')} {text}")


async def staff_message(engine: Engine, thread_id: int, text: str) -> None:
    """A staff member wrote in a topic of the staff group: answer the user, or end on /done."""
    from bot import handoff

    settings = get_settings()
    handoff_id = await asyncio.to_thread(handoff.by_staff_thread, engine, thread_id)
    if handoff_id is None:
        return
    staff = GROUP_STAFF
    command = text.strip().split()[0].split("@")[0].lower() if text.strip() else ""
    if command == "/done":
        result = await handoff.end(engine, handoff_id, staff, "resolved")
    else:
        result = await handoff.send_staff_reply(engine, handoff_id, staff, text)
    if not result.ok and result.reason:
        await _post(settings, thread_id, f"⚠️ {result.reason}")
