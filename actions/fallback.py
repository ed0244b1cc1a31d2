"""Low-confidence fallback: offer the likeliest topics, and the menu if still lost."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import language_events, latest_entity, user_language
from actions.lookup import ActionLookupConsularContact, ActionLookupReferralPartner
from bot.answers import card_reply, card_title, menu_button
from bot.content.topics import topic_ids
from bot.handoff import offer as handoff_offer
from bot.i18n import gettext

FALLBACK_INTENT = "nlu_fallback"
MAX_SUGGESTIONS = 3
# Conversation intents are never worth suggesting in place of a question.
_NOT_SUGGESTED = {"greet", "goodbye", "thanks", "bot_challenge", "out_of_scope", FALLBACK_INTENT}


def suggestions(ranking: list[dict[str, Any]], known: set) -> list[str]:
    """The 2-3 likeliest answerable topics from an intent ranking."""
    picked = []
    for entry in ranking:
        name = entry.get("name")
        if name in known and name not in _NOT_SUGGESTED and name not in picked:
            picked.append(name)
        if len(picked) == MAX_SUGGESTIONS:
            break
    return picked


_LOOKUPS = {action().name(): action for action in (ActionLookupConsularContact, ActionLookupReferralPartner)}
_PLACE_ENTITIES = ("province", "country", "city")


def pending_lookup(tracker: Tracker) -> str | None:
    """The look-up that asked the question this message answers, if it names a place.

    A look-up asks "which province?" and the user types just "Hà Tĩnh": no intent, but
    the answer to that question.
    """
    if not any(latest_entity(tracker, entity) for entity in _PLACE_ENTITIES):
        return None
    user_turns = 0
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            user_turns += 1
            if user_turns > 1:
                return None
        elif event.get("event") == "action" and event.get("name") in _LOOKUPS:
            return event["name"]
    return None


def _user_turn_intents(tracker: Tracker) -> list[str]:
    return [
        ((event.get("parse_data") or {}).get("intent") or {}).get("name") or ""
        for event in tracker.events
        if event.get("event") == "user"
    ]


class ActionFallbackSuggest(Action):
    """First miss: "did you mean" buttons. Second miss in a row: the help menu and the
    offer of a person."""

    def name(self) -> str:
        return "action_fallback_suggest"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        lookup = pending_lookup(tracker)
        if lookup:
            return await _LOOKUPS[lookup]().run(dispatcher, tracker, domain)
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
            if missed_twice:  # failed twice in a row: offer a person (bot.handoff)
                offer = handoff_offer(lang)
                dispatcher.utter_message(text=offer["text"], buttons=offer["buttons"])
            return language_events(tracker)
        buttons = [
            {"title": card_title(topic, lang) or topic, "payload": f"/{topic}"} for topic in topics
        ] + [menu_button(lang)]
        dispatcher.utter_message(
            text=gettext(lang, "I am not sure I understood. Did you mean one of these?"),
            buttons=buttons,
        )
        return language_events(tracker)
