"""The Rasa side: the offer says what staff will see, consent opens the handoff with the
conversation so far, a decline opens nothing, and two fallbacks in a row offer a person."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.fallback import ActionFallbackSuggest
from actions.handoff import ActionOfferHandoff, conversation_so_far
from bot import handoff


def tracker(text, intent, entities=None, events=None, metadata=None, slots=None, sender="telegram-abc"):
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.9},
        "entities": entities or [],
        "intent_ranking": [{"name": intent, "confidence": 0.1}],
        "metadata": metadata if metadata is not None else {"channel": "telegram"},
    }
    history = (events or []) + [{"event": "user", "text": text, "parse_data": latest}]
    return Tracker(sender, slots or {}, latest, history, False, None, {}, "action_listen")


async def run(action, tr):
    dispatcher = CollectingDispatcher()
    await action.run(dispatcher, tr, {})
    return dispatcher.messages


async def test_the_offer_says_what_staff_see_and_asks(env, engine):
    [offer] = await run(ActionOfferHandoff(), tracker("I want to talk to a human", "human_handoff"))
    assert "They will see this conversation" in offer["text"]
    assert "They will not see your phone number" in offer["text"]
    assert offer["buttons"] == [
        {"title": "Yes, connect me", "payload": '/human_handoff{"consent": "yes"}'},
        {"title": "No, thanks", "payload": '/human_handoff{"consent": "no"}'},
    ]
    assert handoff.inbox(engine) == []


async def test_consent_opens_the_handoff_with_the_conversation(env, engine):
    events = [
        {"event": "user", "text": "my boss keeps my salary"},
        {"event": "bot", "text": "Here is what you can do..."},
        {"event": "user", "text": "/human_handoff"},
    ]
    consent = [{"entity": "consent", "value": "yes"}]
    messages = await run(
        ActionOfferHandoff(),
        tracker(
            '/human_handoff{"consent": "yes"}',
            "human_handoff",
            consent,
            events,
            slots={"language": "en", "country": "MY", "province": "Nghệ An", "topic": "complaint_employer"},
        ),
    )
    assert "I have passed this conversation to NGO staff" in messages[0]["text"]
    [summary] = handoff.inbox(engine)
    assert (summary.lang, summary.country, summary.province, summary.topic) == (
        "en",
        "MY",
        "Nghệ An",
        "complaint_employer",
    )
    turns = [(t.author, t.text) for t in handoff.transcript(engine, summary.id)]
    assert turns[:2] == [("user", "my boss keeps my salary"), ("bot", "Here is what you can do...")]
    assert turns[-1][0] == "bot" and "passed this conversation" in turns[-1][1]
    assert not any(text.startswith("/") for _, text in turns)


async def test_a_decline_opens_nothing(env, engine):
    [reply] = await run(
        ActionOfferHandoff(),
        tracker('/human_handoff{"consent": "no"}', "human_handoff", [{"entity": "consent", "value": "no"}]),
    )
    assert reply["text"].startswith("Vâng. Bạn cứ tiếp tục hỏi tôi")
    assert handoff.inbox(engine) == []


def test_the_conversation_leaves_out_payloads():
    events = [
        {"event": "user", "text": "/greet"},
        {"event": "user", "text": "xin chào"},
        {"event": "bot", "text": "Chào bạn"},
    ]
    assert conversation_so_far(tracker("x", "greet", events=events))[:2] == [
        ("user", "xin chào"),
        ("bot", "Chào bạn"),
    ]


async def test_two_fallbacks_in_a_row_offer_a_person(env):
    earlier = [{"event": "user", "text": "???", "parse_data": {"intent": {"name": "nlu_fallback"}}}]
    messages = await run(ActionFallbackSuggest(), tracker("!!!", "nlu_fallback", events=earlier))
    assert "Họ sẽ không thấy số điện thoại" in messages[-1]["text"]
    assert messages[-1]["buttons"][0]["payload"] == '/human_handoff{"consent": "yes"}'
    first = await run(ActionFallbackSuggest(), tracker("!!!", "nlu_fallback"))
    assert not any("Họ sẽ không thấy" in m["text"] for m in first)


async def test_where_staff_cannot_answer_no_handoff_is_opened(env, engine):
    messages = await run(
        ActionOfferHandoff(),
        tracker(
            '/human_handoff{"consent": "yes"}',
            "human_handoff",
            [{"entity": "consent", "value": "yes"}],
            metadata={"channel": "rest"},
        ),
    )
    assert "+84 981 84 84 84" in messages[0]["text"]  # the card on where people are
    assert handoff.inbox(engine) == []
