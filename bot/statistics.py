"""Usage statistics for NGO staff that cannot identify anyone (issue 12, "Statistics").

Why this shape: staff need to see where the assistant is used and where it fails (by week,
channel, language, topic, host country, province), but a statistics table must never become
a second copy of the conversations. So:

- one row per (week, conversation key, channel, language, topic, country, province,
  answered) with a turn count; no text, no pseudonym, no platform id, no time finer than a
  week, no row id;
- the conversation key is HMAC-SHA256(salt of the week, pseudonym), truncated. The salt is
  random, kept only while its week runs (every replica reads it from the database), and
  deleted when the week ends; the week's keyed rows are then rolled up into per-value
  counts (`stats_weekly`) and deleted. Once a week has ended nothing links its numbers to a
  conversation, not even for someone holding the database and the tracker store;
- "forget me" deletes the current week's rows of that conversation (its key can still be
  computed while the salt exists); older weeks hold only counts;
- every cell counted from fewer than `bot.anonymity.MIN_CELL` conversations is hidden when
  shown or exported (the one rule shared with the returnee-profile dashboard), and when a
  breakdown hides exactly one cell, the next smallest is hidden too, so that it cannot be
  worked out from the total.

Turns are recorded from one place, the tracker store's save (`bot.tracker_store`), which
sees every turn's events wherever its cards were rendered. Plain Python over SQLAlchemy
Core, so the console, the command line and tests call the same functions.
"""

from __future__ import annotations

import csv
import datetime as _dt
import hashlib
import hmac
import io
import secrets
import statistics as _stats
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from bot.anonymity import MIN_CELL, suppress, visible
from bot.db import ensure_schema, handoff_messages, handoffs, stats_turns, stats_week_salts, stats_weekly

DIMENSIONS = ("channel", "lang", "topic", "country", "province")
TOTAL = "all"  # the dimension of a week's totals
KEY_CHARS = 32


def week_of(moment: _dt.datetime | _dt.date) -> _dt.date:
    """The Monday (UTC) of the week `moment` falls in."""
    if isinstance(moment, _dt.datetime):
        if moment.tzinfo is not None:
            moment = moment.astimezone(_dt.timezone.utc)
        moment = moment.date()
    return moment - _dt.timedelta(days=moment.weekday())


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


@dataclass(frozen=True)
class TurnFacts:
    """What is counted of one user message: where it came from and whether it was answered."""

    channel: str
    lang: str
    topic: str | None
    country: str | None
    province: str | None
    answered: bool

    def cells(self) -> dict[str, Any]:
        return {
            "channel": (self.channel or "unknown")[:20],
            "lang": (self.lang or "")[:5],
            "topic": (self.topic or "")[:80],
            "country": (self.country or "")[:2].upper(),
            "province": (self.province or "")[:80],
            "answered": bool(self.answered),
        }


# --- recording ------------------------------------------------------------------------------


def conversation_key(salt: str, sender_id: str) -> str:
    """The week's key of a conversation: unlinkable once the salt is deleted."""
    return hmac.new(salt.encode(), sender_id.encode("utf-8"), hashlib.sha256).hexdigest()[:KEY_CHARS]


def _week_salt(conn: Connection, week: _dt.date, create: bool) -> str | None:
    salt = conn.execute(sa.select(stats_week_salts.c.salt).where(stats_week_salts.c.week == week)).scalar()
    if salt is not None or not create:
        return salt
    try:
        with conn.begin_nested():
            conn.execute(sa.insert(stats_week_salts).values(week=week, salt=secrets.token_hex(32)))
    except IntegrityError:  # another replica created it first
        pass
    return conn.execute(
        sa.select(stats_week_salts.c.salt).where(stats_week_salts.c.week == week)
    ).scalar_one()


def record_turns(
    engine: Engine, sender_id: str, turns: Sequence[TurnFacts], now: _dt.datetime | None = None
) -> int:
    """Count the turns of one conversation; returns how many were counted."""
    return record_many_turns(engine, [(sender_id, turns)], now)


