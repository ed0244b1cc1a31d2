"""Switching the answer language between Vietnamese and English."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import LANGUAGE_SLOT, latest_entity, user_language
from bot.answers import menu_button
from bot.i18n import SUPPORTED_LANGUAGES, gettext
from bot.language import language_request


def requested_language(text: str, current: str) -> str:
    """The language a "change language" message asks for ("e ko biet tieng anh" asks for
    Vietnamese); the other one when it names none."""
    asked = language_request(text)
    if asked in SUPPORTED_LANGUAGES:
        return str(asked)
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
