"""The answers the actions give, once the router (actions/dialogue.py) has chosen one.

Why one module: a topic card, a consular or partner look-up, the question asked again,
the "you also asked" buttons and the notice on a cut message are each written once and
used by whichever action the classifier's intent started. Each function sends its
messages and returns the slot events that keep the conversation's state (`topic`, the
places, `need`, `requested_slot`). Directory queries run in a worker thread so the
action server's event loop never waits on the database.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions.dialogue import CONSULAR, REFERRAL, SOFT_PENDING
from bot.answers import card_reply, card_title, menu_button
from bot.content import default_library
from bot.content.search import Passage, card_index, tokens
from bot.content.topics import topic_groups, topic_ids
from bot.directory import db
from bot.directory.lookups import consular_lookup, partner_lookup, unavailable
from bot.directory.render import Reply, ask_need, ask_place
from bot.i18n import gettext

log = logging.getLogger(__name__)
T = TypeVar("T")
Events = list[dict[str, Any]]
REQUESTED = "requested_slot"
MAX_SUGGESTIONS = 3
META_GROUP = "meta"
# When a passage answers a question by itself (BM25 over folded cards): a high score, or
# a fair one that covers much of the question. The fact questions of issue 8 score 37
# and 60; "ở Hà Tĩnh có tổ chức nào hỗ trợ lao động về nước" (a look-up, not a fact)
# 26 at 0.23 coverage; a lone "eps" 4.
ANSWER_SCORE = 30.0
# The first words of a quoted passage (the follow-up router looks for them).
QUOTE_LEAD = "This is what my information says:"
FAIR_SCORE, FAIR_COVERAGE = 20.0, 0.35


async def in_thread(func: Callable[..., T], *args: Any) -> T:
    """Run a blocking database call on the default executor."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, partial(func, *args))


def utter(dispatcher: CollectingDispatcher, reply: Reply) -> None:
    if reply.buttons:
        dispatcher.utter_message(text=reply.text, buttons=reply.buttons)
    else:
        dispatcher.utter_message(text=reply.text)


def question_topic(card_id: str) -> str | None:
    """The topic to remember for follow-ups; None for greetings, thanks and the like."""
    topic = parent_topic(card_id)
    return None if topic in topic_groups().get(META_GROUP, []) else topic


def parent_topic(card_id: str) -> str:
    """The topic a sub-card belongs to, for the `topic` slot."""
    if card_id in topic_ids():
        return card_id
    return card_index().topics.get(card_id, card_id)


# ------------------------------------------------------------------- directory look-ups


async def consular_answer(
    dispatcher: CollectingDispatcher, lang: str, country: str | None, city: str | None
) -> Events:
    """The missions for a country (and city); without a country, the question "which?"."""
    try:
        reply = await in_thread(consular_lookup, db.database_url(), lang, country, city)
    except SQLAlchemyError:
        log.exception("consular look-up failed")
        utter(dispatcher, unavailable(lang))
        return [SlotSet("topic", CONSULAR), SlotSet(REQUESTED, None)]
    utter(dispatcher, reply)
    if not country:
        return [SlotSet("topic", CONSULAR), SlotSet(REQUESTED, "country")]
    return [
        SlotSet("topic", CONSULAR),
        SlotSet(REQUESTED, None),
        SlotSet("country", country),
        SlotSet("city", city),
    ]


async def partner_answer(
    dispatcher: CollectingDispatcher,
    lang: str,
    need: str | None,
    province: str | None,
    country: str | None,
    page: int = 1,
    topic: str | None = None,
    search_text: str | None = None,
) -> Events:
    """One page of partners for a need and place, or the question for what is missing
    (with the card passage that answers `search_text`, if one does)."""
    topic = topic or REFERRAL
    place = [SlotSet("province", province), SlotSet("country", country)] if province or country else []
    if not need:
        # "ở Hàn có số nào tư vấn cho lao động nước ngoài": a card may hold the number.
        if search_text:
            search_answer(dispatcher, search_text, lang, skip_topics={REFERRAL})
        utter(dispatcher, ask_need(lang))
        return [SlotSet("topic", REFERRAL), SlotSet(REQUESTED, "need"), *place]
    if not province and not country:
        utter(dispatcher, ask_place(need, lang))
        return [SlotSet("topic", topic), SlotSet(REQUESTED, "province"), SlotSet("need", need)]
    try:
        reply = await in_thread(partner_lookup, db.database_url(), lang, need, province, country, page)
    except SQLAlchemyError:
        log.exception("referral look-up failed")
        reply = unavailable(lang)
    utter(dispatcher, reply)
    return [
        SlotSet("topic", topic),
        SlotSet(REQUESTED, None),
        SlotSet("need", need),
        *place,
        SlotSet("page", None),
    ]


