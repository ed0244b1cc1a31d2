"""Sending a message to a user outside a turn, on their own channel, in one place.

Why: staff replies in a handoff and deadline reminders both reach a person who is not
writing at that moment. Telegram and Zalo are called through the channels' own output classes
(`bot.channels.outside`, whose retries follow `bot.channels.delivery`); the web chat has no open request, so the message
waits in its outbox for the page's next poll. The platform user is found through the
pseudonym map (`bot.identity`): after "forget me" there is no way back, by design.
Platform rules that depend on the caller (Zalo's 7-day reply window) are checked by it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

WEBCHAT = "webchat"
WEBCHAT_PREFIX = "web-"

# Why a message could not go out (English msgids; the staff console translates them).
REASON_FORGOTTEN = "The user asked to be forgotten: there is no way to reach them."
REASON_CHANNEL_OFF = "This channel is not configured on the server."
REASON_NOT_SENT = "The platform did not accept the message; try again later."
REASON_NO_CHANNEL = "This channel cannot receive messages outside a conversation turn."


@dataclass(frozen=True)
class Sent:
    ok: bool
    reason: str | None = None


def channel_of(engine: Engine, sender_id: str) -> str | None:
    """ "webchat", "telegram", "zalo" (from the pseudonym map), or None when unknown."""
    if sender_id.startswith(WEBCHAT_PREFIX):
        return WEBCHAT
    from bot.identity import IdentityStore

    identity = IdentityStore(engine).lookup(sender_id)
    return identity.platform if identity else None


async def send_to_user(
    engine: Engine,
    sender_id: str,
    text: str,
    channel: str | None = None,
    buttons: list[dict[str, Any]] | None = None,
    lang: str | None = None,
    free_reply: bool = True,
) -> Sent:
    """Send `text` (card Markdown) and `buttons` to the person behind `sender_id` on
    `channel` (default: the channel of their pseudonym), in the same markup as the bot's own
    replies (`bot.channels.outside`: HTML and inline keyboards on Telegram, `oa.query.show`
    buttons on Zalo). On Zalo a reply inside the free window names the user's latest message
    (`free_reply`), else it is a proactive message."""
    from bot.settings import get_settings

    settings = get_settings()
    if channel == WEBCHAT or (channel is None and sender_id.startswith(WEBCHAT_PREFIX)):
        from bot.channels.webchat import queue_message

        await queue_message(engine, sender_id, text, buttons)
        return Sent(True)
    if channel is not None and channel not in ("telegram", "zalo"):
        return Sent(False, REASON_NO_CHANNEL)
    from bot.identity import IdentityStore

    identity = await asyncio.to_thread(IdentityStore(engine).lookup, sender_id)
    if identity is None or (channel is not None and identity.platform != channel):
        return Sent(False, REASON_FORGOTTEN)
    if identity.platform not in ("telegram", "zalo"):
        return Sent(False, REASON_NO_CHANNEL)
    if not getattr(settings, identity.platform).enabled:
        return Sent(False, REASON_CHANNEL_OFF)
    from bot.channels.outside import outside_output

    async with outside_output(
        engine, settings, identity.platform, identity.platform_user_id, sender_id, lang, free_reply
    ) as output:
        sent = await output.deliver_reply(sender_id, text, buttons)
    return Sent(True) if sent else Sent(False, REASON_NOT_SENT)
