"""Masking before anything is stored, and the grouping key: each kind of personal data in
Vietnamese and English, and the ordinary numbers that must stay (durations, amounts,
dates, visa types), since staff need them to understand the question."""

from __future__ import annotations

import pytest

from bot.feedback import group_key, mask


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # phones: Vietnamese mobiles, international, Korean, with and without separators
        ("số em 0912 345 678 gọi lại nhé", "số em [phone] gọi lại nhé"),
        ("so em 0912345678", "so em [phone]"),
        ("call me on +82 10-1234-5678 please", "call me on [phone] please"),
        ("zalo của em +84 981 84 84 84", "zalo của em [phone]"),
        ("my phone is 010.1234.5678", "my phone is [phone]"),
        # e-mail addresses
        ("email toi la nguyen.van.a@gmail.com", "email toi la [email]"),
        ("write to me at worker_01@example.org.", "write to me at [email]."),
        # passport / ID-like numbers
        ("hộ chiếu C1234567 bị chủ giữ", "hộ chiếu [id] bị chủ giữ"),
        ("my passport number is N2345678", "my passport number is [id]"),
        ("cccd 001203004567 cua em", "cccd [id] cua em"),
        ("so cmnd 123456789", "so cmnd [id]"),
        ("ARC 900101-5123456 expired", "ARC [id] expired"),
        # names the user gave
        ("tôi tên là Nguyễn Văn An, ở Hà Tĩnh", "tôi tên là [name], ở Hà Tĩnh"),
        ("toi ten la nguyen van an va toi o han", "toi ten la [name] va toi o han"),
        ("tên em là Lan, em cần hỏi", "tên em là [name], em cần hỏi"),
        ("em là Hoa, em ở Nghệ An", "em là [name], em ở Nghệ An"),
        ("my name is John Smith and I work in Korea", "my name is [name] and I work in Korea"),
        ("I'm Mai from Ha Tinh", "I'm [name] from Ha Tinh"),
    ],
)
def test_personal_data_is_replaced_by_placeholders(text, expected):
    assert mask(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "em đi 3 tháng rồi, thanh lý trong 180 ngày",
        "ky quy 50.000.000 dong, nam 2026",
        "lương 1,500,000 won một tháng",
        "ngày 30-11-2026 em về nước",
        "visa E9 hết hạn, lương 16tr",
        "em là lao động ở Hàn",
        "em là Người lao động",
        "I am in Korea for 3 years",
        "tôi tên gì cũng được",
        "số điện thoại đại sứ quán",
    ],
)
def test_ordinary_numbers_and_words_are_not_masked(text):
    assert mask(text) == text


def test_the_key_folds_diacritics_case_and_punctuation():
    assert group_key(mask("Tiền ký quỹ?")) == group_key(mask("tien ky quy")) == "tien ky quy"
    assert group_key(mask("Số em 0912 345 678!")) == group_key(mask("so em 0987654321")) == "so em [phone]"


def test_empty_text_gives_an_empty_key():
    assert group_key(mask("  ?! ")) == ""
