"""What a user gets when part of the assistant is down: never silence, danger first.

When the database, Redis, the tracker store or the action code fails, a turn cannot run
as usual. The channels and the action runner then answer from here, with nothing but the
content cards in memory and the catalogs:
- a message that expresses danger (`bot.emergency.detect_danger`) gets the urgent-help
  card, exactly as the dialogue would have sent it;
- any other message gets a short "temporarily unavailable" reply followed by the urgent
  numbers, which are the first two paragraphs of that same card (the police/ambulance
  numbers by country and the citizen-protection hotline), so no number is ever written
  here, only taken from the sourced card.

Plain Python, no Rasa, no database: it must work when everything else does not.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.i18n import gettext, supported

logger = logging.getLogger(__name__)

I18N_DOMAIN = "reliability"
URGENT_CARD = "emergency_help"
UNAVAILABLE = (
    "Sorry, the assistant is temporarily unavailable. Please try again in a few minutes. "
    "If you are in danger, call now:"
)
# Shown only if the urgent card itself cannot be read (a broken content directory).
NO_CARD = "If you are in danger, call the police or an ambulance where you are."

Reply = dict[str, Any]


def urgent_card(lang: str | None, country: str | None = None) -> Reply | None:
    """The urgent-help card in `lang`, or None if the card cannot be rendered."""
    from bot.answers import card_reply

    try:
        return card_reply(URGENT_CARD, supported(lang), country)
    except Exception as exc:  # noqa: BLE001 - a broken card must not break the fallback too
        logger.error("urgent card could not be rendered: %s", type(exc).__name__)
        return None


def urgent_numbers(lang: str | None) -> str:
    """The first two paragraphs of the urgent card: the emergency numbers by country and
    the citizen-protection hotline (the card is their only source)."""
    card = urgent_card(lang)
    if not card:
        return gettext(lang, NO_CARD, domain="reliability")
    paragraphs = [part for part in str(card["text"]).split("\n\n") if part.strip()]
    # paragraphs[0] is the card's title; then the numbers list and the hotline.
    return "\n\n".join(paragraphs[1:3])


def unavailable_reply(lang: str | None) -> Reply:
    """The short "temporarily unavailable" reply with the urgent numbers, no buttons."""
    text = gettext(lang, UNAVAILABLE, domain="reliability")
    return {"text": f"{text}\n\n{urgent_numbers(lang)}", "buttons": []}


def is_danger(text: str | None) -> bool:
    """True when the message expresses danger; False (never an error) otherwise."""
    if not text:
        return False
    from bot.emergency import detect_danger

    try:
        return detect_danger(text) is not None
    except Exception as exc:  # noqa: BLE001 - the guard failing means "answer as unavailable"
        logger.error("danger check failed: %s", type(exc).__name__)
        return False


def degraded_reply(text: str | None, lang: str | None) -> Reply:
    """The reply to `text` when the assistant cannot run a turn: the urgent card for
    danger, else "temporarily unavailable" with the urgent numbers."""
    if is_danger(text):
        card = urgent_card(lang)
        if card:
            return {"text": card["text"], "buttons": list(card.get("buttons") or []), "urgent": True}
    return unavailable_reply(lang)
