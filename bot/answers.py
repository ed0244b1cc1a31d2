"""Turn a topic or card id into the reply the user sees, in their language.

The single place that combines a content card with the fixed UI buttons, used by the
answer action (action server), the in-process emergency response (Rasa server) and the
CLI alike.
"""

from __future__ import annotations

from typing import Any, cast

from bot.content import default_library, render_card
from bot.content.topics import topic_groups, topic_ids
from bot.i18n import gettext
from bot.payloads import payload

Reply = dict[str, Any]

# Buttons that belong to a topic but are actions, not cards.
_ACTION_BUTTONS = {
    "privacy": [("Delete my data", "/forget_me")],
    "change_language": [
        ("Tiếng Việt", '/change_language{"language":"vi"}'),
        ("English", '/change_language{"language":"en"}'),
    ],
}
MENU_CARD = "help_menu"
MAX_ALSO_ASKED = 3
# 👍 / 👎 after an answer card (actions/feedback.py records them). Not after the urgent
# card (someone in danger is not asked to rate it) nor after conversational cards
# (greetings, menu, language, privacy...), which answer no question.
VOTE_UP_INTENT = "feedback_up"
VOTE_DOWN_INTENT = "feedback_down"
VOTE_TITLES = {VOTE_UP_INTENT: "👍", VOTE_DOWN_INTENT: "👎"}
NO_VOTE_CARDS = {"emergency_help"}
META_GROUP = "meta"


def card_reply(card_id: str, lang: str, country: str | None = None) -> Reply | None:
    """The card rendered with its follow-up buttons, or None if no such card.

    `country` (the tracker's ISO code, e.g. "KR") puts that country's lines first and
    leaves out other countries' lines (see `bot.content.render`).
    """
    library = default_library()
    card = library.get(card_id, lang)
    if card is None:
        return None
    reply = render_card(card, library, country)
    buttons: list[dict[str, str]] = list(cast("list[dict[str, str]]", reply.get("buttons") or []))
    for title, action in _ACTION_BUTTONS.get(card_id, []):
        buttons.append({"title": gettext(lang, title), "payload": action})
    reply["buttons"] = buttons + vote_buttons(card_id)
    return reply


def takes_votes(card_id: str) -> bool:
    """True for a card that answers a question (not the urgent card, not a meta card)."""
    return card_id not in NO_VOTE_CARDS and card_id not in set(topic_groups().get(META_GROUP, []))


def vote_buttons(card_id: str) -> list[dict[str, str]]:
    """👍 and 👎 for the card, one tap each; none for cards that take no vote."""
    if not takes_votes(card_id):
        return []
    return [
        {"title": title, "payload": payload(intent, card=card_id)} for intent, title in VOTE_TITLES.items()
    ]


def menu_button(lang: str) -> dict[str, str]:
    return {"title": gettext(lang, "Main menu"), "payload": f"/{MENU_CARD}"}


def card_title(card_id: str, lang: str) -> str | None:
    card = default_library().get(card_id, lang)
    return card.title if card else None


def also_asked_reply(topics: list[str], lang: str, answered: set[str]) -> Reply | None:
    """ "You also asked about: A · B" with one button per other topic asked in the same
    message (at most 3, each once), or None. Shared by the in-process urgent answer
    and the answer action."""
    known = set(topic_ids())
    titles: list[str] = []
    buttons: list[dict[str, str]] = []
    for topic in topics:
        payload = f"/{topic}"
        if topic in answered or topic not in known or payload in {b["payload"] for b in buttons}:
            continue
        title = card_title(topic, lang)
        if not title:
            continue
        titles.append(title)
        buttons.append({"title": title, "payload": payload})
        if len(buttons) == MAX_ALSO_ASKED:
            break
    if not buttons:
        return None
    return {
        "text": gettext(lang, "You also asked about: {topics}", topics=" · ".join(titles)),
        "buttons": buttons,
    }
