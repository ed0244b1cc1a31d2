"""A card as a channel-neutral reply: text in the Markdown subset plus buttons.

Follow-up cards become buttons whose payload bypasses NLU (`/<topic id>` for topics,
`/show_card{"card": "<id>"}` for sub-cards); a card with `lookup` also gets a button
that starts the directory look-up. Turning `**bold**` into HTML or a platform's own
formatting is the channels' job; `strip_markup` is for plain-text channels.
"""

from __future__ import annotations

import json
import logging
import re

from bot.content.cards import Card, ContentLibrary
from bot.content.topics import topic_ids
from bot.i18n import gettext

logger = logging.getLogger(__name__)

LOOKUP_BUTTON_TITLES = {
    "referral_partner": "Find organisations near me",
    "consular_contact": "Find the embassy contacts",
}

_BOLD = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)


def _payload(card_id: str, topics: list[str]) -> str:
    if card_id in topics:
        return f"/{card_id}"
    return "/show_card" + json.dumps({"card": card_id}, ensure_ascii=False)


def render_card(card: Card, library: ContentLibrary) -> dict[str, object]:
    """{"text": "**title**\\n\\nbody", "buttons": [{"title", "payload"}, ...]}."""
    topics = topic_ids()
    buttons: list[dict[str, str]] = []
    for target_id in card.follow_up:
        target = library.get(target_id, card.lang)
        if target is None:
            logger.warning(
                "Card %s/%s: follow-up %r has no card; button left out", card.lang, card.id, target_id
            )
            continue
        buttons.append({"title": target.title, "payload": _payload(target_id, topics)})
    if card.lookup == "referral_partner":
        payload = "/referral_partner"
        if card.lookup_need:
            payload += json.dumps({"need": card.lookup_need}, ensure_ascii=False)
        buttons.append(
            {"title": gettext(card.lang, LOOKUP_BUTTON_TITLES["referral_partner"]), "payload": payload}
        )
    elif card.lookup == "consular_contact":
        buttons.append(
            {
                "title": gettext(card.lang, LOOKUP_BUTTON_TITLES["consular_contact"]),
                "payload": "/consular_contact",
            }
        )
    return {"text": f"**{card.title}**\n\n{card.body}", "buttons": buttons}


def strip_markup(text: str) -> str:
    """The text without `**` bold markers, for channels that show plain text only."""
    return _BOLD.sub(r"\1", text).replace("**", "")
