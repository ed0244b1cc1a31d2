"""UI strings: every string the code shows has a Vietnamese translation."""

import ast
import datetime
from pathlib import Path

import pytest

from bot.i18n import _catalog, format_date, format_number, gettext, supported

ROOT = Path(__file__).resolve().parent.parent


# Wrappers around gettext with a fixed catalog domain: name -> domain.
WRAPPERS = {"t": "channels", "_": "directory"}


def _string_constants(tree: ast.Module) -> dict[str, object]:
    """Module-level NAME = "literal" (or a dict of literals) assignments."""
    constants: dict[str, object] = {}
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            value = node.value
            for target in targets:
                if isinstance(target, ast.Name) and value is not None:
                    try:
                        constants[target.id] = ast.literal_eval(value)
                    except ValueError:
                        pass
    return constants


def _msgids_used_in_code():
    """(domain, msgid) of every string shown through gettext or a wrapper (`t`, `_`) in bot/
    and actions/: literal msgids, module constants holding one, and `.items()` loops over a
    constant dict of msgids (the Telegram command menu)."""
    found = set()
    for path in list((ROOT / "bot").rglob("*.py")) + list((ROOT / "actions").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = _string_constants(tree)
        where = str(path.relative_to(ROOT))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            if name != "gettext" and name not in WRAPPERS or len(node.args) < 2:
                continue
            domain = WRAPPERS.get(name, "messages")
            for keyword in node.keywords:
                if keyword.arg == "domain" and isinstance(keyword.value, ast.Constant):
                    domain = keyword.value.value
            msgid = node.args[1]
            if isinstance(msgid, ast.Constant) and isinstance(msgid.value, str):
                found.add((domain, msgid.value, where))
            elif isinstance(msgid, ast.Name) and isinstance(constants.get(msgid.id), str):
                found.add((domain, constants[msgid.id], where))
    # Imported constants: the channels' fixed replies and command menu.
    from bot.channels import base, commands

    for value in (
        base.TEXT_ONLY,
        base.ERROR_REPLY,
        base.EXPIRED_BUTTON,
        base.CHOOSE_OPTION,
        base.MORE_OPTIONS,
    ):
        found.add(("channels", value, "bot/channels/base.py"))
    for value in commands.COMMAND_DESCRIPTIONS.values():
        found.add(("channels", value, "bot/channels/commands.py"))
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


def _staff_msgids() -> list[str]:
    """Every msgid the staff console shows: `_("...")` in its templates, the fixed messages
    of bot/staff/app.py (notices, labels, refusals) and the account errors it displays."""
    import re

    from bot.staff import app

    found: set[str] = set()
    for template in (ROOT / "bot" / "staff" / "templates").glob("*.html"):
        found.update(re.findall(r'_\(\s*"((?:[^"\\]|\\.)*)"', template.read_text(encoding="utf-8")))
    for table in (
        app.NOTICES,
        app.OUTCOME_LABELS,
        app.CHANNEL_LABELS,
        app.ROLE_LABELS,
        app.QUEUE_STATUS_LABELS,
    ):
        found.update(table.values())
    found.update((*app.REFUSALS, app.NO_HANDOFF, app.NO_FEEDBACK))
    for name in ("app.py", "accounts.py"):
        tree = ast.parse((ROOT / "bot" / "staff" / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            called = getattr(node.func, "id", getattr(node.func, "attr", None))
            values = list(node.args) if called in ("AccountError", "_unavailable") else []
            values += [k.value for k in node.keywords if k.arg in ("error", "message", "failed")]
            for value in values:
                parts = value.values if isinstance(value, ast.BoolOp) else [value]
                found.update(
                    p.value for p in parts if isinstance(p, ast.Constant) and isinstance(p.value, str)
                )
    return sorted(found)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_staff_console_string_is_in_both_catalogs(lang):
    msgids = _staff_msgids()
    assert len(msgids) > 100  # the collection above found the console's strings
    missing = [msgid for msgid in msgids if msgid not in _catalog(lang, "staff")]
    assert missing == [], f"missing from {lang}/staff.po"
