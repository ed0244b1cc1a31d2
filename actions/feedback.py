"""👍 / 👎 after an answer card, "what was missing?", and messages for the unanswered queue.

Thin: the storage, masking and grouping live in `bot.feedback`. A 👎 asks once, as a
pending question (`requested_slot` = "feedback", see actions/dialogue.py): the next
message, if it reads as an answer, goes to the queue as `thumbs_down` and is thanked;
another question is answered as usual. The second 👎 in a row offers a person.

The database must never cost the user an answer: a failed write is logged (without the
text) and the conversation goes on.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions.common import language_events, latest_entity, latest_intent, latest_text, user_language
from actions.dialogue import FEEDBACK_PENDING
from actions.replies import REQUESTED, Events, in_thread, parent_topic
from bot import db, feedback
from bot.answers import VOTE_DOWN_INTENT, VOTE_TITLES, VOTE_UP_INTENT, card_title, menu_button
from bot.i18n import gettext
from bot.payloads import HANDOFF_CARD, is_payload

log = logging.getLogger(__name__)

VOTE_INTENTS = {VOTE_UP_INTENT: "up", VOTE_DOWN_INTENT: "down"}


def vote_of(intent: str, text: str) -> str | None:
    """ "up" or "down" from the button's intent, or from the emoji typed (Zalo sends a
    button's title back as text)."""
    if intent in VOTE_INTENTS:
        return VOTE_INTENTS[intent]
    if VOTE_TITLES[VOTE_DOWN_INTENT] in text:
        return "down"
    if VOTE_TITLES[VOTE_UP_INTENT] in text:
        return "up"
    return None


def previous_vote(tracker: Tracker) -> str | None:
    """The vote of the user's last vote before this message, or None."""
    users = [e for e in tracker.events or [] if e.get("event") == "user"]
    for event in reversed(users[:-1]):
        parse = event.get("parse_data") or {}
        vote = vote_of((parse.get("intent") or {}).get("name") or "", "")
        if vote:
            return vote
    return None


async def to_queue(tracker: Tracker, kind: str, lang: str, topic: str | None = None) -> bool:
    """The latest message into the unanswered queue (masked there); False if it failed.
    A button payload is not a question anyone typed: skipped."""
    text = latest_text(tracker)
    if is_payload(text):
        return True
    try:
        await in_thread(feedback.add_item, db.get_engine(), kind, text, lang, tracker.sender_id, topic)
    except SQLAlchemyError as error:
        # Not log.exception: SQLAlchemy's message quotes the statement's parameters (the text).
        log.error("could not add a %s message to the unanswered queue (%s)", kind, type(error).__name__)
        return False
    return True


def offer_person(lang: str) -> dict[str, Any]:
    """After two 👎 in a row: the handoff's consent question (what staff will see, Yes/No)."""
    from bot.handoff import offer

    return offer(lang)


def _handoff_button(lang: str) -> list[dict[str, str]]:
    title = card_title(HANDOFF_CARD, lang)
    return [{"title": title, "payload": f"/{HANDOFF_CARD}"}] if title else []


class ActionFeedbackVote(Action):
    """Records 👍 / 👎 on the card named in the payload; 👎 asks what was missing."""

    def name(self) -> str:
        return "action_feedback_vote"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        lang = user_language(tracker)
        events: Events = list(language_events(tracker))
        vote = vote_of(latest_intent(tracker), latest_text(tracker))
        card = latest_entity(tracker, "card") or tracker.get_slot("topic")
        if vote and card:
            try:
                await in_thread(feedback.record_vote, db.get_engine(), card, lang, vote, tracker.sender_id)
            except SQLAlchemyError as error:
                log.error("could not record a vote (%s)", type(error).__name__)
        if vote != "down":
            dispatcher.utter_message(text=gettext(lang, "Thank you for telling me."))
            if vote == "up":
                # A helpful answer: the anonymous returnee survey is offered once (issue 14).
                from actions.reminders_survey import maybe_offer_survey

                events += maybe_offer_survey(dispatcher, tracker, lang)
            return events
        if previous_vote(tracker) == "down":
            offer = None
            try:
                offer = offer_person(lang)
            except Exception as error:  # the handoff module's failure must not lose the reply
                log.error("the handoff offer after two thumbs down failed (%s)", type(error).__name__)
            if offer:
                dispatcher.utter_message(text=offer["text"], buttons=offer.get("buttons") or [])
            else:
                dispatcher.utter_message(
                    text=gettext(
                        lang,
                        "Sorry that my answers did not help twice. You can ask to talk to a person.",
                    ),
                    buttons=_handoff_button(lang) + [menu_button(lang)],
                )
            return events + [SlotSet(REQUESTED, None)]
        dispatcher.utter_message(
            text=gettext(
                lang,
                "Sorry this did not help. What was missing? Write it in one message if you "
                "like (please leave out your name and phone number), or just ask your question.",
            )
        )
        topic = parent_topic(card) if card else tracker.get_slot("topic")
        return events + [SlotSet("topic", topic), SlotSet(REQUESTED, FEEDBACK_PENDING)]


async def missing_answer(dispatcher: CollectingDispatcher, tracker: Tracker, lang: str) -> Events:
    """The answer to "what was missing?": into the queue, with thanks."""
    await to_queue(tracker, "thumbs_down", lang, tracker.get_slot("topic"))
    dispatcher.utter_message(
        text=gettext(
            lang, "Thank you. The team behind this service reads these notes to improve the answers."
        ),
        buttons=[menu_button(lang)],
    )
    return [SlotSet(REQUESTED, None)]
