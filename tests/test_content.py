"""Tests for the answer cards: loading, live reload, rendering and the content checks.

Each check gets a small content tree in a temp folder that passes, then one change
that must make it fail; the last test runs the checks on the real `content/`.
"""

from __future__ import annotations

import argparse
import os
import textwrap
from pathlib import Path

import pytest

from bot.cli import content as content_cli
from bot.content import CardError, ContentLibrary, check_content, load_card, render_card
from bot.content.checks import figures, find_phone_numbers

REPO_ROOT = Path(__file__).resolve().parent.parent

TOPICS = textwrap.dedent(
    """\
    groups:
      return: Contract, return and status
    topics:
      - id: deposit_refund
        group: return
      - id: early_return
        group: return
    """
)


def card_text(title: str, body: str, **front: str) -> str:
    lines = [
        "---",
        f"title: {title}",
        "sources:",
        '  - "Luật 69/2020/QH14, Điều 25"',
        "last_reviewed: 2026-11-24",
    ]
    lines += [f"{key}: {value}" for key, value in front.items()]
    lines += ["---", body, ""]
    return "\n".join(lines)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A minimal valid repository: two topics, one sub-card, allow-list, directory data."""
    write(tmp_path / "topics.yml", TOPICS)
    content = tmp_path / "content"
    write(
        content / "vi" / "deposit_refund.md",
        card_text(
            "Lấy lại tiền ký quỹ",
            "Ngân hàng trả **gốc và lãi** trong 15 ngày làm việc: 100.000.000 đồng.\n\nGọi +84 981 84 84 84.",
            follow_up="[early_return, eps_deposit]",
        ),
    )
    write(
        content / "en" / "deposit_refund.md",
        card_text(
            "Getting your deposit back",
            "The bank pays **principal and interest** within 15 working days: VND 100,000,000.\n\nCall +84 981 84 84 84.",
            follow_up="[early_return, eps_deposit]",
        ),
    )
    write(content / "vi" / "early_return.md", card_text("Về nước trước hạn", "Gọi 1955 (Đài Loan), 24/7."))
    write(content / "en" / "early_return.md", card_text("Returning early", "Call 1955 (Taiwan), 24/7."))
    write(content / "vi" / "eps_deposit.md", card_text("Ký quỹ EPS", "Từ ngày 1/7/2025."))
    write(content / "en" / "eps_deposit.md", card_text("EPS deposit", "From 1 July 2025."))
    write(
        content / "phone_numbers.yml",
        textwrap.dedent(
            """\
        - number: "+84 981 84 84 84"
          place: "*"
          need: citizen_protection
          purpose: Citizen protection hotline, Consular Department (MOFA)
          source: dofabrvt.gov.vn
          confidence: HIGH
          source_date: 2026
        - number: "1955"
          place: TW
          need: complaints
          purpose: Taiwan foreign workers hotline
          source: wda.gov.tw
          confidence: HIGH
          source_date: 2026-11-30
        - number: "1600 0266"
          place: KR
          need: insurance_claims
          purpose: Samsung Fire EPS claims
          source: ai.bznav.com
          confidence: MEDIUM
          source_date: 2026-02
        - number: "02 2119 2400"
          place: KR
          need: insurance_claims
          purpose: Samsung Fire, old number
          source: moel.go.kr FAQ
          confidence: LOW
          source_date: 2011
        - number: "1900 969 680"
          place: VN
          need: shelter
          purpose: Peace House
          source: thoidai.com.vn
          confidence: LOW
          source_date: 2021
        - number: "1577 5432"
          place: KR
          need: violence
          purpose: old Danuri line, never shown
          source: content.md E1
          confidence: UNCONFIRMED
          source_date: 2014
        """
        ),
    )
    return tmp_path


def run_checks(repo: Path) -> list[str]:
    return [str(problem) for problem in check_content(repo / "content")]


def test_valid_tree_has_no_problems(repo: Path) -> None:
    assert run_checks(repo) == []


# --- load_card -----------------------------------------------------------------------


def test_load_card_reads_front_matter_and_body(repo: Path) -> None:
    card = load_card(repo / "content" / "vi" / "deposit_refund.md", "vi")
    assert card.id == "deposit_refund"
    assert card.title == "Lấy lại tiền ký quỹ"
    assert card.sources == ("Luật 69/2020/QH14, Điều 25",)
    assert str(card.last_reviewed) == "2026-11-24"
    assert card.follow_up == ("early_return", "eps_deposit")
    assert card.verified is False
    assert card.body.startswith("Ngân hàng trả **gốc và lãi**")


@pytest.mark.parametrize(
    "text, line, reason",
    [
        ("Just a body\n", 1, "missing front matter"),
        ("---\ntitle: x\nsources: [a\nlast_reviewed: 2026-11-24\n---\nbody\n", 4, "not valid YAML"),
        ("---\nsources: [a]\nlast_reviewed: 2026-11-24\n---\nbody\n", 1, "missing or empty 'title'"),
        (
            "---\ntitle: '  '\nsources: [a]\nlast_reviewed: 2026-11-24\n---\nbody\n",
            2,
            "missing or empty 'title'",
        ),
        ("---\ntitle: T\nlast_reviewed: 2026-11-24\n---\nbody\n", 1, "missing or empty 'sources'"),
        (
            "---\ntitle: T\nsources: []\nlast_reviewed: 2026-11-24\n---\nbody\n",
            3,
            "missing or empty 'sources'",
        ),
        ("---\ntitle: T\nsources: [a]\n---\nbody\n", 1, "missing 'last_reviewed'"),
        ("---\ntitle: T\nsources: [a]\nlast_reviewed: 24/11/2026\n---\nbody\n", 4, "must be a date"),
        (
            "---\ntitle: T\nsources: [a]\nlast_reviewed: 2026-11-24\nfollow_up: deposit_refund\n---\nbody\n",
            5,
            "'follow_up' must be a list",
        ),
        (
            "---\ntitle: T\nsources: [a]\nlast_reviewed: 2026-11-24\nsource: x\n---\nbody\n",
            5,
            "unknown key 'source'",
        ),
        (
            "---\ntitle: T\nsources: [a]\nlast_reviewed: 2026-11-24\nlookup: referral_partner\nlookup_need: food\n---\nbody\n",
            6,
            "unknown need 'food'",
        ),
    ],
)
def test_card_errors_name_file_line_and_reason(tmp_path: Path, text: str, line: int, reason: str) -> None:
    path = write(tmp_path / "content" / "vi" / "x.md", text)
    with pytest.raises(CardError) as caught:
        load_card(path, "vi")
    assert caught.value.line == line
    assert reason in caught.value.reason
    assert str(caught.value).startswith(f"content/vi/x.md:{line}: ")


# --- ContentLibrary -----------------------------------------------------------------


def test_library_falls_back_to_other_language_only_when_missing(
    repo: Path, caplog: pytest.LogCaptureFixture
) -> None:
    library = ContentLibrary(repo / "content")
    assert library.get("deposit_refund", "en").lang == "en"
    (repo / "content" / "en" / "eps_deposit.md").unlink()
    card = library.get("eps_deposit", "en")
    assert card is not None and card.lang == "vi"
    assert "no usable en version" in caplog.text
    assert library.get("no_such_card", "vi") is None
    assert library.get("../topics", "vi") is None


def test_library_rereads_an_edited_card(repo: Path) -> None:
    library = ContentLibrary(repo / "content")
    path = repo / "content" / "vi" / "early_return.md"
    assert library.get("early_return", "vi").title == "Về nước trước hạn"
    write(path, card_text("Về nước sớm", "Nội dung mới."))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert library.get("early_return", "vi").title == "Về nước sớm"


def test_library_keeps_last_good_card_while_file_is_broken(repo: Path) -> None:
    library = ContentLibrary(repo / "content")
    path = repo / "content" / "vi" / "early_return.md"
    assert library.get("early_return", "vi") is not None
    write(path, "---\ntitle: [broken\n---\nbody\n")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert library.get("early_return", "vi").title == "Về nước trước hạn"
    assert [e.path.name for e in library.errors()] == ["early_return.md"]
    assert library.card_ids("vi") == ["deposit_refund", "early_return", "eps_deposit"]


# --- render ---------------------------------------------------------------------------


def test_render_card_gives_title_body_and_buttons(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOPICS_FILE", str(repo / "topics.yml"))
    library = ContentLibrary(repo / "content")
    reply = render_card(library.get("deposit_refund", "en"), library)
    assert reply["text"].startswith("**Getting your deposit back**\n\nThe bank pays")
    assert reply["buttons"] == [
        {"title": "Returning early", "payload": "/early_return"},
        {"title": "EPS deposit", "payload": '/show_card{"card": "eps_deposit"}'},
    ]


def test_render_card_adds_lookup_button(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOPICS_FILE", str(repo / "topics.yml"))
    write(
        repo / "content" / "en" / "early_return.md",
        card_text(
            "Returning early", "Call 1955 (Taiwan), 24/7.", lookup="referral_partner", lookup_need="legal_aid"
        ),
    )
    library = ContentLibrary(repo / "content")
    buttons = render_card(library.get("early_return", "en"), library)["buttons"]
    assert buttons == [
        {"title": "Find organisations near me", "payload": '/referral_partner{"need": "legal_aid"}'}
    ]
    write(
        repo / "content" / "en" / "eps_deposit.md",
        card_text("EPS deposit", "From 1 July 2025.", lookup="consular_contact"),
    )
    buttons = render_card(library.get("eps_deposit", "en"), library)["buttons"]
    assert buttons == [{"title": "Find the embassy contacts", "payload": "/consular_contact"}]


def test_plain_text_rendering_removes_bold_markers() -> None:
    from bot.markup import to_plain

    assert to_plain("**Title**\n\nPay **now**.") == "Title\n\nPay now."


# --- checks: each one can fail -----------------------------------------------------


def test_check_fails_when_topic_lacks_a_card(repo: Path) -> None:
    (repo / "content" / "en" / "early_return.md").unlink()
    problems = run_checks(repo)
    assert any("content/en/early_return.md" in p and "missing card" in p for p in problems)


def test_check_fails_when_card_lacks_sources_or_date(repo: Path) -> None:
    write(
        repo / "content" / "vi" / "early_return.md",
        "---\ntitle: T\nlast_reviewed: 2026-11-24\n---\nGọi 1955 (Đài Loan), 24/7.\n",
    )
    write(repo / "content" / "vi" / "eps_deposit.md", "---\ntitle: T\nsources: [a]\n---\nTừ ngày 1/7/2025.\n")
    problems = run_checks(repo)
    assert (
        "content/vi/early_return.md:1: missing or empty 'sources': list where each fact comes from"
        in problems
    )
    assert any(p.startswith("content/vi/eps_deposit.md:1: missing 'last_reviewed'") for p in problems)


def test_check_fails_on_follow_up_without_card(repo: Path) -> None:
    (repo / "content" / "en" / "eps_deposit.md").unlink()
    problems = run_checks(repo)
    assert any(
        p.startswith("content/en/deposit_refund.md:") and "follow_up 'eps_deposit'" in p for p in problems
    )


def test_check_fails_on_unknown_phone_number(repo: Path) -> None:
    write(
        repo / "content" / "vi" / "early_return.md",
        card_text("Về nước trước hạn", "Gọi 1955 (Đài Loan), 24/7 hoặc 0912 345 678."),
    )
    write(
        repo / "content" / "en" / "early_return.md",
        card_text("Returning early", "Call 1955 (Taiwan), 24/7 or 0912 345 678."),
    )
    problems = run_checks(repo)
    assert sum("phone number 0912 345 678" in p for p in problems) == 2


def test_check_fails_on_unknown_short_hotline(repo: Path) -> None:
    allow = repo / "content" / "phone_numbers.yml"
    text = allow.read_text(encoding="utf-8")
    allow.write_text(text.replace('number: "1955"', 'number: "1956"'), encoding="utf-8")
    problems = run_checks(repo)
    assert any("content/vi/early_return.md:7" in p and "phone number 1955 is not in" in p for p in problems)


def test_check_fails_on_allow_list_entry_without_source(repo: Path) -> None:
    write(repo / "content" / "phone_numbers.yml", '- number: "+84 981 84 84 84"\n  purpose: MOFA hotline\n')
    problems = run_checks(repo)
    assert "content/phone_numbers.yml:1: entry +84 981 84 84 84: missing 'source'" in problems
    assert any(
        p.startswith("content/phone_numbers.yml:1: entry +84 981 84 84 84: 'confidence' must be")
        for p in problems
    )
    assert any("'source_date' missing" in p for p in problems)
    assert any("missing 'place'" in p for p in problems)


def test_check_fails_when_vi_and_en_figures_differ(repo: Path) -> None:
    write(
        repo / "content" / "en" / "deposit_refund.md",
        card_text(
            "Getting your deposit back",
            "The bank pays **principal and interest** within 10 working days: VND 100,000,000.\n\nCall +84 981 84 84 84.",
            follow_up="[early_return, eps_deposit]",
        ),
    )
    problems = run_checks(repo)
    assert (
        "content/en/deposit_refund.md:1: figures differ from the vi card: only in vi: 15; only in en: 10"
        in problems
    )


def test_check_fails_on_markup_outside_the_subset(repo: Path) -> None:
    write(
        repo / "content" / "vi" / "eps_deposit.md",
        card_text("Ký quỹ EPS", "# Ký quỹ\n\nXem [đây](https://eps.go.kr). Từ ngày 1/7/2025."),
    )
    problems = run_checks(repo)
    assert any("eps_deposit.md:7: headings" in p for p in problems)
    assert any("eps_deposit.md:9: write URLs out plainly" in p for p in problems)


@pytest.mark.parametrize(
    "vi, en",
    [
        ("100.000.000 đồng", "VND 100,000,000"),
        ("gọi +84 981 84 84 84", "call +84 981 84 84 84"),
        ("ngày 1/7/2025", "1 July 2025"),
        ("ngày 30 tháng 6 năm 2026", "June 30, 2026"),
        ("8,3% lương", "8.3% of wages"),
        ("20,42%", "20.42%"),
        ("09:00–18:00", "9:00-18:00"),
        ("400.000 won", "KRW 400,000"),
    ],
)
def test_equivalent_figures_compare_equal(vi: str, en: str) -> None:
    assert figures(vi) == figures(en)


@pytest.mark.parametrize(
    "vi, en",
    [("100.000.000 đồng", "VND 10,000,000"), ("36 tháng", "60 months"), ("1/7/2025", "1 June 2025")],
)
def test_different_figures_compare_different(vi: str, en: str) -> None:
    assert figures(vi) != figures(en)


def test_phone_numbers_are_told_apart_from_amounts() -> None:
    text = (
        "Gọi 1955 hoặc +84 981 84 84 84; ký quỹ 100.000.000 đồng trong 180 ngày; Luật số 283/2026; 1577-0071"
    )
    assert find_phone_numbers(text) == ["1955", "+84 981 84 84 84", "1577-0071"]


# --- checks: the rule for uncertain numbers -----------------------------------------


def _both(repo: Path, card_id: str, vi: str, en: str, **front: str) -> None:
    write(repo / "content" / "vi" / f"{card_id}.md", card_text("Thẻ", vi, **front))
    write(repo / "content" / "en" / f"{card_id}.md", card_text("Card", en, **front))


def test_check_fails_on_an_unconfirmed_number(repo: Path) -> None:
    _both(repo, "eps_deposit", "Danuri: gọi 1577 5432.", "Danuri: call 1577 5432.")
    problems = run_checks(repo)
    assert (
        "content/vi/eps_deposit.md:7: phone number 1577 5432 is UNCONFIRMED in phone_numbers.yml "
        "(line 36): it must never be shown; remove it" in problems
    )


def test_check_fails_on_a_low_number_when_a_better_one_serves(repo: Path) -> None:
    _both(
        repo,
        "eps_deposit",
        "Samsung Fire: 02 2119 2400 (chưa kiểm tra, nguồn 2011). Khẩn cấp: +84 981 84 84 84.",
        "Samsung Fire: 02 2119 2400 (unchecked, source 2011). Emergency: +84 981 84 84 84.",
    )
    problems = run_checks(repo)
    assert (
        "content/en/eps_deposit.md:7: phone number 02 2119 2400 is LOW confidence and 1600 0266 "
        "(HIGH/MEDIUM) serves the same need (insurance_claims) there: show that instead" in problems
    )
    assert not any("chưa kiểm tra" in p or "MOFA" in p for p in problems), problems


def test_check_fails_on_a_low_number_without_marker_or_mofa_hotline(repo: Path) -> None:
    _both(repo, "eps_deposit", "Ngôi nhà Bình yên: 1900 969 680.", "Peace House: 1900 969 680.")
    problems = run_checks(repo)
    assert any(
        p.startswith(
            "content/vi/eps_deposit.md:7: phone number 1900 969 680 is LOW confidence: on the same line"
        )
        and "(2021)" in p
        for p in problems
    )
    assert any(
        p.startswith("content/en/eps_deposit.md:7:") and "must also show the MOFA" in p for p in problems
    )


def test_a_low_number_passes_when_marked_and_beside_the_mofa_hotline(repo: Path) -> None:
    _both(
        repo,
        "eps_deposit",
        "Ngôi nhà Bình yên: 1900 969 680 (số chưa kiểm tra, nguồn năm 2021).\n\nKhẩn cấp: +84 981 84 84 84.",
        "Peace House: 1900 969 680 (unchecked number, source from 2021).\n\nUrgent: +84 981 84 84 84.",
    )
    assert run_checks(repo) == []


def test_check_fails_on_a_number_written_with_hyphens(repo: Path) -> None:
    _both(repo, "eps_deposit", "Gọi 1600-0266.", "Call 1600-0266.")
    problems = run_checks(repo)
    assert (
        "content/vi/eps_deposit.md:7: write 1600-0266 as 1600 0266 (digit groups separated by spaces)"
        in problems
    )


def test_check_fails_when_vi_and_en_phone_numbers_differ(repo: Path) -> None:
    write(
        repo / "content" / "en" / "early_return.md",
        card_text("Returning early", "Call 1600 0266 (Korea), 24/7."),
    )
    problems = run_checks(repo)
    assert (
        "content/en/early_return.md:1: phone numbers differ from the vi card: only in vi: 1955; only in en: 16000266"
        in (problems)
    )
    assert not any("figures differ" in p for p in problems), "the phone is reported once, as a phone"


def test_check_fails_when_vi_and_en_tag_different_countries(repo: Path) -> None:
    _both(repo, "eps_deposit", "- [KR] Hàn Quốc: 1600 0266.", "- [JP] Korea: 1600 0266.")
    problems = run_checks(repo)
    assert (
        "content/en/eps_deposit.md:1: country lines differ from the vi card: only in vi: KR; only in en: JP"
        in (problems)
    )


def test_check_fails_on_a_card_over_its_length_limit(repo: Path) -> None:
    long_vi, long_en = "Từ ngày 1/7/2025. " + "a" * 1500, "From 1 July 2025. " + "a" * 1500
    _both(repo, "eps_deposit", long_vi, long_en)
    problems = run_checks(repo)
    assert any(
        p.startswith("content/vi/eps_deposit.md:1: body is 15") and "keep it under 1500" in p
        for p in problems
    )


def test_check_fails_on_an_urgent_card_too_long_for_one_country(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.content.checks.URGENT_CARDS", ("eps_deposit",))
    line_vi, line_en = "- [TW] Đài Loan: 1955. " + "x" * 700, "- [TW] Taiwan: 1955. " + "x" * 700
    _both(
        repo, "eps_deposit", f"Gọi ngay:\n{line_vi}\n- [KR] Hàn Quốc.", f"Call now:\n{line_en}\n- [KR] Korea."
    )
    problems = run_checks(repo)
    assert any(
        p.startswith("content/vi/eps_deposit.md:7: the urgent card shown to someone in TW is")
        and "under 650" in p
        for p in problems
    )
    assert not any("someone in KR" in p for p in problems)


def test_check_fails_on_an_english_note_in_a_vietnamese_answer(repo: Path) -> None:
    write(
        repo / "content" / "vi" / "eps_deposit.md", card_text("Ký quỹ EPS", "Từ ngày 1/7/2025 (source: LOW).")
    )
    problems = run_checks(repo)
    assert (
        "content/vi/eps_deposit.md:7: English note 'source' in a Vietnamese answer: write it in Vietnamese "
        "or move it to 'sources'" in problems
    )


# --- render: country lines ---------------------------------------------------------

COUNTRY_BODY = (
    "**Gọi ngay:**\n"
    "- [VN] Việt Nam: cảnh sát **113**.\n"
    "- [KR] Hàn Quốc: cảnh sát **112**.\n"
    "- [SA, AE] Trung Đông: gọi cảnh sát.\n\n"
    "**+84 981 84 84 84**: bảo hộ công dân.\n\n"
    "- [KR] Hàn Quốc: **109**."
)


# Cards with phone numbers end with the date their facts were last checked (last_reviewed).
CHECKED_VI = "Các số điện thoại trong thẻ này được kiểm tra lần cuối ngày 24 thg 11, 2026."


def test_a_card_with_phone_numbers_says_when_they_were_last_checked(repo: Path) -> None:
    write(repo / "content" / "en" / "eps_deposit.md", card_text("Contacts", "Call **+84 981 84 84 84**."))
    write(repo / "content" / "en" / "emergency_help.md", card_text("Urgent", "Call **+84 981 84 84 84**."))
    write(repo / "content" / "en" / "early_return.md", card_text("No phone", "Ask the bank for 2 forms."))
    library = ContentLibrary(repo / "content")
    text = render_card(library.get("eps_deposit", "en"), library)["text"]
    assert text.endswith("\n\nPhone numbers in this card were last checked on Nov 24, 2026.")
    # Not on the urgent card (read in seconds), nor where no number is shown.
    assert "last checked" not in render_card(library.get("emergency_help", "en"), library)["text"]
    assert "last checked" not in render_card(library.get("early_return", "en"), library)["text"]


def test_render_without_country_shows_every_line_in_file_order_untagged(repo: Path) -> None:
    write(repo / "content" / "vi" / "eps_deposit.md", card_text("Khẩn cấp", COUNTRY_BODY))
    library = ContentLibrary(repo / "content")
    text = render_card(library.get("eps_deposit", "vi"), library)["text"]
    assert text.index("Việt Nam") < text.index("Hàn Quốc") < text.index("Trung Đông")
    assert "[VN]" not in text and "[SA, AE]" not in text
    assert "- Việt Nam: cảnh sát **113**." in text


def test_render_with_country_keeps_only_that_countrys_lines(repo: Path) -> None:
    write(repo / "content" / "vi" / "eps_deposit.md", card_text("Khẩn cấp", COUNTRY_BODY))
    library = ContentLibrary(repo / "content")
    text = render_card(library.get("eps_deposit", "vi"), library, "KR")["text"]
    assert text == (
        "**Khẩn cấp**\n\n**Gọi ngay:**\n- Hàn Quốc: cảnh sát **112**.\n\n"
        "**+84 981 84 84 84**: bảo hộ công dân.\n\n- Hàn Quốc: **109**.\n\n" + CHECKED_VI
    )
    me = render_card(library.get("eps_deposit", "vi"), library, "ae")["text"]
    assert "Trung Đông" in me and "113" not in me and "112" not in me and "109" not in me
    assert me.endswith("bảo hộ công dân.\n\n" + CHECKED_VI), "the emptied block leaves no blank lines behind"
    assert "\n\n\n" not in me


def test_render_with_a_country_the_card_has_no_line_for_shows_all(repo: Path) -> None:
    write(repo / "content" / "vi" / "eps_deposit.md", card_text("Khẩn cấp", COUNTRY_BODY))
    library = ContentLibrary(repo / "content")
    text = render_card(library.get("eps_deposit", "vi"), library, "DE")["text"]
    assert all(word in text for word in ("Việt Nam", "Hàn Quốc", "Trung Đông"))


def test_card_reply_passes_the_country_on(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.answers import card_reply

    write(repo / "content" / "vi" / "eps_deposit.md", card_text("Khẩn cấp", COUNTRY_BODY))
    monkeypatch.setenv("CONTENT_DIR", str(repo / "content"))
    monkeypatch.setenv("TOPICS_FILE", str(repo / "topics.yml"))
    assert "113" not in card_reply("eps_deposit", "vi", country="KR")["text"]
    assert "113" in card_reply("eps_deposit", "vi")["text"]


def test_real_urgent_card_puts_the_users_country_first() -> None:
    library = ContentLibrary(REPO_ROOT / "content")
    card = library.get("emergency_help", "vi")
    japan = render_card(card, library, "JP")["text"]
    assert "cảnh sát **110**, cấp cứu **119**" in japan and "0120 279 338" in japan
    assert "113" not in japan and "1577 1366" not in japan and "+84 981 84 84 84" in japan
    home = render_card(card, library)["text"]
    assert home.index("Việt Nam: cảnh sát **113**") < home.index("Hàn Quốc: cảnh sát **112**")


# --- CLI ------------------------------------------------------------------------------


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bot")
    content_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_check_reports_ok_and_problems(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli(["content", "check", "--root", str(repo / "content")]) == 0
    assert "2 topics × 2 languages OK" in capsys.readouterr().out
    (repo / "content" / "en" / "early_return.md").unlink()
    assert _cli(["content", "check", "--root", str(repo / "content")]) == 1
    assert (
        "content/en/early_return.md: missing card for topic 'early_return' in en" in capsys.readouterr().out
    )


# --- the real content ------------------------------------------------------------------


def test_real_content_passes_all_checks() -> None:
    problems = [str(p) for p in check_content(REPO_ROOT / "content")]
    assert problems == [], "\n".join(problems)


# --- the urgent card rendered in-process (bot.nlg) -------------------------------------


def _tracker(country: object, with_slot: bool = True):
    from rasa.shared.core.events import SlotSet, UserUttered
    from rasa.shared.core.slots import AnySlot, TextSlot
    from rasa.shared.core.trackers import DialogueStateTracker

    slots = [TextSlot("language", mappings=[])]
    if with_slot:
        slots.append(AnySlot("country", mappings=[]))
    tracker = DialogueStateTracker.from_events(
        "t", [UserUttered("cứu tôi với, ông chủ đánh tôi")], slots=slots
    )
    if with_slot:
        tracker.update(SlotSet("country", country))
    return tracker


@pytest.mark.parametrize(
    "country, with_slot, present, absent",
    [
        ("JP", True, ["cảnh sát **110**", "0120 279 338", "+84 981 84 84 84"], ["113", "1577 1366"]),
        ("kr", True, ["cảnh sát **112**", "1577 1366"], ["113", "0120 279 338"]),
        (None, True, ["cảnh sát **113**", "cảnh sát **112**", "999"], []),
        (["KR"], True, ["cảnh sát **113**", "cảnh sát **112**"], []),  # a bad value never blocks the card
        (None, False, ["cảnh sát **113**", "+84 981 84 84 84"], []),  # a domain without the slot
    ],
)
def test_urgent_card_in_process_uses_the_country_slot(country, with_slot, present, absent) -> None:
    import asyncio

    from bot.nlg import ContentNLG

    reply = asyncio.run(ContentNLG().generate("utter_emergency_help", _tracker(country, with_slot), "rest"))
    assert reply["text"].startswith("**Cần giúp khẩn cấp**")
    for text in present:
        assert text in reply["text"]
    for text in absent:
        assert text not in reply["text"]


def test_card_index_is_rebuilt_when_a_card_file_changes_and_ignores_hidden_files(repo: Path) -> None:
    from bot.content.search import _signature, card_index

    library = ContentLibrary(repo / "content")
    first = card_index(library)
    assert card_index(library) is first  # unchanged files: the same index
    names = [name for _, name, _, _ in _signature(library)[1]]
    assert names and all(name.endswith(".md") and not name.startswith(".") for name in names)
    write(repo / "content" / "vi" / ".draft.md", "not a card")
    assert card_index(library) is first  # a hidden file is no card (as glob("*.md") chose)
    path = repo / "content" / "vi" / "deposit_refund.md"
    path.write_text(path.read_text(encoding="utf-8") + "\nThêm một dòng.\n", encoding="utf-8")
    assert card_index(library) is not first
