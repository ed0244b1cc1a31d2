"""The text normaliser, diacritic folding and language detection."""

import pytest

from bot.language import choose_language, detect_language
from bot.vietnamese.text import fold, has_vietnamese_diacritics, normalize


def test_normalize_composes_lowercases_and_collapses_spaces():
    decomposed = "Tie\u0302\u0300n  KY\u0301 quy\u0303"
    assert normalize(decomposed) == "tiền ký quỹ"


def test_normalize_unifies_lookalike_d():
    assert normalize("Ðà Nẵng") == "đà nẵng"


@pytest.mark.parametrize(
    "text, folded",
    [
        ("Hàn Quốc", "han quoc"),
        ("Đà Nẵng", "da nang"),
        ("tiền ký quỹ", "tien ky quy"),
        ("Hello", "hello"),
        ("퇴직금 bảo hiểm", "퇴직금 bao hiem"),
        ("脱退一時金", "脱退一時金"),
    ],
)
def test_fold_removes_diacritics(text, folded):
    assert fold(text) == folded


def test_fold_keeps_offsets():
    text = "Em ở Quảng Bình muốn về"
    assert len(fold(text)) == len(text)
    start = fold(text).index("quang binh")
    assert text[start : start + len("quang binh")] == "Quảng Bình"


def test_diacritics_detection():
    assert has_vietnamese_diacritics("lương")
    assert not has_vietnamese_diacritics("luong thang nay")


@pytest.mark.parametrize(
    "text, lang",
    [
        ("làm sao lấy lại tiền ký quỹ", "vi"),
        ("lam sao lay lai tien ky quy", "vi"),
        ("e muon hoi ve bhxh 1 lan", "vi"),
        ("How do I get my deposit back?", "en"),
        ("embassy phone number in Korea please", "en"),
        ("hello", "en"),
    ],
)
def test_detect_language(text, lang):
    assert detect_language(text) == lang


def test_choose_language_prefers_slot_then_locale_then_text():
    assert choose_language("en", {"locale": "vi-VN"}, "xin chào") == "en"
    assert choose_language(None, {"locale": "en_US"}, "xin chào") == "en"
    assert choose_language(None, None, "How are you") == "en"
    assert choose_language(None, {}, "xin chào") == "vi"
    assert choose_language(None, None, '/show_card{"card": "korea_return_cost"}') == "vi"
