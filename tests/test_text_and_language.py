"""The text normaliser, diacritic folding and language detection."""

import pytest

from bot.language import choose_language, detect_language, message_language
from bot.vietnamese.text import MAX_MESSAGE_CHARS, fold, has_vietnamese_diacritics, normalize


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


def test_choose_language_without_a_clear_message_uses_slot_then_locale_then_a_guess():
    assert choose_language("en", {"locale": "vi-VN"}, "ok") == "en"
    assert choose_language(None, {"locale": "en_US"}, "ok") == "en"
    assert choose_language(None, None, "How are you") == "en"
    assert choose_language(None, {}, "xin chào") == "vi"
    assert choose_language(None, None, '/show_card{"card": "korea_return_cost"}') == "vi"


# --- the language is decided per message ------------------------------------------------


def test_opening_with_hi_does_not_lock_english():
    first = choose_language(None, None, "hi")
    assert choose_language(first, None, "cho em hoi ve tien ky quy") == "vi"
    assert choose_language(first, None, "làm sao lấy lại tiền ký quỹ") == "vi"


@pytest.mark.parametrize(
    "text, lang",
    [
        ("e ko biet tieng anh", "vi"),
        ("em không biết tiếng Anh", "vi"),
        ("tieng anh cua em kem lam", "vi"),
        ("I can't read Vietnamese", "en"),
        ("I don't understand tiếng Việt, please answer in English", "en"),
    ],
)
def test_a_message_about_a_language_is_in_its_own_language(text, lang):
    other = "en" if lang == "vi" else "vi"
    assert choose_language(other, None, text) == lang


def test_an_english_question_in_a_vietnamese_locale_chat_is_answered_in_english():
    assert choose_language(None, {"locale": "vi"}, "How do I get my deposit back?") == "en"
    assert choose_language("vi", {"locale": "vi"}, "where is the embassy in Hà Nội?") == "en"


@pytest.mark.parametrize(
    "text",
    [
        "ok",
        "hi",
        "Hi!",
        "thanks",
        "thank you",
        "3",
        "12/2025",
        "Hàn Quốc",
        "han quoc",
        "Busan",
        "Nghệ An",
        '/choose_country{"country": "KR"}',
        "",
        "👍",
        "ừ",
    ],
)
def test_short_or_ambiguous_messages_keep_the_conversation_language(text):
    assert choose_language("vi", None, text) == "vi"
    assert choose_language("en", None, text) == "en"
    assert choose_language("en", {"locale": "vi"}, text) == "en"


@pytest.mark.parametrize(
    "text, lang",
    [
        ("cảm ơn bạn", "vi"),
        ("lam sao lay lai tien ky quy", "vi"),
        ("cty ko tra luong e phai lam sao", "vi"),
        ("good morning, how are you", "en"),
        ("What's the weather tomorrow?", "en"),
        ("where is the vietnam consulate in dubai?", "en"),
        ("can you change the language", "en"),
        ("embassy in Hà Nội phone number", "en"),
    ],
)
def test_a_clear_message_decides_over_the_slot_and_the_locale(text, lang):
    other = "en" if lang == "vi" else "vi"
    assert message_language(text) == lang
    assert choose_language(other, {"locale": other}, text) == lang


def test_ties_are_broken_by_the_model_trained_on_the_training_examples():
    # No word of either lexicon: the in-domain naive Bayes decides, or leaves it open.
    assert message_language("overtime salary calculation method") == "en"
    assert message_language("thu tuc gia han visa lao dong") == "vi"


def test_only_the_first_max_message_chars_are_read_for_the_language():
    text = "ok " * (MAX_MESSAGE_CHARS // 3 + 1) + "How do I get my deposit back?"
    assert message_language(text) is None
