"""Fixed UI strings (menus, buttons, errors) in Vietnamese and English, from Babel catalogs.

Catalogs are gettext `.po` files under `bot/i18n/locale/<lang>/LC_MESSAGES/<domain>.po`,
read with Babel at first use (no compile step, so a translator's edit needs only a restart).
Each part of the bot keeps its own domain so that editors do not collide:
`messages` (dialogue), `conversation` (the router), `directory` (look-ups), `channels`
(platform replies).
msgids are the English text; the `en` catalog only overrides wording when needed.
Also here: locale-aware dates and numbers for answers.
"""

from __future__ import annotations

import datetime as _dt
from functools import cache
from pathlib import Path

from babel.dates import format_date as _babel_format_date
from babel.messages.pofile import read_po
from babel.numbers import format_decimal as _babel_format_decimal

SUPPORTED_LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
LOCALE_DIR = Path(__file__).parent / "locale"


def supported(lang: str | None) -> str:
    """The supported language for a locale tag ("vi-VN" -> "vi", "en_US" -> "en", else vi)."""
    tag = (lang or "").replace("_", "-").split("-")[0].lower()
    return tag if tag in SUPPORTED_LANGUAGES else DEFAULT_LANGUAGE


@cache
def _catalog(lang: str, domain: str) -> dict[str, str]:
    path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{domain}.po"
    if not path.exists():
        return {}
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=lang, domain=domain)
    return {str(m.id): str(m.string) for m in catalog if m.id and m.string and not m.fuzzy}


def gettext(lang: str | None, msgid: str, domain: str = "messages", **params: object) -> str:
    """The translation of `msgid` in `lang`, with `{name}` placeholders filled from params."""
    text = _catalog(supported(lang), domain).get(msgid, msgid)
    return text.format(**params) if params else text


def format_date(value: _dt.date, lang: str | None, style: str = "medium") -> str:
    """A date as people of that language write it: "24 thg 11, 2026" / "24 Nov 2026"
    (`style="long"`: "24 tháng 11, 2026" / "November 24, 2026", for letters)."""
    return _babel_format_date(value, format=style, locale=supported(lang))


def format_number(value: float, lang: str | None) -> str:
    """A number with the language's separators: 1.000.000 (vi) / 1,000,000 (en)."""
    return _babel_format_decimal(value, locale=supported(lang))


# --- fundletter: month-precise dates and money for the guided tools (bot/tools) -----------


def format_month(year: int, month: int, lang: str | None) -> str:
    """A month as people of that language write it: "tháng 3 năm 2025" / "March 2025"."""
    from babel.dates import format_skeleton

    return format_skeleton("yMMMM", _dt.date(year, month, 1), locale=supported(lang))


def format_money(amount: float, currency: str, lang: str | None) -> str:
    """An amount with its currency as the language writes it: "5.000.000 ₫" / "₫5,000,000"."""
    from babel.numbers import format_currency

    return format_currency(amount, currency, locale=supported(lang))
