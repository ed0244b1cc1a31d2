"""Dates and amounts of money as people type them in a chat, read or refused.

Why: a letter or a Fund check built on a misread date or amount is worse than none. A
value is read only when it is unambiguous ("15/3/2025", "tháng 3/2025", "5 triệu",
"5tr", "$1,200", "1.200.000 đồng"); a vague one ("tháng trước", "mấy triệu") returns
None and the tool asks again with an example. Nothing here raises on any input.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass

from bot.vietnamese.text import fold

MIN_YEAR = 1990
MAX_AMOUNT = 10**13

_MONTHS_EN = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}


@dataclass(frozen=True)
class Day:
    """A date known to the month (day None) or to the day."""

    year: int
    month: int
    day: int | None = None

    def iso(self) -> str:
        return f"{self.year:04d}-{self.month:02d}" + (f"-{self.day:02d}" if self.day else "")

    @classmethod
    def from_iso(cls, value: str | None) -> Day | None:
        if not value:
            return None
        parts = value.split("-")
        try:
            numbers = [int(p) for p in parts]
        except ValueError:
            return None
        if len(numbers) == 2:
            return cls(numbers[0], numbers[1])
        if len(numbers) == 3:
            return cls(numbers[0], numbers[1], numbers[2])
        return None

    def first_day(self) -> _dt.date:
        return _dt.date(self.year, self.month, self.day or 1)


def _valid(year: int, month: int, day: int | None, today: _dt.date) -> Day | None:
    if year < 100:
        year += 2000
    if not (MIN_YEAR <= year <= today.year and 1 <= month <= 12):
        return None
    if day is not None:
        try:
            value = _dt.date(year, month, day)
        except ValueError:
            return None
        if value > today:
            return None
    elif (year, month) > (today.year, today.month):
        return None
    return Day(year, month, day)


_ISO = re.compile(r"\b(\d{4})-(\d{1,2})(?:-(\d{1,2}))?\b")
_DMY = re.compile(r"\b(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})\b")
_MY = re.compile(r"\b(\d{1,2})[/.\-](\d{4})\b")
_VI_DAY_MONTH_YEAR = re.compile(r"\bngay\s+(\d{1,2})\s+thang\s+(\d{1,2})\s+(?:nam\s+)?(\d{4})\b")
_VI_MONTH_YEAR = re.compile(r"\bthang\s+(\d{1,2})\s*(?:nam|/|-)?\s*(\d{4})\b")
_EN_MONTH = re.compile(r"\b(?:(\d{1,2})\s+)?([a-z]{3,9})\.?\s+(?:(\d{1,2}),?\s+)?(\d{4})\b")


def parse_day(text: str, today: _dt.date | None = None) -> Day | None:
    """A past date to the month or the day, or None when the text gives no clear one.

    "15/3/2025", "2025-03-15", "3/2025", "tháng 3/2025", "thang 3 nam 2025",
    "ngày 15 tháng 3 năm 2025", "March 2025", "15 March 2025". Relative words ("tháng
    trước", "last month") are not guessed: the tool asks for the month and year.
    """
    today = today or _dt.date.today()
    folded = fold(text or "")[:200]
    for pattern, order in (
        (_ISO, "ymd"),
        (_VI_DAY_MONTH_YEAR, "dmy"),
        (_DMY, "dmy"),
        (_VI_MONTH_YEAR, "my"),
        (_MY, "my"),
    ):
        match = pattern.search(folded)
        if not match:
            continue
        groups = [int(g) if g else None for g in match.groups()]
        if order == "ymd":
            year, month, day = groups[0], groups[1], groups[2]
        elif order == "dmy":
            day, month, year = groups[0], groups[1], groups[2]
        else:
            month, year, day = groups[0], groups[1], None
        if year is None or month is None:
            return None
        return _valid(year, month, day, today)
    match = _EN_MONTH.search(folded)
    if match and match.group(2) in _MONTHS_EN:
        day_text = match.group(1) or match.group(3)
        return _valid(
            int(match.group(4)), _MONTHS_EN[match.group(2)], int(day_text) if day_text else None, today
        )
    return None


@dataclass(frozen=True)
class Money:
    amount: float
    currency: str  # ISO 4217


_CURRENCY_WORDS = [
    (r"\$|usd|\bdo\s*la\b|dollars?|\bdo\s*my\b", "USD"),
    (r"krw|won|₩", "KRW"),
    (r"jpy|yen|¥|man\s*yen", "JPY"),
    (r"twd|nt\$?|dai\s*te", "TWD"),
    (r"myr|ringgit|\brm\b", "MYR"),
    (r"vnd|\bdong\b|\bd\b", "VND"),
]
# Multipliers people write after a number (folded): 5tr, 5 triệu, 300k, 2 tỷ, 1 trăm nghìn.
_MULTIPLIERS = [
    (r"ty|ti|ty dong|billion|bn", 10**9),
    (r"trieu|tr|cu|m|million|mil", 10**6),
    (r"nghin|ngan|k|thousand|ng", 10**3),
    (r"van", 10**4),  # "50 vạn" (man-won / man-yen in migrant speech)
]
_AMOUNT = re.compile(
    r"(?P<pre>\$|usd|₩|¥|rm|nt\$)?\s*"
    r"(?P<number>\d+(?:[.,]\d{3})*(?:[.,]\d{1,2})?)\s*"
    r"(?P<mult>ty|ti|trieu|tr|cu|million|mil|m|nghin|ngan|k|van)?(?![a-z])\s*(?P<rest>[^\d]{0,20})"
)


def _number(text: str, multiplier: int) -> float | None:
    """ "1.200.000" / "1,200,000" / "1.200" (thousands) / "1,5" (decimal before a multiplier)."""
    groups = re.split(r"[.,]", text)
    if len(groups) == 1:
        return float(text)
    last = groups[-1]
    if len(groups) == 2 and len(last) != 3:
        return float(f"{groups[0]}.{last}")  # a decimal: "1,5 triệu", "12.50"
    if len(groups) == 2 and multiplier > 1 and len(groups[0]) <= 3 and text.count(",") + text.count(".") == 1:
        # "1,500 triệu" is ambiguous (1.5 or 1500 million): refused.
        return None
    if all(len(g) == 3 for g in groups[1:]):
        return float("".join(groups))
    return None


def parse_money(text: str, default_currency: str = "VND") -> Money | None:
    """An amount with its currency, or None when the text gives no clear one.

    "5 triệu", "5tr", "5.000.000 đồng", "300k", "$1,200", "1200 USD", "2 triệu won",
    "1,5 triệu". A bare number with no multiplier and no currency is read as
    `default_currency` only when it is at least 1000 (so "5" is asked again).
    """
    folded = fold(text or "")[:200].replace("₫", " vnd ")
    match = _AMOUNT.search(folded)
    if not match:
        return None
    mult_word = match.group("mult") or ""
    multiplier = 1
    for pattern, value in _MULTIPLIERS:
        if re.fullmatch(pattern, mult_word):
            multiplier = value
            break
    number = _number(match.group("number"), multiplier)
    if number is None:
        return None
    amount = number * multiplier
    context = f"{match.group('pre') or ''} {match.group('rest') or ''}"
    currency = None
    for pattern, code in _CURRENCY_WORDS:
        if re.search(pattern, context):
            currency = code
            break
    if currency is None:
        if multiplier == 1 and amount < 1000:
            return None
        currency = default_currency
    if amount <= 0 or amount > MAX_AMOUNT:
        return None
    return Money(amount, currency)
