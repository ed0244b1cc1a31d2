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
    # Fallbacks and votes write to the feedback tables: never to the developer's var/bot.db.
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bot.db'}")
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
    assert messages[0]["buttons"] == [
        {"title": "Thanh lý hợp đồng", "payload": "/contract_liquidation"},
        {"title": "👍", "payload": '/feedback_up{"card": "deposit_refund"}'},
        {"title": "👎", "payload": '/feedback_down{"card": "deposit_refund"}'},
    ]
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


# ------------------------------------------------------- the conversation (issue 8)

from actions.dialogue import Route, Turn, card_for_country, route  # noqa: E402


def _turn(text, intent, entities=None, answers=1, confidence=0.9, **slots):
    return Turn(text, intent, confidence, entities or {}, slots, answers)


@pytest.mark.parametrize(
    "turn, expected",
    [
        # 1. The reply to "which country?" fills it, whatever the classifier says.
        (
            _turn(
                "han quoc",
                "korea_insurance_refund",
                {"country": "KR"},
                topic="consular_contact",
                requested_slot="country",
            ),
            Route("consular", country="KR"),
        ),
        (
            _turn(
                "em đang ở Nhật ạ",
                "nlu_fallback",
                {"country": "JP"},
                topic="consular_contact",
                requested_slot="country",
            ),
            Route("consular", country="JP"),
        ),
        # ... and a province typed alone, by its former name and without diacritics.
        (
            _turn(
                "quang binh",
                "nlu_fallback",
                topic="referral_partner",
                requested_slot="province",
                need="legal_aid",
            ),
            Route("partner", need="legal_aid", province="Quảng Trị"),
        ),
        # The need asked for after the place: the place already given is kept.
        (
            _turn(
                "học nghề ạ",
                "skills_training",
                {"need": "training"},
                topic="referral_partner",
                requested_slot="need",
                province="Nghệ An",
            ),
            Route("partner", need="training", province="Nghệ An"),
        ),
        # The offer after a topic card ("tell me your province") is answered the same way.
        (
            _turn(
                "Nghệ An",
                "skills_training",
                {"province": "Nghệ An"},
                topic="job_search",
                requested_slot="soft:province",
                need="job_placement",
            ),
            Route("partner", card="job_search", need="job_placement", province="Nghệ An"),
        ),
        # An unknown name is asked about once; the second time the user is let go.
        (
            _turn("xyzzy", "nlu_fallback", topic="consular_contact", requested_slot="country"),
            Route("reask"),
        ),
        (
            _turn("xyzzy", "nlu_fallback", answers=2, topic="consular_contact", requested_slot="country"),
            Route("default", drop_pending=True),
        ),
        # A vague reply without a place is not another question: asked again.
        (
            _turn(
                "Ở chỗ nhà bà ngoại tôi ấy",
                "early_return",
                confidence=0.45,
                topic="referral_partner",
                requested_slot="province",
                need="legal_aid",
            ),
            Route("reask"),
        ),
        # An offer is never asked again.
        (
            _turn("xyzzy", "nlu_fallback", topic="job_search", requested_slot="soft:province"),
            Route("default", drop_pending=True),
        ),
        # Clearly another question: answered, the look-up dropped.
        (
            _turn(
                "làm sao lấy lại tiền ký quỹ",
                "deposit_refund",
                topic="consular_contact",
                requested_slot="country",
            ),
            Route("default", drop_pending=True),
        ),
        # The look-up's own intent (a button payload) is read by the look-up itself.
        (
            _turn(
                '/consular_contact{"country":"JP"}',
                "consular_contact",
                {"country": "JP"},
                topic="consular_contact",
                requested_slot="country",
            ),
            Route("default"),
        ),
        # 4. Follow-ups keep the topic and change the place...
        (
            _turn("còn ở Nhật thì sao?", "nlu_fallback", {"country": "JP"}, topic="korea_insurance_refund"),
            Route("card", card="korea_insurance_refund", country="JP"),
        ),
        (
            _turn("and in Japan?", "consular_contact", {"country": "JP"}, topic="korea_insurance_refund"),
            Route("card", card="korea_insurance_refund", country="JP"),
        ),
        (
            _turn(
                "còn ở Nhật thì sao?",
                "nlu_fallback",
                {"country": "JP"},
                topic="consular_contact",
                country="KR",
            ),
            Route("consular", country="JP"),
        ),
        # ... a new topic switches ...
        (
            _turn("thế còn tiền ký quỹ?", "deposit_refund", topic="contract_liquidation"),
            Route("default"),
        ),
        # ... and a detail question stays within the topic.
        (
            _turn("cần giấy tờ gì?", "help_menu", confidence=0.55, topic="deposit_refund"),
            Route("card", card="deposit_refund"),
        ),
        (
            _turn(
                "what documents do I need?", "contract_liquidation", confidence=0.6, topic="deposit_refund"
            ),
            Route("card", card="deposit_refund"),
        ),
        (
            _turn("where is this information from?", "ask_sources", topic="deposit_refund"),
            Route("default"),
        ),
        (
            _turn("is there a deadline?", "out_of_scope", confidence=0.5, topic="korea_insurance_refund"),
            Route("card", card="korea_insurance_refund"),
        ),
        # A detail question that names its own topic goes there.
        (
            _turn(
                "what documents for contract liquidation?",
                "contract_liquidation",
                confidence=0.95,
                topic="deposit_refund",
            ),
            Route("default"),
        ),
        # "Ở Osaka có không?" after the embassies in Japan: the consulate there.
        (
            _turn(
                "Ở Osaka có không?",
                "overstay_irregular",
                {"city": "Osaka"},
                confidence=0.4,
                topic="consular_contact",
            ),
            Route("consular", country="JP", city="Osaka"),
        ),
        # A place after the urgent card's shelters: the shelters near that place.
        (
            _turn(
                "Tôi ở Hà Nội.",
                "nlu_fallback",
                {"province": "Hà Nội"},
                topic="emergency_help",
                need="shelter",
            ),
            Route("partner", card="emergency_help", need="shelter", province="Hà Nội"),
        ),
        # No topic yet: nothing to follow.
        (_turn("còn ở Nhật thì sao?", "nlu_fallback", {"country": "JP"}), Route("default")),
    ],
)
def test_the_conversation_decides_before_the_intent(turn, expected):
    assert route(turn) == expected