async def ask_again(
    dispatcher: CollectingDispatcher, lang: str, topic: str, slot: str, need: str | None
) -> Events:
    """The pending question once more, after a reply that named no known place or need."""
    dispatcher.utter_message(text=gettext(lang, "Sorry, I did not recognise that name."))
    if topic == CONSULAR:
        await consular_answer(dispatcher, lang, None, None)
        # The question stays the one first asked: a second miss lets the user go.
        return []
    if slot == "need" or not need:
        utter(dispatcher, ask_need(lang))
    else:
        utter(dispatcher, ask_place(need, lang))
    return []


# ----------------------------------------------------------------------------- cards


async def card_answer(
    dispatcher: CollectingDispatcher,
    lang: str,
    card_id: str,
    province: str | None = None,
    country: str | None = None,
    nearby: bool = False,
) -> Events:
    """The card; with a known place, its local partners (3, then "more"). `nearby`: the
    user asked for help near them, so the province question is a real one (asked again
    once), not only an offer."""
    reply = card_reply(card_id, lang)
    if reply is None:
        dispatcher.utter_message(
            text=gettext(lang, "Sorry, I have no answer on this yet."), buttons=[menu_button(lang)]
        )
        return []
    # Every answer names its topic (greetings too, per the slot contract); follow-ups
    # look past the conversational ones (actions/conversation.py).
    topic = parent_topic(card_id)
    events: Events = [SlotSet(REQUESTED, None), SlotSet("topic", topic)]
    card = default_library().get(card_id, lang)
    need = card.lookup_need if card and card.lookup == REFERRAL else None
    if need and not province and not country:
        # Offer the local look-up; the next message naming a province answers it.
        reply["text"] += "\n\n" + gettext(
            lang, "Tell me your province (or the country you are in) and I will find help near you."
        )
        pending = "province" if nearby else f"{SOFT_PENDING}:province"
        events += [SlotSet(REQUESTED, pending), SlotSet("need", need)]
    dispatcher.utter_message(text=reply["text"], buttons=reply["buttons"])
    if need and (province or country):
        events += await partner_answer(
            dispatcher, lang, need, province, None if province else country, topic=topic
        )
    return events


def truncation_notice(latest: dict[str, Any], lang: str) -> str | None:
    if latest.get("truncated"):
        return gettext(lang, "Your message was very long: I read only its first part.")
    return None


# ---------------------------------------------------------------------- card search


def _card_button(card_id: str, title: str) -> dict[str, str]:
    if card_id in topic_ids():
        return {"title": title, "payload": f"/{card_id}"}
    return {"title": title, "payload": "/show_card" + json.dumps({"card": card_id}, ensure_ascii=False)}


def searched_topics(text: str, lang: str) -> list[str]:
    """The topics whose cards mention the message's words, best first."""
    return [t for t, _ in card_index().best_topics(text, lang, limit=MAX_SUGGESTIONS) if question_topic(t)]


def search_suggestions(text: str, lang: str, ranking: list[str] | None = None) -> list[dict[str, str]]:
    """Buttons for the likeliest topics: the card search first, then the classifier's
    ranking; one button per topic, never the same twice."""
    picked: list[str] = []
    searched = searched_topics(text, lang)
    for topic in searched + list(ranking or []):
        if topic not in picked and topic in topic_ids() and question_topic(topic):
            picked.append(topic)
    buttons: list[dict[str, str]] = []
    for topic in picked[:MAX_SUGGESTIONS]:
        title = card_title(topic, lang)
        if title:
            buttons.append(_card_button(topic, title))
    return buttons


