"""Low-confidence fallback: offer the likeliest topics, and the menu if still lost."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import language_events, user_language
from bot.answers import card_reply, card_title, menu_button
from bot.content.topics import topic_ids
from bot.i18n import gettext

FALLBACK_INTENT = "nlu_fallback"
MAX_SUGGESTIONS = 3
# Conversation intents are never worth suggesting in place of a question.
_NOT_SUGGESTED = {"greet", "goodbye", "thanks", "bot_challenge", "out_of_scope", FALLBACK_INTENT}


def suggestions(ranking: List[Dict[str, Any]], known: set) -> List[str]:
    """The 2-3 likeliest answerable topics from an intent ranking."""
    picked = []
    for entry in ranking:
        name = entry.get("name")
        if name in known and name not in _NOT_SUGGESTED and name not in picked:
            picked.append(name)
        if len(picked) == MAX_SUGGESTIONS:
            break
    return picked


def _user_turn_intents(tracker: Tracker) -> List[str]:
    return [
        ((event.get("parse_data") or {}).get("intent") or {}).get("name") or ""
        for event in tracker.events
        if event.get("event") == "user"
    ]


class ActionFallbackSuggest(Action):
    """First miss: "did you mean" buttons. Second miss in a row: the help menu."""

    def name(self) -> Text:
        return "action_fallback_suggest"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        lang = user_language(tracker)
        intents = _user_turn_intents(tracker)
        missed_twice = len(intents) >= 2 and intents[-2] == FALLBACK_INTENT
        ranking = (tracker.latest_message or {}).get("intent_ranking") or []
        topics = suggestions(ranking, set(topic_ids()))
        if missed_twice or not topics:
            menu = card_reply("help_menu", lang)
            dispatcher.utter_message(
                text=gettext(lang, "Sorry, I did not understand. Here is what I can help with:"),
            )
            if menu:
                dispatcher.utter_message(text=menu["text"], buttons=menu["buttons"])
            return language_events(tracker)
        buttons = [
            {"title": card_title(topic, lang) or topic, "payload": f"/{topic}"}
            for topic in topics
        ] + [menu_button(lang)]
        dispatcher.utter_message(
            text=gettext(lang, "I am not sure I understood. Did you mean one of these?"),
            buttons=buttons,
        )
        return language_events(tracker)
