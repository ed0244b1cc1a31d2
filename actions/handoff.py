"""Handing the conversation to a person: the offer with consent, then the handoff itself.

One action for the `human_handoff` intent: without a `consent` entity it asks (and says
what staff will see); the Yes / No buttons send `human_handoff` again with
`consent: yes|no`. On yes it opens the handoff with this conversation so far
(`bot.handoff.open_handoff`), tells the user when a person will answer (staff hours), and
opens the topic in the Telegram staff group. From the next message the channel layer keeps
the bot silent until staff end the handoff. On a channel staff cannot write to later (the
REST API, the terminal) no handoff is opened: the `human_handoff` card says where people are.
"""

from __future__ import annotations

import asyncio

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import latest_entity
from actions.conversation import ConversationAction, last_question_topic
from actions.replies import Events
from bot import handoff
from bot.answers import card_reply
from bot.db import get_engine
from bot.i18n import gettext
from bot.settings import get_settings

OFFER_ACTION = "action_offer_handoff"
HANDOFF_TOPIC = "human_handoff"


def conversation_so_far(tracker: Tracker) -> list[tuple[str, str]]:
    """(author, text) of the conversation's messages, oldest first; button payloads and
    commands are not messages the user wrote, so they are left out."""
    turns = []
    for event in tracker.events:
        text = event.get("text")
        if not isinstance(text, str) or not text.strip():
            continue
        if event.get("event") == "user" and not text.startswith("/"):
            turns.append(("user", text))
        elif event.get("event") == "bot":
            turns.append(("bot", text))
    return turns[-handoff.HISTORY_TURNS :]


def channel_of(tracker: Tracker) -> str:
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    channel = metadata.get("channel") or tracker.get_latest_input_channel() or ""
    return channel if channel in handoff.LABEL_PREFIX else "rest"


async def start_handoff(dispatcher: CollectingDispatcher, tracker: Tracker, lang: str) -> None:
    """Open the handoff and tell the user what happens next."""
    engine = get_engine(get_settings().database_url)
    already = await asyncio.to_thread(handoff.current, engine, tracker.sender_id)
    if already is not None:  # a second tap on Yes: the same handoff, told again
        for message in handoff.availability(lang):
            dispatcher.utter_message(text=message["text"], buttons=message.get("buttons") or [])
        return
    handoff_id = await asyncio.to_thread(
        handoff.open_handoff,
        engine,
        tracker.sender_id,
        channel_of(tracker),
        lang,
        tracker.get_slot("country"),
        tracker.get_slot("province"),
        last_question_topic(tracker),
        conversation_so_far(tracker),
    )
    for message in handoff.availability(lang):
        dispatcher.utter_message(text=message["text"], buttons=message.get("buttons") or [])
        await asyncio.to_thread(handoff.record_bot_message, engine, handoff_id, message["text"])
    await handoff.open_in_staff_group(engine, handoff_id)


class ActionOfferHandoff(ConversationAction):
    """Routed first like every answer (a weak "human_handoff" for "còn ở Hàn thì gọi số
    nào?" is a follow-up on the topic); a clear request gets the offer or the handoff."""

    def name(self) -> str:
        return OFFER_ACTION

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker, lang: str) -> Events:
        consent = latest_entity(tracker, "consent")
        if channel_of(tracker) not in handoff.DELIVERABLE:
            # Staff could not answer here (the REST API, the terminal): say where people are.
            card = card_reply("human_handoff", lang)
            if card:
                dispatcher.utter_message(text=card["text"], buttons=card["buttons"])
        elif consent == "yes":
            await start_handoff(dispatcher, tracker, lang)
        elif consent == "no":
            dispatcher.utter_message(text=gettext(lang, handoff.DECLINED))
        else:
            offer = handoff.offer(lang)
            dispatcher.utter_message(text=offer["text"], buttons=offer["buttons"])
        # The conversation is now about reaching a person (the held-out conversations'
        # topic contract); staff still see the last question's topic (start_handoff).
        return [SlotSet("topic", HANDOFF_TOPIC)]