def search_answer(
    dispatcher: CollectingDispatcher, text: str, lang: str, skip_topics: set[str] | None = None
) -> str | None:
    """Answer with the card passage that answers the question, if one clearly does, and
    return its topic (None if no passage does).

    The passage, the card it comes from as a button, and the next best topics.
    `skip_topics`: cards not worth quoting here (the look-up's own instructions)."""
    hits = [
        h for h in card_index().search(text, lang, limit=5) if h.passage.topic not in (skip_topics or set())
    ]
    if not hits or not (
        hits[0].score >= ANSWER_SCORE or (hits[0].score >= FAIR_SCORE and hits[0].coverage >= FAIR_COVERAGE)
    ):
        return None
    return quote_passage(dispatcher, hits[0].passage, text, lang)


def quote_passage(dispatcher: CollectingDispatcher, passage: Passage, text: str, lang: str) -> str:
    """ "This is what my information says:" the passage, its card as a button, the next
    best topics for `text`; returns the passage's topic."""
    buttons = [_card_button(passage.card_id, passage.title)]
    for button in search_suggestions(text, lang):
        if (
            button["payload"] not in {b["payload"] for b in buttons}
            and button["payload"] != f"/{passage.topic}"
        ):
            buttons.append(button)
    buttons.append(menu_button(lang))
    dispatcher.utter_message(
        text="\n\n".join(
            [
                gettext(lang, QUOTE_LEAD),
                passage.text,
                gettext(lang, "(from: {title})", title=passage.title),
            ]
        ),
        buttons=buttons,
    )
    return passage.topic


# --- answers from the cards in the light of the conversation ------------------------------
# A passage found with the previous question's words must also share a word with this
# message (so "asdf" after a fact answer does not get the same fact again).


def _own_words_in(text: str, passage: Passage) -> bool:
    own = {t for t in tokens(text) if "_" not in t}
    return bool(own & set(tokens(passage.text)))


def topic_passage_answer(
    dispatcher: CollectingDispatcher, text: str, previous: str, lang: str, topic: str
) -> str | None:
    """A question the classifier could not place, asked within the current topic ("số đó
    gọi từ nước ngoài được không" after the MOFA hotline): the topic's passage that best
    answers it read together with the previous question, if one clearly does."""
    index = card_index()
    hits = index.search(f"{previous}\n{text}", lang, limit=1, where=lambda _i, p: p.topic == topic)
    if not hits or hits[0].score < FAIR_SCORE or not _own_words_in(text, hits[0].passage):
        return None
    return quote_passage(dispatcher, hits[0].passage, text, lang)


def country_passage_answer(
    dispatcher: CollectingDispatcher, text: str, previous: str, lang: str, country: str
) -> str | None:
    """The previous fact question for another country ("còn ở Đài thì số nào" after the
    Korean counselling line): the passage that names that country and best answers both
    messages read together, if one clearly does."""
    index = card_index()
    hits = index.search(
        f"{previous}\n{text}", lang, limit=1, where=lambda i, _p: country in index.countries_of(i)
    )
    if not hits or hits[0].score < FAIR_SCORE:
        return None
    return quote_passage(dispatcher, hits[0].passage, text, lang)


def sub_card_follow_up(text: str, lang: str, topic: str, intent: str) -> str | None:
    """ "lần 2 lấy lại thuế thì sao" after the nenkin card: the card of the current topic
    (itself or one of its sub-cards) whose passages answer the follow-up far better than
    any passage of the topic the classifier guessed; its id, or None."""
    index = card_index()
    best = index.search(text, lang, limit=1)
    if not best or best[0].passage.topic != topic or best[0].score < FAIR_SCORE:
        return None
    rival = index.search(text, lang, limit=1, where=lambda _i, p: p.topic == intent)
    if rival and rival[0].score * SUB_CARD_MARGIN > best[0].score:
        return None
    return best[0].passage.card_id


# How much better the current topic's passage must match than the guessed topic's.
SUB_CARD_MARGIN = 2.0
