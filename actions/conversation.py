"""The base of every answering action: the conversation decides before the intent does.

Why: Rasa's rules pick an action from the intent of one message. Whatever action they
pick (topic card, look-up, fallback), it first asks the router (actions/dialogue.py)
whether this message answers a pending question or follows up on the last topic, and
only otherwise gives its own answer. One base class, so no action can forget it; it also
adds the notice when the message was cut (`truncated` in the parse data).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import language_events, latest_text, typed_text, user_language
from actions.dialogue import (
    CLEAR_INTENT_CONFIDENCE,
    EMPLOYER_TOPIC,
    Route,
    Turn,
    asks_for_mission,
    card_for_country,
    does_domestic_work,
    follow_up_words,
    route,
)
from actions.feedback import missing_answer
from actions.reminders_survey import continue_tool
from actions.replies import (
    META_GROUP,
    QUOTE_LEAD,
    REQUESTED,
    Events,
    ask_again,
    card_answer,
    consular_answer,
    country_passage_answer,
    partner_answer,
    search_answer,
    sub_card_follow_up,
    truncation_notice,
)
from bot.answers import also_asked_reply, menu_button
from bot.content import default_library
from bot.content.search import MAX_QUERY_CHARS, card_index
from bot.content.topics import topic_groups
from bot.i18n import gettext

CONTEXT_SLOTS = ("topic", "requested_slot", "country", "province", "city", "need")


def _answers_since_question(tracker: Tracker) -> int:
    """User turns since `requested_slot` was last set, this one included."""
    count = 0
    for event in reversed(tracker.events or []):
        if event.get("event") == "user":
            count += 1
        elif event.get("event") == "slot" and event.get("name") == REQUESTED:
            break
    return max(count, 1)


def last_question_topic(tracker: Tracker) -> str | None:
    """The last topic that was a question (not a greeting, thanks or the menu): what a
    follow-up such as "and in Japan?" refers to, even after an "ok, thanks"."""
    meta = set(topic_groups().get(META_GROUP, []))
    current = tracker.get_slot("topic")
    if current and current not in meta:
        return current
    for event in reversed(tracker.events or []):
        if event.get("event") == "slot" and event.get("name") == "topic":
            if event.get("value") and event["value"] not in meta:
                return event["value"]
    return None


def offered_topics(tracker: Tracker) -> list[str]:
    """The "you also asked about" topics of the user's previous message (offered as
    buttons after the answer to it)."""
    seen_latest = False
    for event in reversed(tracker.events or []):
        if event.get("event") != "user":
            continue
        if not seen_latest:
            seen_latest = True
            continue
        value = (event.get("parse_data") or {}).get("also_asked") or []
        return [str(topic) for topic in value if topic] if isinstance(value, list) else []
    return []


def user_texts(tracker: Tracker) -> list[str]:
    """Every user message of the conversation so far (each as the NLU reads it)."""
    return [
        str(e.get("text") or "")[:MAX_QUERY_CHARS] for e in tracker.events or [] if e.get("event") == "user"
    ]


def previous_user_text(tracker: Tracker) -> str:
    """The user's message before the latest one ("" if none)."""
    seen = 0
    for event in reversed(tracker.events or []):
        if event.get("event") == "user":
            seen += 1
            if seen == 2:
                return str(event.get("text") or "")
    return ""


def quoted_last(tracker: Tracker) -> bool:
    """True when the bot's last answer quoted a card passage (the fact search)."""
    leads = {gettext(lang, QUOTE_LEAD) for lang in ("vi", "en")}
    seen_user = False
    for event in reversed(tracker.events or []):
        if event.get("event") == "user":
            if seen_user:
                return False
            seen_user = True
        elif event.get("event") == "bot" and seen_user:
            if any(str(event.get("text") or "").startswith(lead) for lead in leads):
                return True
    return False


def turn_of(tracker: Tracker) -> Turn:
    latest = tracker.latest_message or {}
    intent = latest.get("intent") or {}
    entities: dict[str, str] = {}
    for entity in latest.get("entities") or []:
        if entity.get("value") not in (None, ""):
            entities.setdefault(entity.get("entity"), str(entity["value"]))
    return Turn(
        text=latest_text(tracker),
        intent=intent.get("name") or "",
        confidence=float(intent.get("confidence") or 0.0),
        entities=entities,
        slots={
            **{name: tracker.get_slot(name) for name in CONTEXT_SLOTS},
            "topic": last_question_topic(tracker),
        },
        answers_since_question=_answers_since_question(tracker),
        ranking=[
            (str(entry.get("name")), float(entry.get("confidence") or 0.0))
            for entry in latest.get("intent_ranking") or []
            if entry.get("name")
        ],
        offered=offered_topics(tracker),
        # Read only when it can matter: the whole conversation is scanned.
        domestic_worker=intent.get("name") == EMPLOYER_TOPIC and does_domestic_work(user_texts(tracker)),
    )