def test_a_country_picks_the_topics_variant_for_that_country():
    exists = {"complaint_employer_korea", "complaint_employer_japan"}.__contains__
    assert card_for_country("korea_insurance_refund", "JP", exists) == "japan_pension_refund"
    assert card_for_country("japan_pension_refund", "KR", exists) == "korea_insurance_refund"
    assert card_for_country("korea_insurance_refund", "MY", exists) == "other_country_benefits"
    assert card_for_country("complaint_employer", "JP", exists) == "complaint_employer_japan"
    assert card_for_country("complaint_employer", "DE", exists) == "complaint_employer"
    assert card_for_country("deposit_refund", None, exists) == "deposit_refund"


async def test_other_needs_of_the_message_come_as_buttons_after_the_answer():
    tr = tracker("tiền ký quỹ và thanh lý", "deposit_refund")
    tr.latest_message["also_asked"] = ["contract_liquidation", "deposit_refund", "contract_liquidation"]
    messages, _ = await run(ActionAnswerTopic(), tr)
    assert messages[0]["text"].startswith("**Lấy lại tiền ký quỹ**")
    # The text names the need in everyday words; the button keeps the card title.
    assert messages[-1]["text"] == "Bạn cũng hỏi về: thanh lý hợp đồng"
    assert [b["title"] for b in messages[-1]["buttons"]] == ["Thanh lý hợp đồng"]
    assert [b["payload"] for b in messages[-1]["buttons"]] == ["/contract_liquidation"]


async def test_where_answers_come_from_lists_the_current_cards_sources():
    messages, _ = await run(
        ActionAnswerTopic(),
        tracker(
            "where is this information from?",
            "ask_sources",
            slots={"topic": "deposit_refund", "language": "en"},
        ),
    )
    text = messages[0]["text"]
    assert 'The answer about "Getting your deposit back" is based on these sources' in text
    assert "- Luật 69/2020/QH14" in text
    assert "Nov 24, 2026" in text


async def test_where_answers_come_from_without_a_topic_explains_the_cards():
    messages, _ = await run(ActionAnswerTopic(), tracker("thông tin này lấy từ đâu", "ask_sources"))
    assert messages[0]["text"].startswith("Câu trả lời của tôi lấy từ các thẻ thông tin")


async def test_an_insult_gets_a_calm_answer_not_the_bot_card():
    messages, _ = await run(ActionAnswerTopic(), tracker("bot ngu quá", "insult"))
    assert messages[0]["text"].startswith("Xin lỗi nếu câu trả lời của tôi chưa giúp được bạn")
    assert "chương trình máy tính" not in messages[0]["text"]


async def test_a_cut_message_is_said_to_be_cut():
    tr = tracker("tiền ký quỹ " * 10, "deposit_refund")
    tr.latest_message["truncated"] = True
    messages, _ = await run(ActionAnswerTopic(), tr)
    assert messages[-1]["text"] == "Tin nhắn của bạn rất dài: tôi chỉ đọc được phần đầu."
    messages, _ = await run(ActionAnswerTopic(), tracker("tiền ký quỹ", "deposit_refund"))
    assert all("rất dài" not in m["text"] for m in messages)


async def test_a_detail_question_answers_within_the_current_topic():
    messages, events = await run(
        ActionAnswerTopic(), tracker("cần giấy tờ gì?", "help_menu", 0.55, slots={"topic": "deposit_refund"})
    )
    assert messages[0]["text"].startswith("**Lấy lại tiền ký quỹ**")
    assert SlotSet("topic", "deposit_refund") in events


