"""One test per cause of the failed held-out conversations fixed on branch `conv`
(issue 8): each failed before its fix. Plain Python, no trained model needed.

The sentences here are written for these tests, not copied from tests/conversations/.
"""

from __future__ import annotations

import pytest
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from actions.dialogue import Route, Turn, acknowledges, asks_nearby, route
from actions.language import requested_language
from bot.emergency import detect_danger
from bot.language import LANGUAGE_TOGGLE, language_request
from bot.nlu.language_request import LanguageRequestCheck
from bot.vietnamese.places import extract_places


def _turn(text, intent, entities=None, confidence=0.9, **slots):
    return Turn(text, intent, confidence, entities or {}, slots, 1)


# -- a message about a language is not a request to switch ----------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        # Cannot read one language: asks for the other.
        ("em ko bít tiếng anh đâu", "vi"),
        ("toi khong doc duoc tieng anh", "vi"),
        ("I cannot read Vietnamese well", "en"),
        # Asks for one.
        ("trả lời bằng tiếng Việt giúp em", "vi"),
        ("english pls", "en"),
        ("đổi ngôn ngữ", LANGUAGE_TOGGLE),
        # Names a language and asks for none.
        ("what about the Vietnamese embassy in Seoul?", None),
        ("em không biết nói tiếng Hàn, đi khám bệnh thế nào", None),
        ("tôi muốn học tiếng Anh buổi tối", None),
        ("Where can I get help with the Vietnamese community association?", None),
    ],
)
def test_language_request(text, expected):
    assert language_request(text) == expected


def test_cannot_read_english_is_answered_in_vietnamese_even_from_an_english_chat():
    assert requested_language("e ko biet tieng anh", current="en") == "vi"


def _message(text, ranking):
    message = Message(data={TEXT: text})
    message.set(INTENT, {"name": ranking[0][0], "confidence": ranking[0][1]})
    message.set(INTENT_RANKING_KEY, [{"name": n, "confidence": c} for n, c in ranking])
    return message


def test_change_language_falls_to_the_next_intent_when_no_language_is_asked_for():
    check = LanguageRequestCheck({})
    message = _message(
        "and the Vietnamese office in Hanoi?", [("change_language", 0.8), ("consular_contact", 0.1)]
    )
    check.process([message])
    assert message.get(INTENT)["name"] == "consular_contact"
    kept = _message("tiếng việt nhé", [("change_language", 0.9), ("greet", 0.05)])
    check.process([kept])
    assert kept.get(INTENT)["name"] == "change_language"


# -- "ok" after an answer keeps the topic -------------------------------------------------------


def test_a_bare_ok_after_an_answer_keeps_the_topic():
    assert route(_turn("oke", "thanks", topic="deposit_refund")) == Route("ack", card="deposit_refund")
    assert route(_turn("Vâng ạ", "thanks", topic="job_search")).kind == "ack"
    # Thanks said in words is thanks; after a greeting there is no topic to keep.
    assert route(_turn("ok cảm ơn nhé", "thanks", topic="deposit_refund")).kind == "default"
    assert route(_turn("ok", "thanks", topic="greet")).kind == "default"
    assert acknowledges("got it") and not acknowledges("k")


# -- follow-ups ---------------------------------------------------------------------------------


def test_asking_for_the_mission_after_the_urgent_card_gets_the_consular_look_up():
    turn = _turn(
        "and the embassy in Seoul?",
        "emergency_help",
        {"country": "KR", "city": "Seoul"},
        0.5,
        topic="emergency_help",
    )
    assert route(turn).kind == "consular"


def test_a_place_told_in_a_long_vague_reply_continues_the_look_up():
    turn = _turn(
        "nhà em ngày xưa thuộc Hà Tây, giờ là đâu, có chỗ nào gần không",
        "nlu_fallback",
        {"province": "Hà Nội"},
        0.35,
        topic="referral_partner",
        need="legal_aid",
    )
    chosen = route(turn)
    assert (chosen.kind, chosen.province, chosen.need) == ("partner", "Hà Nội", "legal_aid")


def test_asking_about_the_cost_stays_within_the_topic():
    turn = _turn(
        "em ko có tiền, chỗ đấy có mất phí gì không", "nlu_fallback", confidence=0.35, topic="legal_aid"
    )
    assert route(turn) == Route("card", card="legal_aid")


def test_help_near_me_makes_the_province_a_question_to_wait_for():
    assert asks_nearby("tìm giúp em chỗ tư vấn gần nhà")
    assert asks_nearby("any legal aid near me?")
    assert not asks_nearby("trợ giúp pháp lý là gì")


# -- danger told as a story -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "story",
    [
        "Bà chủ giữ điện thoại của em, ngày chỉ cho ăn một bữa, em đói lả cả người rồi.",
        "Dạo này con buồn lắm, nợ nần chồng chất, có lúc chỉ muốn nhảy từ sân thượng xuống.",
        "The boss locks our dorm every night. When we asked for pay he hit one of us.",
        "They took our passports. Whoever goes out of the camp gets beaten.",
        "My cousin is in a compound in Myanmar, they force her to scam people and shock her with electric batons.",
        "em gai toi da bi ban sang ben kia bien gioi, gio moi tron ve duoc",
        "Chị tôi vừa trốn về được sau khi bị bán cho một nhà bên kia.",
        "I feel so tired of everything, I think about jumping off the roof of the building.",
    ],
)
def test_danger_in_a_story_is_recognised(story):
    assert detect_danger(story)