def also_asked(tracker: Tracker) -> list[str]:
    """Other topics the message asked about (`also_asked` in the parse data)."""
    value = (tracker.latest_message or {}).get("also_asked") or []
    return [str(topic) for topic in value if topic] if isinstance(value, list) else []


class ConversationAction(Action, ABC):
    """Routes the turn; subclasses give the answer for `Route("default")`.

    Abstract, so the action server does not register it as an action itself."""

    @abstractmethod
    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker, lang: str) -> Events:
        """The intent's own answer, when the conversation does not decide otherwise."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        lang = user_language(tracker)
        events: Events = list(language_events(tracker))
        # A guided tool (reminders, survey: actions/reminders_survey.py) waiting for an answer
        # goes first.
        handled, left = await continue_tool(dispatcher, tracker, lang)
        if handled:
            return events + left
        if left:
            events += left
            tracker.slots[REQUESTED] = None
        turn = turn_of(tracker)
        chosen = route(turn)
        if chosen.drop_pending:
            events.append(SlotSet(REQUESTED, None))
        from_cards = await self._from_cards(chosen, dispatcher, tracker, turn, lang)
        if from_cards is not None:
            events += from_cards
        else:
            events += await self._follow(chosen, dispatcher, tracker, turn, lang)
        # Several needs in one message: the others follow whatever answered the first.
        answered = {e["value"] for e in events if e.get("event") == "slot" and e.get("name") == "topic"}
        extra = also_asked_reply(also_asked(tracker), lang, answered)
        if extra:
            dispatcher.utter_message(text=extra["text"], buttons=extra["buttons"])
        notice = truncation_notice(tracker.latest_message or {}, lang)
        if notice:
            dispatcher.utter_message(text=notice)
        return events

    async def _from_cards(
        self, chosen: Route, dispatcher: CollectingDispatcher, tracker: Tracker, turn: Turn, lang: str
    ) -> Events | None:
        """Follow-ups the cards answer better than the route: the fact just quoted, asked
        for another country ("and for Korea?" after Taiwan's 1955), or a follow-up that a
        sub-card of the current topic answers ("lần 2 lấy lại thuế thì sao" after nenkin)."""
        if chosen.kind not in ("card", "partner", "default") or not follow_up_words(turn.text):
            return None
        text = typed_text(tracker)
        country = turn.entities.get("country")
        if country and quoted_last(tracker) and not asks_for_mission(text):
            found = country_passage_answer(dispatcher, text, previous_user_text(tracker), lang, country)
            if found:
                return [SlotSet("topic", found), SlotSet(REQUESTED, None)]
        topic = turn.slots.get("topic")
        if chosen.kind == "default" and topic and turn.intent != topic and not turn.entities:
            card = sub_card_follow_up(text, lang, topic, turn.intent)
            if card:
                return await card_answer(dispatcher, lang, card)
        return None

    async def _follow(
        self, chosen: Route, dispatcher: CollectingDispatcher, tracker: Tracker, turn: Turn, lang: str
    ) -> Events:
        if chosen.kind == "consular":
            return await consular_answer(dispatcher, lang, chosen.country, chosen.city)
        if chosen.kind == "partner":
            return await partner_answer(
                dispatcher, lang, chosen.need, chosen.province, chosen.country, topic=chosen.card
            )
        if chosen.kind == "card":
            card = card_for_country(chosen.card or "", chosen.country, _card_exists(lang))
            # The place itself is kept by the domain's from_entity slot mappings.
            return await card_answer(dispatcher, lang, card, province=chosen.province, country=chosen.country)
        if chosen.kind == "tool":
            from actions.tools import tool_turn

            tool_events = await tool_turn(dispatcher, tracker, lang)
            if tool_events is not None:
                return tool_events
            # The user moved on: the tool is dropped and their message answered as usual.
            dropped: Events = [SlotSet(REQUESTED, None), SlotSet("tool_answers", None)]
            return dropped + await self.answer(dispatcher, tracker, lang)
        if chosen.kind == "ack":
            # The topic slot is left as it is: the next follow-up still refers to it.
            dispatcher.utter_message(
                text=gettext(
                    lang, "OK. Is there anything else you would like to ask?", domain="conversation"
                ),
                buttons=[menu_button(lang)],
            )
            return []
        if chosen.kind == "missing":
            return await missing_answer(dispatcher, tracker, lang)
        if chosen.kind == "reask":
            slot = (turn.slots.get(REQUESTED) or "").split(":")[-1]
            return await ask_again(
                dispatcher, lang, turn.slots.get("topic") or "", slot, turn.slots.get("need")
            )
        if turn.confidence < CLEAR_INTENT_CONFIDENCE and card_index().named_terms(typed_text(tracker)):
            # "Đường dây Danuri là số mấy?": the classifier is unsure and the message names
            # something a card passage states; that passage answers better than a guess.
            found = search_answer(dispatcher, typed_text(tracker), lang)
            if found:
                return [SlotSet("topic", found), SlotSet(REQUESTED, None)]
        return await self.answer(dispatcher, tracker, lang)


def _card_exists(lang: str):
    library = default_library()
    return lambda card_id: library.get(card_id, lang) is not None
