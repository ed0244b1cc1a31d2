"""Low-confidence fallback: answer from the cards if a passage fits, else offer the
likeliest topics, and the menu if still lost.

The suggestions come from the card search first (card text holds terms the training
examples lack: EPS, nenkin, KWSP), then the classifier's ranking; no button twice.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import latest_text, typed_text
from actions.conversation import ConversationAction, last_question_topic, previous_user_text
from actions.dialogue import words
from actions.feedback import to_queue
from actions.replies import (
    Events,
    search_answer,
    search_suggestions,
    searched_topics,
    topic_passage_answer,
)
from bot.answers import card_reply, menu_button
from bot.content.topics import topic_ids
from bot.handoff import offer as handoff_offer
from bot.i18n import gettext
from bot.payloads import FALLBACK_INTENT

MAX_SUGGESTIONS = 3
# Conversation intents are never worth suggesting in place of a question.
_NOT_SUGGESTED = {"greet", "goodbye", "thanks", "bot_challenge", "out_of_scope", FALLBACK_INTENT}


def suggestions(ranking: list[dict[str, Any]], known: set) -> list[str]:
    """The 2-3 likeliest answerable topics from an intent ranking."""
    picked: list[str] = []
    for entry in ranking:
        name = entry.get("name")
        if isinstance(name, str) and name in known and name not in _NOT_SUGGESTED and name not in picked:
            picked.append(name)
        if len(picked) == MAX_SUGGESTIONS:
            break
    return picked


def _user_turn_intents(tracker: Tracker) -> list[str]:
    return [
        ((event.get("parse_data") or {}).get("intent") or {}).get("name") or ""
        for event in tracker.events
        if event.get("event") == "user"
    ]


class ActionFallbackSuggest(ConversationAction):
    """A passage that answers, or "did you mean" buttons; second miss in a row: the menu
    and the offer of a person."""

    def name(self) -> str:
        return "action_fallback_suggest"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker, lang: str) -> Events:
        intents = _user_turn_intents(tracker)
        missed_twice = len(intents) >= 2 and intents[-2] == FALLBACK_INTENT
        text = latest_text(tracker)
        # Within the current topic, read with the question before it ("số đó gọi từ nước
        # ngoài được không" after the MOFA hotline); then as typed: a name ("Danuri")
        # leads the search (bot/content/search.py).
        topic = last_question_topic(tracker)
        answered = None
        if not missed_twice and topic:
            answered = topic_passage_answer(
                dispatcher, typed_text(tracker), previous_user_text(tracker), lang, topic
            )
        if not missed_twice and not answered:
            answered = search_answer(dispatcher, typed_text(tracker), lang)
        if answered:
            return [SlotSet("topic", answered), SlotSet("requested_slot", None)]
        # Not understood: staff see it in the unanswered queue (masked, grouped).
        await to_queue(tracker, "fallback", lang)
        ranking = (tracker.latest_message or {}).get("intent_ranking") or []
        buttons = search_suggestions(text, lang, suggestions(ranking, set(topic_ids())))
        if missed_twice or not buttons:
            menu = card_reply("help_menu", lang)
            dispatcher.utter_message(
                text=gettext(lang, "Sorry, I did not understand. Here is what I can help with:"),
            )
            if menu:
                dispatcher.utter_message(text=menu["text"], buttons=menu["buttons"])
            if missed_twice:  # failed twice in a row: offer a person (bot.handoff)
                offer = handoff_offer(lang)
                dispatcher.utter_message(text=offer["text"], buttons=offer["buttons"])
            return []
        # A single word the cards contain ("eps", "nenkin") is a keyword to look up, not a
        # misunderstanding.
        keyword = len(words(text)) == 1 and bool(searched_topics(text, lang))
        lead = (
            "Here is what I have on this:"
            if keyword
            else "I am not sure I understood. Did you mean one of these?"
        )
        dispatcher.utter_message(text=gettext(lang, lead), buttons=buttons + [menu_button(lang)])
        return []