@pytest.mark.parametrize(
    "calm",
    [
        "we can go out on Sundays only, is that legal?",
        "I locked my key inside my room, what should I do",
        "chỗ em làm cho ăn một bữa trưa miễn phí",
        "em muốn nhảy việc sang công ty khác có sao không",
        "is there a course on electric welding",
        "bán hàng online có cần giấy phép không",
    ],
)
def test_ordinary_messages_near_those_words_are_not_danger(calm):
    assert not detect_danger(calm)


# -- places ---------------------------------------------------------------------------------------


def _countries(text):
    return [match.value for kind, match in extract_places(text) if kind == "country"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("e muốn quay lại hàn làm tiếp", ["KR"]),
        ("toi muon tro lai han theo dien eps", ["KR"]),
        ("Chị tôi bị lừa sang Myanmar", ["MM"]),
        ("Hàn ống thép có cần chứng chỉ không?", []),
        ("Em học hàn điện ở trường nghề", []),
        ("du hoc han quoc can gi", ["KR"]),
        ("Tôi biết tiếng Nhật, tìm việc ở đâu?", []),
        ("Em đang ở Nhật, tìm việc ở đâu?", ["JP"]),
    ],
)
def test_country_traps_and_real_mentions(text, expected):
    assert _countries(text) == expected


# -- choosing among the topics offered after a message with several needs ---------------------


def test_a_reply_picks_the_offered_topic_the_classifier_ranks_close_behind():
    turn = Turn(
        "còn thẻ bảo hiểm y tế thì sao",
        "health_insurance_return",
        0.8,
        {},
        {"topic": "renter_rights"},
        1,
        ranking=[("health_insurance_return", 0.8), ("health_insurance_residence", 0.15)],
        offered=["health_insurance_residence"],
    )
    assert route(turn) == Route("card", card="health_insurance_residence")
    # Nothing offered: the classifier's own answer.
    turn.offered = []
    assert route(turn).kind == "default"


# -- fact questions that name a number or a service ----------------------------------------------


def test_a_named_service_or_number_decides_the_card_search():
    from bot.content.search import card_index

    index = card_index()
    assert index.named_terms("đường dây Danuri ở Hàn gọi số mấy") == {"danuri"}
    assert index.named_terms("a broker took 60 million from me, I want a loan") == set()
    assert index.named_terms("số 111 là gì") == {"111"}
    # Short syllables are rare by chance, not names.
    assert index.named_terms("ở Hà Tĩnh có tổ chức nào") == set()
    top = index.search("đường dây Danuri ở Hàn gọi số mấy", "vi", limit=1)[0]
    assert "1366" in top.passage.text
    top = index.search("số 111 là đường dây gì vậy, gọi có mất tiền không", "vi", limit=1)[0]
    assert "111" in top.passage.text


def test_the_topic_just_answered_is_in_play_for_a_reply_naming_its_neighbour():
    turn = Turn(
        "con the bhyt thi sao",
        "health_insurance_return",
        0.99,
        {},
        {"topic": "health_insurance_residence"},
        1,
        ranking=[("health_insurance_return", 0.99), ("health_insurance_residence", 0.004)],
        offered=["renter_rights"],
    )
    assert route(turn) == Route("card", card="health_insurance_residence")


def test_an_english_place_reply_with_a_contraction_is_a_follow_up():
    turn = _turn(
        "I'm in Osaka", "skills_training", {"country": "JP", "city": "Osaka"}, 0.4, topic="overstay_irregular"
    )
    assert route(turn) == Route("card", card="overstay_irregular", country="JP")


@pytest.mark.parametrize(
    "text, expected", [("embassy address in seoul?", "en"), ("ok thats all, bye", "en"), ("ok", "vi")]
)
def test_a_short_message_with_nothing_else_to_go_by_is_guessed_from_all_its_words(text, expected):
    from bot.language import detect_language

    assert detect_language(text) == expected


def test_an_unsure_intent_on_a_message_naming_a_service_is_answered_from_the_cards():
    """The NLU lowercases the text it passes on: the name is read from the message as typed."""
    import asyncio

    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    from actions.answer import ActionAnswerTopic

    typed = "Cho em hỏi đường dây Danuri ở Hàn là số mấy?"
    latest = {
        "text": typed.lower(),
        "intent": {"name": "passport_documents", "confidence": 0.45},
        "entities": [{"entity": "country", "value": "KR"}],
    }
    tracker = Tracker(
        "t",
        {"country": "KR"},
        latest,
        [{"event": "user", "text": typed, "parse_data": latest}],
        False,
        None,
        {},
        "",
    )
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionAnswerTopic().run(dispatcher, tracker, {}))
    assert "1366" in dispatcher.messages[0]["text"]
