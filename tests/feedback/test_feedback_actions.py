"""👍 / 👎 and "what was missing?", run as the action server runs them, on real trackers
and the project's own cards; the rows written are read back from a real database."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import OperationalError

from actions.answer import ActionAnswerTopic
from actions.fallback import ActionFallbackSuggest
from actions.feedback import ActionFeedbackVote
from actions.privacy import ActionForgetMe
from bot import db, feedback
from bot.answers import card_reply, vote_buttons

SENDER = "telegram-5f2c9a"
UP = '/feedback_up{"card": "deposit_refund"}'
DOWN = '/feedback_down{"card": "deposit_refund"}'


@pytest.fixture
def engine(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    yield db.get_engine(url)
    db.dispose_engines()


def user_event(text, intent, confidence=1.0, entities=None):
    parse = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "entities": entities or [],
        "intent_ranking": [{"name": intent, "confidence": confidence}],
        "metadata": {},
    }
    return {"event": "user", "text": text, "parse_data": parse}


def vote_event(payload):
    intent = payload[1:].split("{")[0]
    return user_event(payload, intent, entities=[{"entity": "card", "value": "deposit_refund"}])


def tracker(latest, slots=None, history=()):
    events = [*history, latest]
    return Tracker(SENDER, slots or {}, latest["parse_data"], events, False, None, {}, "action_listen")


async def run(action, t):
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, t, {})
    return dispatcher.messages, events


def slots(events):
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def queue_rows(engine):
    db.ensure_schema(engine)
    with engine.connect() as connection:
        return connection.execute(sa.select(db.feedback_queue_items)).all()


# --- the buttons --------------------------------------------------------------------------


def test_answer_cards_end_with_thumbs_up_and_down():
    buttons = card_reply("deposit_refund", "vi")["buttons"]
    assert buttons[-2:] == [{"title": "👍", "payload": UP}, {"title": "👎", "payload": DOWN}]


@pytest.mark.parametrize("card", ["emergency_help", "greet", "help_menu", "privacy", "change_language"])
def test_the_urgent_card_and_conversational_cards_take_no_vote(card):
    assert vote_buttons(card) == []
    reply = card_reply(card, "vi")
    assert reply is not None
    assert not [b for b in reply["buttons"] if b["payload"].startswith("/feedback_")]


# --- votes --------------------------------------------------------------------------------


async def test_thumbs_up_is_recorded_and_thanked(engine):
    messages, events = await run(ActionFeedbackVote(), tracker(vote_event(UP), {"language": "vi"}))
    assert messages[0]["text"] == "Cảm ơn bạn đã cho tôi biết."
    assert feedback.votes_by_topic(engine) == {"deposit_refund": (1, 0)}
    assert "requested_slot" not in slots(events)


async def test_a_typed_thumbs_down_emoji_counts_for_the_topic_last_answered(engine):
    latest = user_event("👎", "feedback_down", confidence=0.7)
    _, events = await run(ActionFeedbackVote(), tracker(latest, {"topic": "work_injury", "language": "vi"}))
    assert feedback.votes_by_topic(engine) == {"work_injury": (0, 1)}
    assert slots(events)["requested_slot"] == "feedback"


async def test_thumbs_down_asks_once_what_was_missing(engine):
    messages, events = await run(ActionFeedbackVote(), tracker(vote_event(DOWN), {"language": "en"}))
    assert "What was missing?" in messages[0]["text"]
    assert slots(events) == {"topic": "deposit_refund", "requested_slot": "feedback"}
    assert feedback.votes_by_topic(engine) == {"deposit_refund": (0, 1)}


async def test_the_answer_to_what_was_missing_goes_to_the_queue_masked(engine):
    history = [vote_event(DOWN)]
    latest = user_event("thiếu số điện thoại ngân hàng, số em 0912 345 678", "nlu_fallback", 0.2)
    t = tracker(latest, {"language": "vi", "topic": "deposit_refund", "requested_slot": "feedback"}, history)
    messages, events = await run(ActionFallbackSuggest(), t)
    assert messages[0]["text"].startswith("Cảm ơn bạn.")
    assert len(messages) == 1  # no "did you mean" after the thanks
    assert slots(events)["requested_slot"] is None
    (row,) = queue_rows(engine)
    assert (row.kind, row.topic, row.lang) == ("thumbs_down", "deposit_refund", "vi")
    assert row.text == "thiếu số điện thoại ngân hàng, số em [phone]"


async def test_another_question_after_thumbs_down_is_answered_normally(engine):
    latest = user_event("thanh lý hợp đồng ở đâu", "contract_liquidation", 0.93)
    t = tracker(latest, {"language": "vi", "topic": "deposit_refund", "requested_slot": "feedback"})
    messages, events = await run(ActionAnswerTopic(), t)
    assert messages[0]["text"].startswith("**")  # the card, not the thanks
    assert slots(events)["topic"] == "contract_liquidation"
    assert slots(events)["requested_slot"] is None
    assert queue_rows(engine) == []


async def test_two_thumbs_down_in_a_row_offer_a_person(engine):
    history = [vote_event(DOWN), user_event("không biết", "nlu_fallback", 0.1)]
    messages, events = await run(ActionFeedbackVote(), tracker(vote_event(DOWN), {"language": "en"}, history))
    assert "talk to a person" in messages[0]["text"]
    assert all(b["payload"].startswith("/human_handoff{") for b in messages[0]["buttons"])
    assert slots(events)["requested_slot"] is None
    assert feedback.votes_by_topic(engine) == {"deposit_refund": (0, 1)}  # this tap's vote


async def test_two_thumbs_down_offer_a_person_with_the_handoff_consent_question(engine):
    history = [vote_event(DOWN)]
    messages, _ = await run(ActionFeedbackVote(), tracker(vote_event(DOWN), {"language": "en"}, history))
    assert "talk to a person" in messages[0]["text"] and "phone number" in messages[0]["text"]
    assert [b["payload"] for b in messages[0]["buttons"]] == [
        '/human_handoff{"consent": "yes"}',
        '/human_handoff{"consent": "no"}',
    ]


async def test_a_thumbs_up_in_between_means_not_in_a_row(engine):
    history = [vote_event(DOWN), vote_event(UP)]
    messages, events = await run(ActionFeedbackVote(), tracker(vote_event(DOWN), {"language": "en"}, history))
    assert "What was missing?" in messages[0]["text"]
    assert slots(events)["requested_slot"] == "feedback"


# --- the other ways into the queue --------------------------------------------------------


async def test_a_fallback_goes_to_the_queue_masked_and_without_the_sender_id(engine):
    latest = user_event("my name is John Smith, how do I fix my blorp", "nlu_fallback", 0.1)
    await run(ActionFallbackSuggest(), tracker(latest, {"language": "en"}))
    (row,) = queue_rows(engine)
    assert (row.kind, row.text) == ("fallback", "my name is [name], how do I fix my blorp")
    assert SENDER not in repr(tuple(row))


async def test_the_queue_failing_does_not_cost_the_answer_nor_log_the_text(engine, monkeypatch, caplog):
    def broken(engine_, kind, text, *args):
        # As SQLAlchemy does: the statement's parameters are in the error's message.
        raise OperationalError(
            "INSERT INTO feedback_queue_items", {"text": text}, Exception("disk I/O error")
        )

    monkeypatch.setattr(feedback, "add_item", broken)
    latest = user_event("how do I fix my blorp", "nlu_fallback", 0.1)
    messages, _ = await run(ActionFallbackSuggest(), tracker(latest, {"language": "en"}))
    assert messages and messages[0]["text"]
    assert "OperationalError" in caplog.text
    assert "blorp" not in caplog.text


# --- forget me ----------------------------------------------------------------------------


async def test_forget_me_deletes_the_feedback_rows(engine):
    feedback.record_vote(engine, "deposit_refund", "vi", "down", SENDER)
    feedback.add_item(engine, "thumbs_down", "thiếu địa chỉ", "vi", SENDER)
    feedback.add_item(engine, "fallback", "someone else", "en", "zalo-other")
    messages, _ = await run(
        ActionForgetMe(), tracker(user_event("/forget_me", "forget_me"), {"language": "en"})
    )
    assert messages[0]["text"].startswith("Done.")
    assert feedback.votes_by_topic(engine) == {}
    assert [r.text for r in queue_rows(engine)] == ["someone else"]


async def test_forget_me_says_so_when_the_deletion_failed(engine, monkeypatch):
    def broken(*args, **kwargs):
        raise OperationalError("DELETE", {}, Exception("database is down"))

    monkeypatch.setattr(feedback, "forget", broken)
    messages, _ = await run(
        ActionForgetMe(), tracker(user_event("/forget_me", "forget_me"), {"language": "en"})
    )
    assert not messages[0]["text"].startswith("Done.")
    assert "could not delete" in messages[0]["text"]


# --- the router's decision after "what was missing?" --------------------------------------


@pytest.mark.parametrize(
    ("text", "intent", "confidence", "kind"),
    [
        ("thiếu địa chỉ ngân hàng", "nlu_fallback", 0.2, "missing"),
        ("không nói phải mang giấy tờ gì", "deposit_refund", 0.9, "missing"),  # about the same card
        ("nó không nói gì về Hàn Quốc", "out_of_scope", 0.7, "missing"),
        ("cảm ơn", "thanks", 0.95, "default"),
        ("/help_menu", "help_menu", 1.0, "default"),
        ("bị tai nạn lao động thì làm sao", "work_injury", 0.92, "default"),
    ],
)
def test_after_what_was_missing_only_a_clear_move_on_skips_the_queue(text, intent, confidence, kind):
    from actions.dialogue import Turn, route

    turn = Turn(
        text=text,
        intent=intent,
        confidence=confidence,
        slots={"topic": "deposit_refund", "requested_slot": "feedback"},
    )
    chosen = route(turn)
    assert (chosen.kind, chosen.drop_pending) == (kind, True)
