"""The answer action: the card of the predicted topic, in the user's language."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import language_events, latest_entity, latest_intent, user_language
from bot.answers import card_reply, menu_button
from bot.i18n import gettext

SHOW_CARD_INTENT = "show_card"


class ActionAnswerTopic(Action):
    """Renders `content/<lang>/<topic>.md` for the latest intent (or a requested card)."""

    def name(self) -> str:
        return "action_answer_topic"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        lang = user_language(tracker)
        intent = latest_intent(tracker)
        card_id = latest_entity(tracker, "card") if intent == SHOW_CARD_INTENT else intent
        reply = card_reply(card_id or "help_menu", lang) if card_id else None
        if reply is None:
            dispatcher.utter_message(
                text=gettext(lang, "Sorry, I have no answer on this yet."),
                buttons=[menu_button(lang)],
            )
        else:
            dispatcher.utter_message(text=reply["text"], buttons=reply["buttons"])
        return language_events(tracker)
