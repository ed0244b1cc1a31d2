"""The complaint letter builder: the questions per problem, the re-asks, the evidence
checklists, who the letter goes to, the PDF (Vietnamese diacritics intact, then English),
and what is kept: drafts until the letter is made, "forget me", retention."""

from __future__ import annotations

import datetime as _dt
import io
import json

import pypdf
import pytest
import sqlalchemy as sa

from bot.db import ensure_schema, get_engine, letter_drafts, letter_files
from bot.privacy import DATABASE_PURGES, FORGET_STORES, forget_everything
from bot.tools import letter, letter_store
from bot.tools.guided import Said
from bot.tools.letter import Addressee, content
from bot.tools.letter_pdf import render_pdf

TODAY = _dt.date(2026, 11, 30)


def play(problem_text: str, answers: list[str], lang: str = "vi") -> tuple[letter.Step, list[str]]:
    step = letter.start(lang, Said(problem_text))
    texts = [r.text for r in step.replies]
    state = step.state
    for answer in answers:
        assert step.question, f"ended before {answer!r}"
        said = Said(answer, choice=answer if answer in ("yes", "no") and step.question == "keep" else None)
        step = letter.turn(step.question, state, said, lang, TODAY)
        state = step.state
        texts += [r.text for r in step.replies]
    return step, texts


DEPOSIT = [
    "Công ty Cổ phần Nhân lực Hưng Thịnh",
    "Nghệ An",
    "HĐ-57/2024",
    "15/3/2026",
    "5tr",
    "Trả lại tiền ký quỹ khi tôi về nước",
    "Công ty không trả, không nghe điện thoại",
    "no",
]


def test_a_deposit_letter_asks_only_what_it_needs_and_ends_with_a_document():
    step, texts = play("tôi muốn làm đơn đòi tiền ký quỹ", DEPOSIT)
    assert step.question is None and step.document is not None
    answers = step.state
    assert answers["problem"] == "deposit" and answers["province"] == "Nghệ An"
    assert answers["amount"] == {"amount": 5_000_000, "currency": "VND"}
    assert "employer" not in answers and "country" not in answers
    assert "Biên lai nộp tiền ký quỹ" in texts[1]  # the checklist comes before the first question


def test_a_wages_letter_asks_for_the_employer_and_country_not_the_province():
    step, texts = play(
        "viết đơn đòi lương bị nợ",
        [
            "Công ty ABC",
            "skip",
            "Hàn Quốc",
            "bỏ qua",
            "5/2026",
            "2.000.000 won",
            "trả lương",
            "không trả",
            "yes",
        ],
    )
    answers = step.state
    assert answers["employer"] == "" and answers["country"] == "KR" and "province" not in answers
    assert answers["amount"] == {"amount": 2_000_000, "currency": "KRW"}
    assert answers["keep"] == "yes"


def test_a_passport_letter_asks_no_amount():
    assert "amount" not in letter.questions({"problem": "passport"})
    assert "amount" in letter.questions({"problem": "fees"})


@pytest.mark.parametrize(
    "question, bad, hint",
    [("date", "tháng trước", "15/3/2025"), ("amount", "mấy triệu", "5tr"), ("province", "ở quê", "Nghệ An")],
)
def test_bad_input_is_asked_again_with_an_example(question, bad, hint):
    answers = {"problem": "deposit", "enterprise": "X"}
    step = letter.turn(question, answers, Said(bad), "vi", TODAY)
    assert step.question == question and step.state == answers
    assert hint in step.replies[0].text


@pytest.mark.parametrize("text", ["thôi", "huỷ", "cancel", "dừng lại"])
def test_cancel_ends_the_builder(text):
    step = letter.turn("enterprise", {"problem": "wages"}, Said(text), "vi", TODAY)
    assert step.cancelled and step.question is None


def test_a_company_name_is_an_answer_even_when_the_classifier_names_a_topic():
    said = Said("Công ty TNHH Nhân lực Quốc tế", intent="complaint_agency", confidence=0.95, other_topic=True)
    step = letter.turn("enterprise", {"problem": "fees"}, said, "vi", TODAY)
    assert not step.left and step.state["enterprise"] == "Công ty TNHH Nhân lực Quốc tế"


