"""The Fund checker, case by case: each rule of bot/tools/fund_rules.yml, each "none fits",
the re-asks, leaving, and the table itself (articles cited, nothing unconfirmed shown)."""

from __future__ import annotations

import datetime as _dt
import re

import pytest

from bot.tools import fund
from bot.tools.guided import Said

TODAY = _dt.date(2026, 11, 30)
CONFIRMED_AMOUNTS = {"10–30", "1 triệu", "1 million"}  # QĐ 34/2025 Arts. 10 and 15 (content.md §1.7)
UNCONFIRMED_AMOUNTS = [
    "7–20",
    "7-20",
    "40 triệu",
    "40 million",
    "50 triệu",
    "50 million",
    "15 ngày làm việc",
    "15 working days",
]


def play(
    answers: list[str], lang: str = "vi", start_text: str = "kiểm tra Quỹ"
) -> tuple[fund.Step, list[str]]:
    """Start the checker, give each answer in turn; the last step and every reply text."""
    step = fund.start(lang, Said(start_text), TODAY)
    texts = [r.text for r in step.replies]
    state = step.state
    for answer in answers:
        assert step.question, f"the checker ended before {answer!r}"
        step = fund.turn(step.question, state, Said(answer), lang, TODAY)
        state = step.state
        texts += [r.text for r in step.replies]
    return step, texts


def test_accident_fits_article_10_with_its_confirmed_amount_and_papers():
    step, texts = play(["bị tai nạn ở xưởng", "3/2026", "có", "biên bản thanh lý"])
    assert step.question is None
    result = texts[-1]
    assert "Điều 10" in result and "Luật 69/2020/QH14, Điều 67 khoản 1 điểm a" in result
    assert "10–30 triệu đồng" in result
    assert "Điều 15" in result and "1 triệu đồng mỗi tháng" in result
    assert "Giấy tờ y tế" in result and "Bản sao hộ chiếu" in result
    assert "trực tuyến, trực tiếp, qua bưu điện" in result
    assert "chưa xác nhận thời hạn" in result
    assert "Sở Nội vụ" in result and "Cục Quản lý lao động ngoài nước" in result


@pytest.mark.parametrize(
    "reason, article, point",
    [
        ("công ty bên đó phá sản", "Điều 11", "điểm b"),
        ("em bị chủ đánh, ngược đãi nên tự nghỉ", "Điều 12", "điểm c"),
    ],
)
def test_employer_closing_and_abuse_fit_their_articles_but_show_no_unconfirmed_amount(reason, article, point):
    step, texts = play([reason, "tháng 5/2026", "có", "chưa có"])
    result = texts[-1]
    assert article in result and point in result
    assert "chưa được xác nhận theo quyết định mới: hãy hỏi Quỹ" in result
    assert not any(amount in result for amount in UNCONFIRMED_AMOUNTS)
    assert "Điều 15" in result  # career-change training applies to Arts. 10-12
    assert "180 ngày" in result  # no paper yet: liquidate


def test_dispute_support_asks_only_about_the_contribution():
    step, texts = play(["tôi đang tranh chấp, cần luật sư", "có"])
    assert step.question is None
    assert "Điều 13" in texts[-1] and "hãy hỏi Quỹ" in texts[-1]
    assert not any(amount in texts[-1] for amount in UNCONFIRMED_AMOUNTS)


def test_relatives_of_a_worker_who_died_get_article_14_and_ask_the_fund():
    step, texts = play(["chồng tôi mất tích ở nước ngoài", "không nhớ"], lang="vi")
    result = texts[-1]
    assert "Điều 14" in result and "thân nhân" in result
    assert "40" not in result
    assert "đã đóng tiền vào Quỹ" in result  # unsure about the contribution: check it first


@pytest.mark.parametrize(
    "reason, why",
    [
        ("hết hạn hợp đồng thì về", "trước hạn"),
        ("em bỏ trốn ra ngoài làm", "lý do riêng"),
    ],
)
def test_none_fits_a_normal_end_or_an_own_reason_and_says_why(reason, why):
    step, texts = play([reason])
    assert step.question is None
    assert "không thuộc khoản hỗ trợ nào" in texts[-1] and why in texts[-1]
    assert "Hãy hỏi Quỹ" in texts[-1]