def record_many_turns(
    engine: Engine, batch: Sequence[tuple[str, Sequence[TurnFacts]]], now: _dt.datetime | None = None
) -> int:
    """Count the turns of several conversations in one transaction (the Rasa server's
    statistics thread hands over what queued up meanwhile: one commit, so one wait for the
    disk, per batch instead of per turn); returns how many were counted."""
    batch = [(sender_id, turns) for sender_id, turns in batch if turns]
    if not batch:
        return 0
    ensure_schema(engine)
    now = now or _now()
    week = week_of(now)
    with engine.begin() as conn:
        ended = conn.execute(
            sa.select(sa.func.count()).select_from(stats_week_salts).where(stats_week_salts.c.week < week)
        ).scalar_one()
        if ended:  # the first turn of a new week finishes the weeks before it
            _roll_up(conn, week)
        salt = _week_salt(conn, week, create=True) or ""
        # Turns that fall in the same cell (a conversation's turns on one topic, mostly)
        # are added in one statement.
        counts: dict[tuple[tuple[str, Any], ...], int] = {}
        for sender_id, turns in batch:
            key = conversation_key(salt, sender_id)
            for facts in turns:
                cell = tuple({"week": week, "conversation": key, **facts.cells()}.items())
                counts[cell] = counts.get(cell, 0) + 1
        for cell, number in counts.items():
            _count(conn, dict(cell), number)
    return sum(len(turns) for _, turns in batch)


def _count(conn: Connection, cells: dict[str, Any], number: int) -> None:
    """Add `number` turns to a cell of the statistics."""
    where = sa.and_(*(stats_turns.c[name] == value for name, value in cells.items()))
    more = sa.update(stats_turns).where(where).values(turns=stats_turns.c.turns + number)
    if not conn.execute(more).rowcount:
        try:
            with conn.begin_nested():
                conn.execute(sa.insert(stats_turns).values(**cells, turns=number))
        except IntegrityError:  # the same cell inserted at once by another replica
            conn.execute(more)


def _aggregate(conn: Connection, week: _dt.date) -> list[dict[str, Any]]:
    """The keyed rows of `week` as per-value counts (what `stats_weekly` keeps)."""
    unanswered = sa.func.sum(sa.case((stats_turns.c.answered == sa.false(), stats_turns.c.turns), else_=0))
    counts = (
        sa.func.count(sa.distinct(stats_turns.c.conversation)),
        sa.func.sum(stats_turns.c.turns),
        unanswered,
    )
    rows: list[dict[str, Any]] = []
    total = conn.execute(sa.select(*counts).where(stats_turns.c.week == week)).one()
    if total[0]:
        rows.append(_weekly_row(week, TOTAL, "", total))
    for dimension in DIMENSIONS:
        column = stats_turns.c[dimension]
        for value, *numbers in conn.execute(
            sa.select(column, *counts).where(stats_turns.c.week == week).group_by(column)
        ):
            rows.append(_weekly_row(week, dimension, value, numbers))
    return rows


def _weekly_row(week: _dt.date, dimension: str, value: str, numbers: Sequence[Any]) -> dict[str, Any]:
    return {
        "week": week,
        "dimension": dimension,
        "value": value or "",
        "conversations": int(numbers[0] or 0),
        "turns": int(numbers[1] or 0),
        "unanswered": int(numbers[2] or 0),
    }


def _roll_up(conn: Connection, current_week: _dt.date) -> int:
    """Turn every week before `current_week` into counts, and delete its keys and salt."""
    weeks = [
        w
        for (w,) in conn.execute(
            sa.select(stats_turns.c.week).where(stats_turns.c.week < current_week).distinct()
        )
    ]
    for week in weeks:
        rows = _aggregate(conn, week)
        conn.execute(sa.delete(stats_weekly).where(stats_weekly.c.week == week))
        if rows:
            conn.execute(sa.insert(stats_weekly), rows)
        conn.execute(sa.delete(stats_turns).where(stats_turns.c.week == week))
    conn.execute(sa.delete(stats_week_salts).where(stats_week_salts.c.week < current_week))
    return len(weeks)


def roll_up(engine: Engine, now: _dt.datetime | None = None) -> int:
    """Finish every week that has ended (run daily by the purge job); weeks rolled up."""
    ensure_schema(engine)
    with engine.begin() as conn:
        return _roll_up(conn, week_of(now or _now()))


