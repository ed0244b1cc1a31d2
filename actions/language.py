"""Switching the answer language between Vietnamese and English."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import LANGUAGE_SLOT, latest_entity, user_language
from bot.answers import menu_button
from bot.i18n import SUPPORTED_LANGUAGES, gettext
from bot.vietnamese.text import fold

_ASKS_ENGLISH = re.compile(r"\b(english|tieng anh|t anh|eng|en)\b")
_ASKS_VIETNAMESE = re.compile(r"\b(vietnamese|tieng viet|t viet|viet|vi)\b")


def requested_language(text: str, current: str) -> str:
    """The language a "change language" message asks for; the other one if unclear."""
    folded = fold(text or "")
    wants_en, wants_vi = bool(_ASKS_ENGLISH.search(folded)), bool(_ASKS_VIETNAMESE.search(folded))
    if wants_en != wants_vi:
        return "en" if wants_en else "vi"
    return "en" if current == "vi" else "vi"


class ActionChangeLanguage(Action):
    def name(self) -> str:
        return "action_change_language"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        current = user_language(tracker)
        chosen = latest_entity(tracker, "language")
        if chosen not in SUPPORTED_LANGUAGES:
            chosen = requested_language((tracker.latest_message or {}).get("text", ""), current)
        dispatcher.utter_message(
            text=gettext(chosen, "OK, I will answer in English from now on."),
            buttons=[
                menu_button(chosen),
                {"title": gettext(chosen, "Switch language"), "payload": "/change_language"},
            ],
        )
        return [SlotSet(LANGUAGE_SLOT, chosen)]
