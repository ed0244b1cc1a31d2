"""When NGO staff answer handoffs (HANDOFF_HOURS), and when they next will.

A user who asks for a person is told the truth: a person will answer now, or from a given
day and time. The hours are weekly ranges in the NGO's time zone (HANDOFF_TIMEZONE):
`always`, or ranges separated by commas, each `DAYS HH:MM-HH:MM` where DAYS is one day
(`sat`) or a span (`mon-fri`): `mon-fri 08:00-12:00, mon-fri 13:30-17:00, sat 08:00-11:00`.
A bad value is a settings error that quotes the part that is wrong.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^([a-z]{3})(?:-([a-z]{3}))?\s+(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


@dataclass(frozen=True)
class Span:
    """Open on these weekdays (0 = Monday) from `start` until `end` (local time)."""

    weekdays: frozenset[int]
    start: _dt.time
    end: _dt.time


@dataclass(frozen=True)
class StaffHours:
    """The weekly hours; `always` has no spans."""

    always: bool
    spans: tuple[Span, ...] = ()

    def is_open(self, local: _dt.datetime) -> bool:
        if self.always:
            return True
        return any(
            local.weekday() in span.weekdays and span.start <= local.time() < span.end for span in self.spans
        )

    def closes_at(self, local: _dt.datetime) -> _dt.time | None:
        """The end of the span `local` falls in (None when always open or closed now)."""
        for span in self.spans:
            if local.weekday() in span.weekdays and span.start <= local.time() < span.end:
                return span.end
        return None

    def next_opening(self, local: _dt.datetime) -> _dt.datetime:
        """The first opening at or after `local` (same time zone); `local` itself when open."""
        if self.is_open(local):
            return local
        candidates = []
        for offset in range(8):
            day = local.date() + _dt.timedelta(days=offset)
            for span in self.spans:
                if day.weekday() in span.weekdays:
                    start = _dt.datetime.combine(day, span.start, tzinfo=local.tzinfo)
                    if start >= local:
                        candidates.append(start)
        return min(candidates)


def _minutes(hours: str, minutes: str, part: str) -> _dt.time:
    h, m = int(hours), int(minutes)
    if h == 24 and m == 0:
        return _dt.time.max
    if not (0 <= h < 24 and 0 <= m < 60):
        raise ValueError(f"{part!r} has an impossible time")
    return _dt.time(h, m)


def parse_hours(spec: str) -> StaffHours:
    """`always` or `DAYS HH:MM-HH:MM[, ...]`; ValueError naming the bad part otherwise."""
    text = (spec or "").strip().lower()
    if text == "always":
        return StaffHours(True)
    if not text:
        raise ValueError("must be `always` or ranges such as `mon-fri 08:00-17:00`")
    spans = []
    for part in (p.strip() for p in re.split(r"[,;]", text)):
        match = _RANGE.match(part)
        if not match or match.group(1) not in DAYS or (match.group(2) and match.group(2) not in DAYS):
            raise ValueError(f"{part!r} is not a range like `mon-fri 08:00-17:00` (days: {', '.join(DAYS)})")
        first = DAYS.index(match.group(1))
        last = DAYS.index(match.group(2)) if match.group(2) else first
        weekdays = frozenset(d % 7 for d in range(first, last + 1 if last >= first else last + 8))
        start = _minutes(match.group(3), match.group(4), part)
        end = _minutes(match.group(5), match.group(6), part)
        if end <= start:
            raise ValueError(f"{part!r} ends before it starts")
        spans.append(Span(weekdays, start, end))
    return StaffHours(False, tuple(spans))


def local_time(now: _dt.datetime, timezone: str) -> _dt.datetime:
    """`now` (aware) in the staff's time zone."""
    return now.astimezone(ZoneInfo(timezone))