def forget(engine: Engine, sender_id: str) -> int:
    """Delete the current week's rows of a conversation ("forget me"); past weeks hold
    only counts that no key links to anyone."""
    ensure_schema(engine)
    with engine.begin() as conn:
        deleted = 0
        for week, salt in conn.execute(sa.select(stats_week_salts.c.week, stats_week_salts.c.salt)).all():
            key = conversation_key(salt, sender_id)
            deleted += conn.execute(
                sa.delete(stats_turns).where(stats_turns.c.week == week, stats_turns.c.conversation == key)
            ).rowcount
        return deleted


def purge(engine: Engine, now: _dt.datetime, retention_days: int) -> int:
    """The daily job's part: roll up ended weeks (their keys and salts go). The counts
    themselves identify nobody and are kept (see docs/security.md)."""
    return roll_up(engine, now)


# --- reading, with small cells hidden --------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One value of a breakdown in one week; the numbers are None when hidden."""

    value: str
    conversations: int | None
    turns: int | None
    unanswered: int | None

    @property
    def hidden(self) -> bool:
        return self.conversations is None

    @property
    def unanswered_rate(self) -> float | None:
        if self.turns is None or self.unanswered is None or not self.turns:
            return None
        return self.unanswered / self.turns


def _cell(row: dict[str, Any], show: bool) -> Cell:
    if not show:
        return Cell(row["value"], None, None, None)
    return Cell(row["value"], row["conversations"], row["turns"], row["unanswered"])


def _suppress(rows: list[dict[str, Any]], total_visible: bool) -> list[Cell]:
    """Small cells hidden, and the complementary one when the week's total is shown
    (`bot.anonymity.suppress`: it could be worked out from the total otherwise)."""
    kept = suppress({i: r["conversations"] for i, r in enumerate(rows)}, total_shown=total_visible)
    return [_cell(r, kept[i] is not None) for i, r in enumerate(rows)]


def weekly_rows(engine: Engine, now: _dt.datetime | None = None) -> list[dict[str, Any]]:
    """Every week's counts, unsuppressed: the rolled-up weeks and the current one (live)."""
    ensure_schema(engine)
    current = week_of(now or _now())
    with engine.begin() as conn:
        _roll_up(conn, current)
        rows = [dict(r) for r in conn.execute(sa.select(stats_weekly)).mappings()]
        rows += _aggregate(conn, current)
    return sorted(rows, key=lambda r: (r["week"], r["dimension"], r["value"]))


@dataclass
class WeekStats:
    week: _dt.date
    total: Cell
    breakdowns: dict[str, list[Cell]] = field(default_factory=dict)


def by_week(rows: Iterable[dict[str, Any]]) -> list[WeekStats]:
    """The rows grouped per week, each breakdown suppressed; newest week first."""
    grouped: dict[_dt.date, dict[str, list[dict[str, Any]]]] = {}
    for row in rows:
        grouped.setdefault(row["week"], {}).setdefault(row["dimension"], []).append(row)
    weeks = []
    for week, dims in sorted(grouped.items(), reverse=True):
        total_rows = dims.get(TOTAL) or [{"value": "", "conversations": 0, "turns": 0, "unanswered": 0}]
        total = _cell(total_rows[0], visible(total_rows[0]["conversations"]))
        stats = WeekStats(week, total)
        for dimension in DIMENSIONS:
            cells = sorted(dims.get(dimension, []), key=lambda r: (-r["conversations"], r["value"]))
            stats.breakdowns[dimension] = _suppress(cells, not total.hidden)
        weeks.append(stats)
    return weeks


