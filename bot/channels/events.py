"""One inbound event type for every platform: what a webhook call asks the bot to do.

Each channel parses its platform's payload into an `InboundEvent`; from there the turn
(`bot.channels.base.WebhookInput`) is the same for all of them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Kind(enum.Enum):
    TEXT = "text"  # typed text (commands included)
    BUTTON = "button"  # a tap on a button whose data is a payload or a short id
    LOCATION = "location"  # a shared location
    FOLLOW = "follow"  # the user followed / started the bot
    UNSUPPORTED = "unsupported"  # media we cannot read: gets the polite "text only" reply


@dataclass(frozen=True)
class InboundEvent:
    """The part of a platform event the bot acts on; never logged (it holds ids and text)."""

    kind: Kind
    user_id: str  # the platform's user or chat id: replaced by a pseudonym before Rasa
    dedupe_key: str  # unique per platform delivery (update id / message id), no user id
    text: str = ""
    locale: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    ack_id: str | None = None  # something to acknowledge at once (Telegram callback query)
    message_id: str | None = None  # the platform's id of the user's message, to reply to (Zalo)

    def __repr__(self) -> str:
        return f"InboundEvent(kind={self.kind.value})"