def test_a_clear_other_question_leaves_the_builder():
    said = Said(
        "Thanh lý hợp đồng cần giấy tờ gì?", intent="contract_liquidation", confidence=0.9, other_topic=True
    )
    assert letter.turn("enterprise", {"problem": "fees"}, said, "vi", TODAY).left


@pytest.mark.parametrize("problem", letter.PROBLEMS)
def test_every_problem_has_an_evidence_checklist_in_both_languages(problem):
    assert len(letter.checklist(problem, "vi")) >= 4
    assert letter.checklist(problem, "vi") != letter.checklist(problem, "en")


def _answers(problem: str) -> dict:
    step, _ = play(
        {
            "deposit": "đòi tiền ký quỹ",
            "wages": "đòi lương",
            "fees": "thu phí quá cao",
            "passport": "giữ hộ chiếu",
        }[problem],
        {
            "deposit": DEPOSIT,
            "fees": [
                "Công ty Sao Mai",
                "Hà Tĩnh",
                "skip",
                "1/2024",
                "120 triệu",
                "phí 1 tháng lương",
                "thu 120 triệu",
                "no",
            ],
            "wages": [
                "Công ty Việt Hàn",
                "Kim",
                "Hàn Quốc",
                "skip",
                "5/2026",
                "$1,200",
                "trả lương",
                "không trả",
                "no",
            ],
            "passport": [
                "Công ty Sao Việt",
                "skip",
                "Nhật Bản",
                "skip",
                "1/9/2026",
                "giữ vài hôm",
                "giữ 3 tháng",
                "no",
            ],
        }[problem],
    )
    return step.state


def test_the_enterprise_comes_first_then_the_province_department_or_the_mission():
    deposit = content(_answers("deposit"), "vi", TODAY, None)
    assert "Hưng Thịnh" in deposit.addressees[0].name
    assert [a.name for a in deposit.copy_to] == [
        "Sở Nội vụ Nghệ An",
        "Cục Quản lý lao động ngoài nước, Bộ Nội vụ",
    ]
    board = Addressee("Ban Quản lý lao động Việt Nam tại Hàn Quốc")
    wages = content(_answers("wages"), "vi", TODAY, board)
    assert "Việt Hàn" in wages.addressees[0].name and "Kim" in wages.addressees[1].name
    assert wages.copy_to[0] == board


def test_the_summary_of_events_is_dated_and_the_money_formatted_per_language():
    answers = _answers("deposit")
    vi = content(answers, "vi", TODAY, None)
    en = content(answers, "en", TODAY, None)
    assert vi.events[1][0] == "15 tháng 3, 2026" and "5.000.000" in vi.events[1][1]
    assert en.events[1][0] == "March 15, 2026" and "5,000,000" in en.events[1][1]
    assert vi.events[-1][0] == "30 tháng 11, 2026"


