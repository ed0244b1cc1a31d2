"""The dialogue actions, run as the action server runs them, on real trackers."""

from __future__ import annotations

import textwrap

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.answer import ActionAnswerTopic
from actions.fallback import ActionFallbackSuggest, suggestions
from actions.language import ActionChangeLanguage, requested_language
from actions.privacy import ActionForgetMe
from bot.content import cards as content_cards


def _card(title, body, follow_up=None):
    follow = f"follow_up: [{', '.join(follow_up)}]\n" if follow_up else ""
    return (
        textwrap.dedent(
            f"""\
        ---
        title: {title}
        sources:
          - "Luật 69/2020/QH14"
        last_reviewed: 2026-11-24
        verified: false
        """
        )
        + follow
        + f"---\n{body}\n"
    )


@pytest.fixture(autouse=True)
def content_dir(tmp_path, monkeypatch):
    for lang, cards in {
        "vi": {
            "deposit_refund": _card(
                "Lấy lại tiền ký quỹ", "Mang biên bản thanh lý đến ngân hàng.", ["contract_liquidation"]
            ),
            "contract_liquidation": _card("Thanh lý hợp đồng", "Thanh lý trong 180 ngày."),
            "help_menu": _card("Tôi có thể giúp gì", "Chọn một chủ đề.", ["deposit_refund"]),
            "korea_departure_guarantee": _card("Bảo hiểm xuất cảnh", "Chi tiết."),
        },
        "en": {
            "deposit_refund": _card(
                "Getting your deposit back",
                "Bring the liquidation record to the bank.",
                ["contract_liquidation"],
            ),
            "contract_liquidation": _card("Contract liquidation", "Liquidate within 180 days."),
            "help_menu": _card("What I can help with", "Choose a topic.", ["deposit_refund"]),
        },
    }.items():
        folder = tmp_path / lang
        folder.mkdir()
        for card_id, text in cards.items():
            (folder / f"{card_id}.md").write_text(text, encoding="utf-8")
    monkeypatch.setenv("CONTENT_DIR", str(tmp_path))
    content_cards._library_for.cache_clear()
    yield tmp_path
    content_cards._library_for.cache_clear()


def tracker(
    text, intent, confidence=0.9, entities=None, slots=None, ranking=None, events=None, metadata=None
):
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "entities": entities or [],
        "intent_ranking": ranking or [{"name": intent, "confidence": confidence}],
        "metadata": metadata or {},
    }
    history = (events or []) + [{"event": "user", "text": text, "parse_data": latest}]
    return Tracker("s1", slots or {}, latest, history, False, None, {}, "action_listen")


async def run(action, tr):
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tr, {})
    return dispatcher.messages, events


async def test_answer_renders_the_card_in_the_detected_language():
    messages, events = await run(
        ActionAnswerTopic(), tracker("lam sao lay lai tien ky quy", "deposit_refund")
    )
    assert messages[0]["text"].startswith("**Lấy lại tiền ký quỹ**")
    assert "biên bản thanh lý" in messages[0]["text"]
    assert messages[0]["buttons"] == [{"title": "Thanh lý hợp đồng", "payload": "/contract_liquidation"}]
    assert {"event": "slot", "name": "language", "value": "vi", "timestamp": None} in events


async def test_answer_uses_the_language_slot_over_the_text():
    messages, events = await run(
        ActionAnswerTopic(), tracker("tiền ký quỹ", "deposit_refund", slots={"language": "en"})
    )
    assert messages[0]["text"].startswith("**Getting your deposit back**")
    # The language slot is kept (no SlotSet for it); the topic is remembered for follow-ups.
    assert events == [SlotSet("requested_slot", None), SlotSet("topic", "deposit_refund")]


async def test_answer_uses_the_channel_locale_when_no_slot():
    messages, _ = await run(
        ActionAnswerTopic(), tracker("tien ky quy", "deposit_refund", metadata={"locale": "en-GB"})
    )
    assert "Bring the liquidation record" in messages[0]["text"]


async def test_show_card_renders_a_sub_card():
    entities = [{"entity": "card", "value": "korea_departure_guarantee"}]
    messages, _ = await run(
        ActionAnswerTopic(),
        tracker('/show_card{"card":"korea_departure_guarantee"}', "show_card", entities=entities),
    )
    assert messages[0]["text"].startswith("**Bảo hiểm xuất cảnh**")


