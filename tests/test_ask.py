"""The trained bot end to end (model + action server + content + directory), as
`python -m bot ask` runs it: every topic is recognised and answered with its card."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.content import default_library, render_card

ROOT = Path(__file__).resolve().parent.parent
MODELS = sorted((ROOT / "models").glob("*.tar.gz"))

if not MODELS:
    if os.environ.get("REQUIRE_SERVICES") == "1":
        raise RuntimeError("no trained model in models/: `make test` trains one first")
    pytest.skip("no trained model in models/ (run `make train`)", allow_module_level=True)

# One message per topic, in the forms people type; the answer must be that topic's card.
VIETNAMESE = {
    "contract_liquidation": "về nước rồi thì thanh lý hợp đồng với công ty ở đâu",
    "deposit_refund": "lam sao de lay lai tien ky quy",
    "early_return": "e muốn về nước trước hạn hđ có mất tiền ko",
    "overstay_irregular": "em đang ở lại bất hợp pháp bên Hàn, muốn về thì làm sao",
    "remigration": "muon di lai han quoc lan 2 thi lam the nao",
    "social_insurance_vn": "đi xklđ có phải đóng bhxh ở việt nam không",
    "korea_insurance_refund": "bảo hiểm xuất cảnh bên Hàn nhận thế nào",
    "japan_pension_refund": "nenkin lần 2 làm thế nào",
    "other_country_benefits": "làm ở Đài Loan về có được nhận lại bảo hiểm lao động không",
    "work_injury": "em bị tai nạn lao động ở xưởng, gãy tay, được bồi thường ko",
    "health_insurance_return": "về nước rồi làm bảo hiểm y tế thế nào",
    "complaint_agency": "công ty môi giới thu phí quá cao, em muốn khiếu nại",
    "complaint_employer": "chu khong tra luong 2 thang roi",
    "legal_aid": "có chỗ nào tư vấn pháp luật miễn phí cho lao động không",
    "job_search": "về nước rồi muốn tìm việc làm",
    "skills_training": "muốn học nghề sau khi về nước",
    "business_loan": "muốn vay vốn mở cửa hàng sau khi về",
    "financial_planning": "gửi tiền về nhà cách nào an toàn",
    "psychosocial_support": "về nước thấy buồn chán, stress quá",
    # Topics added 2026-11-30 (issue 10), including the informal-work group.
    "arrival_checklist": "tôi vừa đáp chuyến bay từ Seoul về, giờ phải làm những thủ tục gì",
    "passport_documents": "hộ chiếu của tôi bị mất cắp ở Osaka, phải làm gì để về",
    "job_scams": "có công ty trên mạng tuyển đi Campuchia làm chăm sóc khách hàng lương 30 triệu, có đáng tin không",
    "domestic_workers": "tôi làm giúp việc cho một gia đình ở Riyadh, tôi có quyền gì",
    "voluntary_social_insurance": "tôi bán tạp hóa ở nhà muốn đóng bảo hiểm để về già có lương hưu",
    "health_insurance_residence": "thẻ bảo hiểm y tế đăng ký ở Thanh Hóa mà tôi làm ở Đồng Nai thì khám sao",
    "renter_rights": "chủ trọ tính tiền điện 5 nghìn một số có hợp pháp không",
    "worker_groups": "có hội nhóm nào cho người từng đi xuất khẩu lao động Hàn Quốc không",
    "greet": "xin chào",
    "goodbye": "tạm biệt nhé",
    "thanks": "cảm ơn bạn nhiều",
    "help_menu": "bạn giúp được gì",
    "human_handoff": "cho tôi nói chuyện với người thật",
    "privacy": "bạn lưu thông tin gì của tôi",
    "bot_challenge": "bạn là người hay máy",
    "out_of_scope": "hôm nay trời đẹp quá",
}
ENGLISH = {
    "deposit_refund": "how do I get my deposit back",
    "japan_pension_refund": "how can I get my Japanese pension refund",
    "complaint_employer": "my boss has not paid my salary for two months",
    "job_search": "I came back to Vietnam and need a job",
    "passport_documents": "i lost my passport in seoul, how do i get a new one",
    "renter_rights": "my landlord charges too much for electricity, what are my rights",
    "greet": "hello",
}


@pytest.fixture(scope="module")
def assistant():
    from bot.assistant import Assistant

    with Assistant.running() as running:
        yield running


def _title(topic, lang):
    return default_library().get(topic, lang).title


@pytest.mark.parametrize("topic, text", sorted(VIETNAMESE.items()))
def test_vietnamese_message_gets_the_topic_card_in_vietnamese(assistant, topic, text):
    result = assistant.ask(text)
    assert result["topic"] == topic, result
    assert result["lang"] == "vi"
    assert f"**{_title(topic, 'vi')}**" in result["answer"]


@pytest.mark.parametrize("topic, text", sorted(ENGLISH.items()))
def test_english_message_gets_the_topic_card_in_english(assistant, topic, text):
    result = assistant.ask(text)
    assert result["topic"] == topic, result
    assert result["lang"] == "en"
    assert f"**{_title(topic, 'en')}**" in result["answer"]


@pytest.mark.parametrize(
    "text, lang",
    [
        ("cứu em với, ông chủ đánh em", "vi"),
        ("chu nhot em trong phong ko cho ra", "vi"),
        ("help, my boss locked me in and took my passport", "en"),
    ],
)
def test_danger_gets_the_urgent_card_with_the_hotline(assistant, text, lang):
    result = assistant.ask(text)
    assert result["topic"] == "emergency_help"
    assert f"**{_title('emergency_help', lang)}**" in result["answer"]
    assert "+84 981 84 84 84" in result["answer"]


def test_entities_are_normalised(assistant):
    result = assistant.ask("em ở Quảng Bình, trước làm ở xứ kim chi, muốn tìm việc")
    assert result["entities"]["country"] == "KR"
    assert result["entities"]["province"] == "Quảng Trị"


def test_gibberish_gets_suggestions_or_the_menu(assistant):
    result = assistant.ask("asdf qwerty zxcv")
    assert result["intent"] in ("nlu_fallback", "out_of_scope")
    assert "[" in result["answer"], "buttons are offered"


def test_a_follow_up_button_answers_with_the_follow_up_card(assistant):
    library = default_library()
    card = library.get("korea_insurance_refund", "vi")
    button = render_card(card, library)["buttons"][0]
    result = assistant.ask(button["payload"])
    assert result["answer"].startswith(f"**{button['title']}**")


def test_language_switch_holds_for_the_next_answer(assistant):
    sender = "test-switch-language"
    assistant.ask("xin chào", sender_id=sender)
    switched = assistant.ask('/change_language{"language":"en"}', sender_id=sender)
    assert "English" in switched["answer"]
    answer = assistant.ask("tiền ký quỹ", sender_id=sender)
    assert f"**{_title('deposit_refund', 'en')}**" in answer["answer"]


def test_ask_jsonl_command_writes_one_object_per_line():
    lines = "số điện thoại đại sứ quán ở Hàn\nhow do I get my deposit back\n\nem ở nghe an muon tim viec\n"
    completed = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "--jsonl"],
        input=lines,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    rows = [json.loads(line) for line in completed.stdout.splitlines()]
    assert len(rows) == 3
    assert set(rows[0]) == {"text", "intent", "confidence", "topic", "entities", "lang", "answer"}
    assert rows[0]["topic"] == "consular_contact" and rows[0]["entities"] == {"country": "KR"}
    assert rows[1]["topic"] == "deposit_refund" and rows[1]["lang"] == "en"
    assert rows[2]["entities"]["province"] == "Nghệ An"
    assert rows[2]["lang"] == "vi"


def test_urgent_help_is_answered_even_when_the_action_server_is_down():
    from rasa.core.agent import Agent
    from rasa.utils.endpoints import EndpointConfig

    from bot.assistant import Assistant
    from bot.services import free_port, newest_model

    dead_port = free_port()  # nothing listens here
    agent = Agent.load(
        str(newest_model()),
        action_endpoint=EndpointConfig(url=f"http://127.0.0.1:{dead_port}/webhook"),
        generator=EndpointConfig(type="bot.nlg.ContentNLG"),
    )
    offline = Assistant(agent)
    for text, lang in (
        ("ông chủ nhốt em trong phòng, cứu em", "vi"),
        ("my boss beats me, please help", "en"),
    ):
        result = offline.ask(text)
        assert f"**{_title('emergency_help', lang)}**" in result["answer"]
        assert "+84 981 84 84 84" in result["answer"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("số điện thoại đại sứ quán ở Hàn", "Đại sứ quán Việt Nam tại Hàn Quốc"),
        ("dia chi lanh su quan o osaka", "Tổng Lãnh sự quán Việt Nam tại Osaka"),
        ("embassy phone number in Korea", "Embassy of Viet Nam in the Republic of Korea"),
        ("consulate address in Osaka", "Consulate General of Viet Nam in Osaka"),
    ],
)
def test_consular_lookups_through_the_bot(assistant, text, expected):
    result = assistant.ask(text)
    assert result["topic"] == "consular_contact"
    assert expected in result["answer"]
    assert "+84 981 84 84 84" in result["answer"], "the national fallback is always given"


@pytest.mark.parametrize(
    "text, asks, found",
    [
        (
            "ở Hà Tĩnh có tổ chức nào hỗ trợ lao động về nước",
            "Bạn cần hỗ trợ về việc gì?",
            "Trung tâm Dịch vụ việc làm",
        ),
        (
            "which organisations help returnees in Ha Tinh",
            "What kind of help are you looking for?",
            "Employment Service Centre",
        ),
    ],
)
def test_partner_lookup_asks_the_need_then_answers_for_the_province(assistant, text, asks, found):
    sender = f"test-partner-{hash(text)}"
    first = assistant.ask(text, sender_id=sender)
    assert first["topic"] == "referral_partner"
    assert first["entities"]["province"] == "Hà Tĩnh"
    assert asks in first["answer"]
    second = assistant.ask('/referral_partner{"need":"job_placement"}', sender_id=sender)
    assert found in second["answer"]


def test_converse_keeps_one_conversation_across_turns(assistant):
    turns = assistant.converse(["xin chào", '/change_language{"language":"en"}', "tiền ký quỹ"])
    assert len(turns) == 3
    assert f"**{_title('deposit_refund', 'en')}**" in turns[2]["answer"]
    assert all("topic_slot" in turn for turn in turns)
    # A new conversation does not inherit the language chosen in the previous one.
    again = assistant.converse(["tiền ký quỹ"])
    assert f"**{_title('deposit_refund', 'vi')}**" in again[0]["answer"]


@pytest.mark.parametrize(
    "text, intent, also",
    [
        (
            "em muốn hỏi tiền ký quỹ, với lại chủ nợ lương 3 tháng thì làm sao",
            "deposit_refund",
            ["complaint_employer"],
        ),
        (
            "về nước rồi muốn tìm việc làm, ngoài ra em muốn vay vốn mở cửa hàng",
            "business_loan",
            ["job_search"],
        ),
    ],
)
def test_a_message_with_two_needs_reports_the_other_one(assistant, text, intent, also):
    # Both needs are served, one answered and the other offered; which comes first is the
    # classifier's choice (it moves with the training data), so the pair is what is checked.
    result = assistant.ask(text)
    assert sorted([result["intent"], *result["also_asked"]]) == sorted([intent, *also])
    assert len(result["also_asked"]) == len(also)


def test_a_single_question_has_no_other_need(assistant):
    assert assistant.ask("chào bạn, cho em hỏi lấy lại tiền ký quỹ thế nào")["also_asked"] == []