def _text(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


@pytest.mark.parametrize("problem", letter.PROBLEMS)
def test_the_pdf_keeps_every_vietnamese_diacritic_and_has_the_english_version_after(problem):
    answers = _answers(problem)
    pdf = render_pdf([content(answers, "vi", TODAY, None), content(answers, "en", TODAY, None)])
    assert pdf.startswith(b"%PDF")
    pages = _text(pdf)
    vietnamese = "\n".join(p for p in pages if "CỘNG HÒA" in p)
    english = "\n".join(p for p in pages if "LETTER OF COMPLAINT" in p)
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in vietnamese
    assert "Độc lập – Tự do – Hạnh phúc" in vietnamese
    assert "ĐƠN KHIẾU NẠI VÀ ĐỀ NGHỊ GIẢI QUYẾT" in vietnamese
    assert (
        "Kính gửi:" in vietnamese and "Tóm tắt sự việc" in vietnamese and "Ký và ghi rõ họ tên" in vietnamese
    )
    assert answers["enterprise"] in vietnamese
    assert "Summary of events" in english and "To:" in english
    assert pages.index(next(p for p in pages if "LETTER OF COMPLAINT" in p)) > 0


# --- the store ---------------------------------------------------------------------------


@pytest.fixture
def engine(tmp_path):
    return ensure_schema(get_engine(f"sqlite:///{tmp_path / 'letters.db'}"))


def test_drafts_round_trip_and_are_deleted(engine):
    letter_store.save_draft(engine, "tg-1", {"problem": "wages", "enterprise": "Việt Hàn"})
    letter_store.save_draft(engine, "tg-1", {"problem": "wages", "enterprise": "Việt Hàn 2"})
    assert letter_store.load_draft(engine, "tg-1")["enterprise"] == "Việt Hàn 2"
    assert letter_store.delete_draft(engine, "tg-1") == 1
    assert letter_store.load_draft(engine, "tg-1") == {}


def test_a_letter_file_is_taken_once_and_only_by_its_sender(engine):
    token = letter_store.store_file(engine, "tg-1", "a.pdf", b"%PDF-1.4")
    assert len(token) >= 40
    assert letter_store.take_file(engine, token, "tg-2") is None
    assert letter_store.take_file(engine, token, "tg-1").pdf == b"%PDF-1.4"
    assert letter_store.take_file(engine, token, "tg-1") is None
    assert letter_store.take_file(engine, "short") is None
    with engine.begin() as conn:
        stored = conn.execute(sa.select(letter_files.c.token_hash)).all()
    assert stored == []


def test_forget_me_deletes_drafts_and_waiting_letters(engine, tmp_path):
    url = f"sqlite:///{tmp_path / 'letters.db'}"
    letter_store.save_draft(engine, "tg-9", {"problem": "fees"}, keep=True)
    letter_store.store_file(engine, "tg-9", "a.pdf", b"%PDF")
    letter_store.save_draft(engine, "tg-other", {"problem": "fees"})
    assert "complaint letters and drafts" in FORGET_STORES
    result = forget_everything("tg-9", database_url=url, tracker_store_url=f"sqlite:///{tmp_path / 't.db'}")
    assert result.ok and result.deleted["complaint letters and drafts"] == 2
    with engine.begin() as conn:
        left = [row.sender_id for row in conn.execute(sa.select(letter_drafts.c.sender_id))]
    assert left == ["tg-other"]


def test_retention_purges_old_drafts_and_expired_letters(engine):
    letter_store.save_draft(engine, "old", {"problem": "fees"}, keep=True)
    letter_store.save_draft(engine, "new", {"problem": "fees"}, keep=True)
    with engine.begin() as conn:
        conn.execute(
            sa.update(letter_drafts)
            .where(letter_drafts.c.sender_id == "old")
            .values(updated_at=_dt.datetime(2026, 1, 1))
        )
    letter_store.store_file(engine, "x", "a.pdf", b"%PDF", now=_dt.datetime(2026, 1, 1))
    purge = DATABASE_PURGES["complaint letters and drafts"]
    assert purge(engine, _dt.datetime(2026, 11, 30), 90) == 2
    assert json.loads(json.dumps(letter_store.load_draft(engine, "new"))) == {"problem": "fees"}


def test_a_kept_draft_can_make_the_letter_again_or_start_anew():
    step, _ = play("tôi muốn làm đơn đòi tiền ký quỹ", [*DEPOSIT[:-1], "yes"])
    kept = step.state
    assert letter.complete(kept) and kept["keep"] == "yes"
    offer = letter.resume(kept, "vi")
    assert offer.question == "draft" and len(offer.replies[0].buttons) == 2
    again = letter.turn("draft", kept, Said("/complaint_letter", choice="again"), "vi", TODAY)
    assert again.document == {"answers": kept}
    fresh = letter.turn("draft", kept, Said("viết đơn mới"), "vi", TODAY)
    assert fresh.question == "problem" and fresh.state == {}
    unclear = letter.turn("draft", kept, Said("để tôi xem đã"), "vi", TODAY)
    assert unclear.question == "draft"


def test_leaving_keeps_a_kept_draft_but_cancel_deletes_it(engine):
    letter_store.save_draft(engine, "tg-5", {"problem": "fees"}, keep=True)
    assert letter_store.delete_draft(engine, "tg-5", unless_kept=True) == 0
    assert letter_store.delete_draft(engine, "tg-5") == 1