async def test_a_topic_without_a_card_gets_an_honest_reply_and_the_menu():
    messages, _ = await run(ActionAnswerTopic(), tracker("xin chào", "legal_aid"))
    assert messages[0]["text"] == "Xin lỗi, tôi chưa có câu trả lời cho câu hỏi này."
    assert messages[0]["buttons"] == [{"title": "Menu chính", "payload": "/help_menu"}]


def test_suggestions_skip_chit_chat_and_keep_order():
    ranking = [
        {"name": "nlu_fallback"},
        {"name": "greet"},
        {"name": "deposit_refund"},
        {"name": "contract_liquidation"},
        {"name": "thanks"},
        {"name": "early_return"},
        {"name": "job_search"},
    ]
    known = {"greet", "thanks", "deposit_refund", "contract_liquidation", "early_return", "job_search"}
    assert suggestions(ranking, known) == ["deposit_refund", "contract_liquidation", "early_return"]


async def test_fallback_offers_the_likeliest_topics_as_buttons():
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.2},
        {"name": "deposit_refund", "confidence": 0.15},
        {"name": "contract_liquidation", "confidence": 0.1},
    ]
    messages, _ = await run(
        ActionFallbackSuggest(), tracker("tien coc", "nlu_fallback", 0.2, ranking=ranking)
    )
    assert "Có phải bạn muốn hỏi" in messages[0]["text"]
    assert [b["payload"] for b in messages[0]["buttons"]] == [
        "/deposit_refund",
        "/contract_liquidation",
        "/help_menu",
    ]
    assert messages[0]["buttons"][0]["title"] == "Lấy lại tiền ký quỹ"


async def test_second_fallback_in_a_row_shows_the_menu():
    earlier = [{"event": "user", "text": "???", "parse_data": {"intent": {"name": "nlu_fallback"}}}]
    ranking = [{"name": "nlu_fallback"}, {"name": "deposit_refund"}]
    messages, _ = await run(
        ActionFallbackSuggest(), tracker("!!!", "nlu_fallback", 0.1, ranking=ranking, events=earlier)
    )
    assert "chưa hiểu" in messages[0]["text"]
    assert messages[1]["text"].startswith("**Tôi có thể giúp gì**")


@pytest.mark.parametrize(
    "text, current, expected",
    [
        ("tiếng anh", "vi", "en"),
        ("english please", "vi", "en"),
        ("doi sang tieng viet", "en", "vi"),
        ("đổi ngôn ngữ", "vi", "en"),
        ("change language", "en", "vi"),
    ],
)
def test_requested_language(text, current, expected):
    assert requested_language(text, current) == expected


async def test_change_language_sets_the_slot_and_confirms_in_the_new_language():
    messages, events = await run(ActionChangeLanguage(), tracker("english please", "change_language"))
    assert messages[0]["text"] == "OK, I will answer in English from now on."
    assert events == [{"event": "slot", "name": "language", "value": "en", "timestamp": None}]


async def test_change_language_from_a_button_payload_entity():
    entities = [{"entity": "language", "value": "vi"}]
    messages, events = await run(
        ActionChangeLanguage(),
        tracker(
            '/change_language{"language":"vi"}',
            "change_language",
            entities=entities,
            slots={"language": "en"},
        ),
    )
    assert messages[0]["text"] == "Vâng, từ giờ tôi sẽ trả lời bằng tiếng Việt."
    assert events[0]["value"] == "vi"


async def test_forget_me_confirms_and_resets_slots():
    messages, events = await run(
        ActionForgetMe(), tracker("/forget_me", "forget_me", slots={"language": "en"})
    )
    assert "deleted our conversation" in messages[0]["text"]
    assert events == [{"event": "reset_slots", "timestamp": None}]


async def test_a_bare_place_without_a_pending_lookup_gets_suggestions():
    entities = [{"entity": "province", "value": "Hà Tĩnh"}]
    ranking = [{"name": "nlu_fallback"}, {"name": "deposit_refund"}]
    messages, _ = await run(
        ActionFallbackSuggest(), tracker("Hà Tĩnh", "nlu_fallback", 0.3, entities=entities, ranking=ranking)
    )
    assert "Có phải bạn muốn hỏi" in messages[0]["text"]