def export_csv(weeks: Sequence[WeekStats]) -> str:
    """week, dimension, value, conversations, messages, unanswered (hidden cells empty)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["week", "dimension", "value", "conversations", "messages", "unanswered"])
    for stats in sorted(weeks, key=lambda w: w.week):
        for dimension, cells in ((TOTAL, [stats.total]), *stats.breakdowns.items()):
            for cell in cells:
                writer.writerow(
                    [
                        stats.week.isoformat(),
                        dimension,
                        cell.value,
                        *("" if n is None else n for n in (cell.conversations, cell.turns, cell.unanswered)),
                    ]
                )
    return out.getvalue()


# --- votes and handoffs ---------------------------------------------------------------------


@dataclass(frozen=True)
class VoteRow:
    topic: str
    up: int | None
    down: int | None


def votes(votes_by_topic: dict[str, tuple[int, int]]) -> list[VoteRow]:
    """👍/👎 per card; a card with fewer than MIN_CELL votes shows neither number."""
    rows = []
    for topic, (up, down) in sorted(votes_by_topic.items(), key=lambda item: -sum(item[1])):
        show = visible(up + down)
        rows.append(VoteRow(topic, up if show else None, down if show else None))
    return rows


@dataclass(frozen=True)
class HandoffWeek:
    week: _dt.date
    volume: int | None
    median_minutes_to_reply: float | None
    outcomes: dict[str, int | None]


def handoff_stats(engine: Engine, outcomes: Sequence[str]) -> list[HandoffWeek]:
    """Handoffs per week: how many, the median minutes to the first staff reply, and how
    they ended; a week with fewer than MIN_CELL handoffs shows nothing, an outcome or a
    reply time counted from fewer than MIN_CELL handoffs is hidden."""
    ensure_schema(engine)
    first_reply = (
        sa.select(handoff_messages.c.handoff_id, sa.func.min(handoff_messages.c.created_at).label("at"))
        .where(handoff_messages.c.author == "staff")
        .group_by(handoff_messages.c.handoff_id)
        .subquery()
    )
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(handoffs.c.created_at, handoffs.c.outcome, first_reply.c.at).select_from(
                handoffs.outerjoin(first_reply, first_reply.c.handoff_id == handoffs.c.id)
            )
        ).all()
    grouped: dict[_dt.date, list[Any]] = {}
    for row in rows:
        grouped.setdefault(week_of(row.created_at), []).append(row)
    weeks = []
    for week, items in sorted(grouped.items(), reverse=True):
        if not visible(len(items)):
            weeks.append(HandoffWeek(week, None, None, {o: None for o in outcomes}))
            continue
        waits = [(r.at - r.created_at).total_seconds() / 60 for r in items if r.at is not None]
        counted = {o: sum(1 for r in items if r.outcome == o) for o in outcomes}
        weeks.append(
            HandoffWeek(
                week,
                len(items),
                round(_stats.median(waits), 1) if visible(len(waits)) else None,
                {o: (n if visible(n) else None) for o, n in counted.items()},
            )
        )
    return weeks


# --- charts (server-side SVG: no external service, no script) --------------------------------


def bar_chart(
    points: Sequence[tuple[str, float | None]], label: str, percent: bool = False, width: int = 640
) -> str:
    """An accessible SVG bar chart; a hidden value is drawn as an empty, dashed bar "<10"."""
    height, bottom, top = 180, 28, 16
    shown = [v for _l, v in points if v is not None]
    peak = 1.0 if percent else float(max(shown) if shown else 0) or 1.0
    slot = width / max(len(points), 1)
    bar = max(slot * 0.6, 4)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label, {chr(34): "&quot;"})}" class="chart">'
    ]
    for index, (name, value) in enumerate(points):
        x = index * slot + (slot - bar) / 2
        if value is None:
            parts.append(
                f'<rect x="{x:.1f}" y="{height - bottom - 20}" width="{bar:.1f}" height="20" '
                'fill="none" stroke="#888" stroke-dasharray="3 2"/>'
            )
            text = f"&lt;{MIN_CELL}"
            y_text = float(height - bottom - 24)
        else:
            h = (height - bottom - top) * (value / peak)
            parts.append(
                f'<rect x="{x:.1f}" y="{height - bottom - h:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="#2a6f97"/>'
            )
            text = f"{value * 100:.0f}%" if percent else f"{value:g}"
            y_text = height - bottom - h - 4
        parts.append(
            f'<text x="{x + bar / 2:.1f}" y="{y_text:.1f}" font-size="11" text-anchor="middle">{text}</text>'
        )
        parts.append(
            f'<text x="{x + bar / 2:.1f}" y="{height - 10}" font-size="10" text-anchor="middle">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