def test_none_fits_without_the_contribution_and_it_cites_article_9():
    step, texts = play(["bị bệnh nặng", "1/2026", "không", "biên bản thanh lý"])
    assert "không thuộc khoản hỗ trợ nào" in texts[-1]
    assert "Điều 9" in texts[-1] and "100.000 đồng" in texts[-1]


def test_english_accident_case():
    step, texts = play(
        ["I had an accident at work", "March 2026", "yes", "none yet"], lang="en", start_text="Fund checker"
    )
    result = texts[-1]
    assert "VND 10–30 million per case" in result and "Điều 10" in result
    assert "Ask the Fund before you file" in result


def test_buttons_and_numbers_answer_too():
    step = fund.start("vi", Said("kiểm tra Quỹ"), TODAY)
    assert step.question == "reason"
    payloads = [b["payload"] for b in step.replies[-1].buttons]
    assert payloads[0] == '/fund_check{"choice": "accident_illness"}'
    step = fund.turn("reason", {}, Said("/fund_check", choice="employer_closed"), "vi", TODAY)
    assert step.state == {"reason": "employer_closed"} and step.question == "returned"
    step = fund.turn("reason", {}, Said("3"), "vi", TODAY)
    assert step.state == {"reason": "abuse"}


def test_the_first_message_may_already_say_why():
    step = fund.start("vi", Said("bị tai nạn phải về nước sớm, tôi có được Quỹ hỗ trợ không"), TODAY)
    assert step.question == "returned" and step.state == {"reason": "accident_illness"}


@pytest.mark.parametrize("vague", ["tháng trước", "dạo này", "hôm bữa"])
def test_a_vague_date_is_asked_again_clearly(vague):
    step = fund.turn("returned", {"reason": "accident_illness"}, Said(vague), "vi", TODAY)
    assert step.question == "returned"
    assert "3/2025" in step.replies[0].text and "tháng trước" in step.replies[0].text


def test_an_unclear_reason_is_asked_again_with_the_buttons():
    step = fund.turn("reason", {}, Said("ừm để em nghĩ"), "vi", TODAY)
    assert step.question == "reason" and len(step.replies[0].buttons) == 7


@pytest.mark.parametrize("text", ["thôi", "huỷ", "hủy", "huy", "cancel", "thôi không cần nữa"])
def test_cancel_words_end_the_checker(text):
    step = fund.turn("returned", {"reason": "abuse"}, Said(text), "vi", TODAY)
    assert step.cancelled and step.question is None and "dừng" in step.replies[0].text


def test_a_clear_other_question_leaves_the_checker():
    said = Said(
        "làm sao rút bảo hiểm Hàn Quốc?", intent="korea_insurance_refund", confidence=0.93, other_topic=True
    )
    assert fund.turn("returned", {"reason": "abuse"}, said, "vi", TODAY).left


def test_the_table_cites_an_article_for_every_rule_and_shows_only_confirmed_amounts():
    table = fund.rules()
    assert table["decision"] == "Quyết định 34/2025/QĐ-TTg"
    covered = set()
    for case in table["cases"]:
        assert re.fullmatch(r"Điều \d+", case["article"]), case["id"]
        assert case["law"].startswith("Luật 69/2020/QH14, Điều 67"), case["id"]
        assert case["title"]["vi"] and case["title"]["en"]
        assert set(case["documents"]) <= set(table["documents"])
        covered.update(case["reasons"])
        if case["amount_confirmed"]:
            assert case["article"] == "Điều 10" and "34/2025" in case["amount_source"]
            assert any(a in case["amount"]["vi"] for a in CONFIRMED_AMOUNTS)
        else:
            assert "amount" not in case, f"{case['id']}: an unconfirmed amount must not be in the table"
    assert covered | set(table["no_case"]) >= set(fund.REASONS)
    assert table["retraining"]["article"] == "Điều 15" and table["retraining"]["amount_confirmed"]
    assert table["deadline_confirmed"] is False


def test_no_phone_number_is_shown_for_the_fund_or_the_department():
    for reason in fund.REASONS:
        state = {"reason": reason, "returned": "2026-01", "contributed": "yes", "documents": "liquidation"}
        for lang in ("vi", "en"):
            text = "\n".join(r.text for r in fund.result(state, lang, TODAY))
            assert not re.search(r"\d{3,}[ .-]?\d{3,}", text.replace("100.000", "")), text
