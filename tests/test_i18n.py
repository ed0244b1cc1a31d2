"""UI strings: every string the code shows has a Vietnamese translation."""

import ast
import datetime
from pathlib import Path

import pytest

from bot.i18n import _catalog, format_date, format_number, gettext, supported

ROOT = Path(__file__).resolve().parent.parent


def _msgids_used_in_code():
    """(domain, msgid) of every gettext(lang, "literal", ...) call in bot/ and actions/."""
    found = set()
    for path in list((ROOT / "bot").rglob("*.py")) + list((ROOT / "actions").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", None)) == "gettext"
            ):
                continue
            if (
                len(node.args) < 2
                or not isinstance(node.args[1], ast.Constant)
                or not isinstance(node.args[1].value, str)
            ):
                continue
            domain = "messages"
            for keyword in node.keywords:
                if keyword.arg == "domain" and isinstance(keyword.value, ast.Constant):
                    domain = keyword.value.value
            found.add((domain, node.args[1].value, str(path.relative_to(ROOT))))
    return sorted(found)


@pytest.mark.parametrize("domain, msgid, where", _msgids_used_in_code())
def test_every_ui_string_has_a_vietnamese_translation(domain, msgid, where):
    assert msgid in _catalog("vi", domain), f"{where}: {msgid!r} missing from vi/{domain}.po"


def test_gettext_translates_and_falls_back_to_english():
    assert gettext("vi", "Main menu") == "Menu chính"
    assert gettext("en", "Main menu") == "Main menu"
    assert gettext("vi-VN", "Main menu") == "Menu chính"
    assert gettext("vi", "A string nobody translated") == "A string nobody translated"


def test_locale_tags_map_to_supported_languages():
    assert supported("en_US") == "en"
    assert supported("vi") == "vi"
    assert supported("ko") == "vi"
    assert supported(None) == "vi"


def test_dates_and_numbers_follow_the_language():
    day = datetime.date(2026, 11, 24)
    assert format_date(day, "vi") == "24 thg 11, 2026"
    assert format_date(day, "en") == "Nov 24, 2026"
    assert format_number(1000000, "vi") == "1.000.000"
    assert format_number(1000000, "en") == "1,000,000"