async def test_fallback_answers_from_the_card_that_holds_the_fact(content_dir, monkeypatch):
    from actions import replies

    # A handful of small cards gives small BM25 scores: the thresholds for the real
    # library are tested in tests/directory/; this test is about the reply.
    monkeypatch.setattr(replies, "ANSWER_SCORE", 10.0)
    (content_dir / "vi" / "consular_contact.md").write_text(
        _card(
            "Đại sứ quán, lãnh sự quán",
            "Khẩn cấp: gọi Tổng đài bảo hộ công dân của Bộ Ngoại giao: **+84 981 84 84 84**, 24/7.\n\n"
            "Tôi sẽ tìm đại sứ quán ở nước bạn đang ở.",
        ),
        encoding="utf-8",
    )
    messages, _ = await run(
        ActionFallbackSuggest(),
        tracker("số điện thoại tổng đài bảo hộ công dân của bộ ngoại giao", "nlu_fallback", 0.3),
    )
    text = messages[0]["text"]
    assert "+84 981 84 84 84" in text and "(trích từ: Đại sứ quán, lãnh sự quán)" in text
    payloads = [b["payload"] for b in messages[0]["buttons"]]
    assert payloads[0] == "/consular_contact"
    assert len(payloads) == len(set(payloads)), "no button twice"


async def test_fallback_suggestions_come_from_the_card_search_without_duplicates():
    ranking = [{"name": "nlu_fallback"}, {"name": "contract_liquidation"}, {"name": "deposit_refund"}]
    messages, _ = await run(
        ActionFallbackSuggest(), tracker("biên bản ngân hàng", "nlu_fallback", 0.3, ranking=ranking)
    )
    payloads = [b["payload"] for b in messages[0]["buttons"]]
    # "biên bản ngân hàng" is written in the deposit card: it comes first, once.
    assert payloads == ["/deposit_refund", "/contract_liquidation", "/help_menu"]


async def test_the_urgent_card_in_process_offers_what_else_was_asked(content_dir):
    """bot/nlg.py (Rasa server, no action server): the urgent card first, then buttons
    for the topics the danger guard displaced (`also_asked`)."""
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.nlg import ContentNLG

    (content_dir / "vi" / "emergency_help.md").write_text(
        _card("Cần giúp khẩn cấp", "Gọi +84 981 84 84 84."), encoding="utf-8"
    )
    text = "chủ không trả lương 3 tháng, giữ hộ chiếu, không cho về, còn tiền ký quỹ thì sao"
    tracker_ = DialogueStateTracker.from_events(
        "s1",
        [
            UserUttered(
                text,
                {"name": "emergency_help", "confidence": 1.0},
                parse_data={
                    "also_asked": ["deposit_refund", "emergency_help", "deposit_refund", "no_such_topic"]
                },
            )
        ],
    )
    reply = await ContentNLG().generate("utter_emergency_help", tracker_, "rest")
    assert reply["text"].startswith("**Cần giúp khẩn cấp**\n\nGọi +84 981 84 84 84.")
    assert reply["text"].endswith("Bạn cũng hỏi về: lấy lại tiền ký quỹ")
    assert reply["buttons"][0] == {"title": "Lấy lại tiền ký quỹ", "payload": "/deposit_refund"}
    assert [b["payload"] for b in reply["buttons"]].count("/deposit_refund") == 1


async def test_a_single_keyword_from_the_cards_gets_them_without_an_apology():
    messages, _ = await run(ActionFallbackSuggest(), tracker("biên", "nlu_fallback", 0.3))
    assert messages[0]["text"] == "Đây là những thông tin tôi có liên quan:"
    assert messages[0]["buttons"][0]["payload"] == "/deposit_refund"


async def test_a_follow_up_after_thanks_still_refers_to_the_last_question():
    earlier = [
        {"event": "slot", "name": "topic", "value": "deposit_refund"},
        {"event": "user", "text": "ok", "parse_data": {"intent": {"name": "thanks"}}},
        {"event": "slot", "name": "topic", "value": "thanks"},
    ]
    messages, events = await run(
        ActionAnswerTopic(),
        tracker("cần giấy tờ gì?", "help_menu", 0.5, slots={"topic": "thanks"}, events=earlier),
    )
    assert messages[0]["text"].startswith("**Lấy lại tiền ký quỹ**")
    assert SlotSet("topic", "deposit_refund") in events


async def test_a_huge_message_is_answered_and_said_to_be_cut():
    tr = tracker("tiền ký quỹ " + "x" * 1_000_000, "nlu_fallback", 0.2)
    tr.latest_message["truncated"] = True
    messages, _ = await run(ActionFallbackSuggest(), tr)
    assert messages[-1]["text"] == "Tin nhắn của bạn rất dài: tôi chỉ đọc được phần đầu."


def test_a_short_word_is_not_read_as_a_country_code():
    from actions.dialogue import typed_place

    assert typed_place("ok") == {}
    assert typed_place("han quoc") == {"country": "KR"}
    assert typed_place("quang binh") == {"province": "Quảng Trị"}
