"""Deadline reminders: which deadlines apply, reading the dates people type, storing and sending.

Why: returnees lose money to missed deadlines (issue 14 §3). A user who asks ("nhắc tôi",
"remind me") gives the host country, the day the labour contract ended and the day they
came back; `plan` turns those into the deadlines below, and the scheduler sends one
message some days before each, on the user's own channel.

Only deadlines the reference confirms are offered (../shared/reference/content.md, its
"Corrections of 2026-11-30" first, and the answer cards): see `DEADLINES`, each with its
source. Not offered because the reference marks them UNCONFIRMED: the Korean national
pension refund (5 years, §2.2: an inference for foreign workers), the 180-day complaint deadline of
NĐ 24/2018 (Corrections E12).

Stored: the pseudonym, the deadline kind, the date given, the deadline and the day to
remind (`bot.db.reminders`); no text. Sent by `ReminderScheduler`, a thread of `bot run`:
a replica runs a pass only while it holds the `job_leases` row (bot.privacy's lease), and
each reminder is claimed with an atomic `UPDATE ... WHERE status = 'due'`, so two replicas
never send the same one. The table survives restarts (Rasa's own reminders do not).
Zalo lets an Official Account write only within 7 days of the user's last message: a
reminder that falls outside waits for the user to write again, and is dropped once its
deadline has passed. Every function takes `today`/`now`, so tests control the clock.
"""

from __future__ import annotations

import asyncio
import calendar
import datetime as _dt
import json
import logging
import re
import threading
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.db import ensure_schema, get_engine, identities, reminders
from bot.i18n import format_date, gettext
from bot.vietnamese.text import fold

logger = logging.getLogger(__name__)

DOMAIN = "reminders"  # the Babel catalog of reminders and the survey
JOB = "reminders"
DUE, SENDING, SENT, MISSED = "due", "sending", "sent", "missed"
# A claim older than this was lost with its replica (crash between claim and send): due again.
STALE_CLAIM = _dt.timedelta(minutes=15)
MAX_ATTEMPTS = 5
ZALO_WINDOW = _dt.timedelta(days=7)  # ../shared/reference/channels.md §3.8
# Rows are kept this long after their deadline, then purged (retention).
KEEP_AFTER_DEADLINE = _dt.timedelta(days=7)
# Dates further back than this are surely a typo for these deadlines.
OLDEST = _dt.timedelta(days=366 * 10)
LATEST = _dt.timedelta(days=366 * 3)

# What the user's dates are: the end of the labour contract abroad, and the return home
# (for Japan and Korea also the day they left the host country).
CONTRACT_END = "contract_end"
RETURN = "return"


@dataclass(frozen=True)
class Deadline:
    kind: str
    start: str  # CONTRACT_END or RETURN
    days: int = 0
    years: int = 0
    lead_days: int = 7  # remind this many days before the deadline
    country: str | None = None  # only for workers back from this host country
    card: str = ""  # the answer card that says what to do
    title: str = ""  # English msgid (catalog `tools`)
    source: str = ""


DEADLINES: tuple[Deadline, ...] = (
    Deadline(
        "police_report",
        RETURN,
        days=15,
        lead_days=5,
        card="arrival_checklist",
        title="report your return to the commune or ward police (Công an xã/phường) where you live",
        source="Law 69/2020/QH14 Art. 6(2)(g); content.md Corrections E13 (HIGH)",
    ),
    Deadline(
        "contract_liquidation",
        CONTRACT_END,
        days=180,
        lead_days=30,
        card="contract_liquidation",
        title="liquidate your contract with the enterprise that sent you",
        source="Law 69/2020/QH14 Art. 26(2)(i), Art. 46(8); content.md §1 (HIGH)",
    ),
    Deadline(
        "japan_lump_sum",
        RETURN,
        years=2,
        lead_days=60,
        country="JP",
        card="japan_pension_refund",
        title="claim Japan's pension lump-sum withdrawal (nenkin)",
        source="content.md §2.3: claim within 2 years of leaving Japan (HIGH)",
    ),
    Deadline(
        "korea_departure_guarantee",
        RETURN,
        years=3,
        lead_days=60,
        country="KR",
        card="korea_departure_guarantee",
        title="claim Korea's departure guarantee insurance",
        source="content.md Corrections E4: claim limitation 3 years (MEDIUM-HIGH)",
    ),
)
BY_KIND = {d.kind: d for d in DEADLINES}


def add_years(day: _dt.date, years: int) -> _dt.date:
    """The same day `years` later (29 February becomes 28 February)."""
    year = day.year + years
    return day.replace(year=year, day=min(day.day, calendar.monthrange(year, day.month)[1]))


def deadline_of(rule: Deadline, start: _dt.date) -> _dt.date:
    return add_years(start, rule.years) + _dt.timedelta(days=rule.days)


def applicable(country: str | None, dates: dict[str, _dt.date]) -> list[Deadline]:
    """The deadlines that apply to a worker back from `country` with the dates given."""
    return [d for d in DEADLINES if d.start in dates and (d.country is None or d.country == country)]


@dataclass(frozen=True)
class Planned:
    rule: Deadline
    start: _dt.date
    deadline: _dt.date
    remind_on: _dt.date

    def passed(self, today: _dt.date) -> bool:
        return self.deadline < today


def plan(country: str | None, dates: dict[str, _dt.date], today: _dt.date) -> list[Planned]:
    """Each applicable deadline with the day to remind (never before tomorrow's first pass)."""
    planned = []
    for rule in applicable(country, dates):
        deadline = deadline_of(rule, dates[rule.start])
        remind_on = max(deadline - _dt.timedelta(days=rule.lead_days), today)
        planned.append(Planned(rule, dates[rule.start], deadline, remind_on))
    return sorted(planned, key=lambda p: p.deadline)


# --- reading dates -----------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedDate:
    day: _dt.date
    exact: bool  # False when only the month was given (the 1st is counted, to be early)


_MONTHS_EN = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS_EN.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_NUM = r"(\d{1,4})"
_DMY = re.compile(r"\b(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{2,4})\b")
_YMD = re.compile(r"\b(\d{4})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{1,2})\b")
_MY = re.compile(r"\b(\d{1,2})\s*[/.\-]\s*(\d{4})\b")
_NGAY_THANG_NAM = re.compile(r"\bngay\s+(\d{1,2})\s+thang\s+(\d{1,2})\s+nam\s+(\d{4})\b")
_THANG_NAM = re.compile(r"\bthang\s+(\d{1,2})\s*(?:nam\s+|/\s*|-\s*)?(\d{4}|nay|ngoai|truoc|roi)\b")
_THANG_ONLY = re.compile(r"\bthang\s+(\d{1,2})\b")
_EN_DMY = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]+)\s*,?\s+(\d{4})\b")
_EN_MDY = re.compile(r"\b([a-z]+)\s+(\d{1,2})(?:st|nd|rd|th)?\s*,?\s+(\d{4})\b")
_EN_MY = re.compile(r"\b([a-z]+)\s*,?\s+(\d{4}|this year|last year)\b")
_EN_MONTH_ONLY = re.compile(r"\bin\s+([a-z]+)\b")


def _date(year: int, month: int, day: int) -> _dt.date | None:
    if year < 100:
        year += 2000
    try:
        return _dt.date(year, month, day)
    except ValueError:
        return None


def _year_word(word: str, today: _dt.date) -> int | None:
    if word.isdigit():
        return int(word)
    if word in ("nay", "this year"):
        return today.year
    if word in ("ngoai", "truoc", "roi", "last year"):
        return today.year - 1
    return None


def _month_in_past(month: int, today: _dt.date) -> int:
    """The year of "tháng 3" said without a year: the latest March not after this month."""
    return today.year if month <= today.month else today.year - 1


def parse_date(text: str, today: _dt.date) -> ParsedDate | None:
    """A date as Vietnamese and English speakers type it, day first: "15/03/2025",
    "15-03-2025", "3/2025", "tháng 3 năm ngoái", "hôm qua", "March 2025", "last month".
    None when the text holds no date, or an impossible one (31/02)."""
    folded = " ".join(fold(text or "").split())
    relative = {
        "hom nay": 0,
        "today": 0,
        "hom qua": 1,
        "yesterday": 1,
        "hom kia": 2,
        "tuan truoc": 7,
        "tuan roi": 7,
        "last week": 7,
    }
    for words, back in relative.items():
        if re.search(rf"\b{words}\b", folded):
            return ParsedDate(today - _dt.timedelta(days=back), back < 7)
    if re.search(r"\b(thang truoc|thang roi|last month)\b", folded):
        last_month = today.replace(day=1) - _dt.timedelta(days=1)
        return ParsedDate(last_month.replace(day=1), False)
    found = _YMD.search(folded)
    if found:
        day = _date(int(found[1]), int(found[2]), int(found[3]))
        return ParsedDate(day, True) if day else None
    found = _DMY.search(folded)
    if found:
        day = _date(int(found[3]), int(found[2]), int(found[1]))
        return ParsedDate(day, True) if day else None
    found = _NGAY_THANG_NAM.search(folded)
    if found:
        day = _date(int(found[3]), int(found[2]), int(found[1]))
        return ParsedDate(day, True) if day else None
    found = _MY.search(folded)
    if found:
        day = _date(int(found[2]), int(found[1]), 1)
        return ParsedDate(day, False) if day else None
    found = _THANG_NAM.search(folded)
    if found:
        year = _year_word(found[2], today)
        day = _date(year, int(found[1]), 1) if year else None
        return ParsedDate(day, False) if day else None
    for pattern, order in ((_EN_DMY, "dmy"), (_EN_MDY, "mdy")):
        found = pattern.search(folded)
        if found:
            d, m, y = (found[1], found[2], found[3]) if order == "dmy" else (found[2], found[1], found[3])
            month = _MONTHS_EN.get(m)
            day = _date(int(y), month, int(d)) if month else None
            if day:
                return ParsedDate(day, True)
    found = _EN_MY.search(folded)
    if found and found[1] in _MONTHS_EN:
        year = _year_word(found[2], today)
        day = _date(year, _MONTHS_EN[found[1]], 1) if year else None
        return ParsedDate(day, False) if day else None
    found = _THANG_ONLY.search(folded)
    if found and 1 <= int(found[1]) <= 12:
        month = int(found[1])
        return ParsedDate(_dt.date(_month_in_past(month, today), month, 1), False)
    found = _EN_MONTH_ONLY.search(folded)
    if found and found[1] in _MONTHS_EN:
        month = _MONTHS_EN[found[1]]
        return ParsedDate(_dt.date(_month_in_past(month, today), month, 1), False)
    return None


def plausible(day: _dt.date, today: _dt.date) -> bool:
    """Within ten years back and three ahead (a contract may end later this year)."""
    return today - OLDEST <= day <= today + LATEST


# --- the store ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Reminder:
    id: int
    kind: str
    deadline: _dt.date
    remind_on: _dt.date
    status: str


def save(engine: Engine, sender_id: str, planned: list[Planned]) -> int:
    """Replace `sender_id`'s waiting reminders of these kinds by the planned ones (only
    deadlines still ahead); returns how many were stored."""
    ensure_schema(engine)
    ahead = [p for p in planned if p.deadline >= p.remind_on]
    kinds = [p.rule.kind for p in ahead]
    with engine.begin() as conn:
        if kinds:
            conn.execute(
                sa.delete(reminders).where(
                    reminders.c.sender_id == sender_id,
                    reminders.c.kind.in_(kinds),
                    reminders.c.status == DUE,
                )
            )
        for p in ahead:
            conn.execute(
                sa.insert(reminders).values(
                    sender_id=sender_id,
                    kind=p.rule.kind,
                    start_date=p.start,
                    deadline=p.deadline,
                    remind_on=p.remind_on,
                    status=DUE,
                    attempts=0,
                )
            )
    return len(ahead)


def waiting(engine: Engine, sender_id: str) -> list[Reminder]:
    """The user's reminders not yet sent, soonest first."""
    ensure_schema(engine)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(reminders)
            .where(reminders.c.sender_id == sender_id, reminders.c.status.in_((DUE, SENDING)))
            .order_by(reminders.c.deadline, reminders.c.id)
        ).all()
    return [Reminder(r.id, r.kind, r.deadline, r.remind_on, r.status) for r in rows]


def cancel(engine: Engine, sender_id: str, reminder_id: int | None = None) -> int:
    """Delete one of the user's reminders (or all, without an id); returns rows deleted."""
    ensure_schema(engine)
    query = sa.delete(reminders).where(reminders.c.sender_id == sender_id)
    if reminder_id is not None:
        query = query.where(reminders.c.id == reminder_id)
    with engine.begin() as conn:
        return conn.execute(query).rowcount


def forget(engine: Engine, sender_id: str) -> int:
    """ "Forget me": every reminder of the user."""
    return cancel(engine, sender_id)


def purge(engine: Engine, now: _dt.datetime, retention_days: int = 0) -> int:
    """Reminders sent or missed, and any whose deadline is a week past (retention)."""
    ensure_schema(engine)
    cutoff = (now - KEEP_AFTER_DEADLINE).date()
    with engine.begin() as conn:
        return conn.execute(
            sa.delete(reminders).where(
                sa.or_(reminders.c.status.in_((SENT, MISSED)), reminders.c.deadline < cutoff)
            )
        ).rowcount


def senders_waiting() -> sa.sql.Select:
    """Pseudonyms with a reminder still to send: their map back to the platform must outlive
    RETENTION_DAYS of silence until then (bot.privacy.purge_identities)."""
    return sa.select(reminders.c.sender_id).where(reminders.c.status.in_((DUE, SENDING)))


# --- sending -----------------------------------------------------------------------------


def message(reminder: Reminder, lang: str, today: _dt.date) -> str:
    """The reminder's text: what to do, by when, where to read more, how to stop."""
    rule = BY_KIND[reminder.kind]
    days = (reminder.deadline - today).days
    return gettext(
        lang,
        "⏰ Reminder: {what}. Deadline: {date} ({days} days left). Ask me about it to see what to "
        "do, and check with the office named there. Send /reminders to see or cancel your reminders.",
        domain="reminders",
        what=gettext(lang, rule.title, domain="reminders"),
        date=format_date(reminder.deadline, lang),
        days=max(days, 0),
    )


@dataclass(frozen=True)
class Claimed:
    id: int
    sender_id: str
    reminder: Reminder


def claim_due(engine: Engine, now: _dt.datetime, limit: int = 100) -> list[Claimed]:
    """Take the reminders due today or earlier, each with an atomic UPDATE ... WHERE
    status='due' (one replica wins each row); stale claims of a dead replica are freed first."""
    ensure_schema(engine)
    today = now.date()
    with engine.begin() as conn:
        conn.execute(
            sa.update(reminders)
            .where(reminders.c.status == SENDING, reminders.c.claimed_at < now - STALE_CLAIM)
            .values(status=DUE)
        )
        rows = conn.execute(
            sa.select(reminders)
            .where(reminders.c.status == DUE, reminders.c.remind_on <= today)
            .order_by(reminders.c.remind_on, reminders.c.id)
            .limit(limit)
        ).all()
    claimed = []
    for row in rows:
        with engine.begin() as conn:
            won = conn.execute(
                sa.update(reminders)
                .where(reminders.c.id == row.id, reminders.c.status == DUE)
                .values(status=SENDING, claimed_at=now, attempts=reminders.c.attempts + 1)
            ).rowcount
        if won == 1:
            claimed.append(
                Claimed(
                    row.id, row.sender_id, Reminder(row.id, row.kind, row.deadline, row.remind_on, SENDING)
                )
            )
    return claimed


def _finish(engine: Engine, reminder_id: int, status: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.update(reminders)
            .where(reminders.c.id == reminder_id, reminders.c.status == SENDING)
            .values(status=status, claimed_at=None)
        )


def _last_message_at(engine: Engine, sender_id: str) -> _dt.datetime | None:
    """When the user last wrote (the pseudonym map is refreshed by every message)."""
    with engine.connect() as conn:
        return conn.execute(
            sa.select(identities.c.updated_at).where(identities.c.sender_id == sender_id)
        ).scalar()


def _language(sender_id: str, tracker_store_url: str | None) -> str:
    """The conversation's language slot, if the conversation is still kept; else Vietnamese."""
    if not tracker_store_url:
        return "vi"
    try:
        tracker_engine = get_engine(tracker_store_url)
        if not sa.inspect(tracker_engine).has_table("events"):
            return "vi"
        events = sa.table(
            "events",
            sa.column("sender_id"),
            sa.column("type_name"),
            sa.column("action_name"),
            sa.column("data"),
            sa.column("id"),
        )
        with tracker_engine.connect() as conn:
            data = conn.execute(
                sa.select(events.c.data)
                .where(
                    events.c.sender_id == sender_id,
                    events.c.type_name == "slot",
                    events.c.action_name == "language",
                )
                .order_by(events.c.id.desc())
                .limit(1)
            ).scalar()
    except sa.exc.SQLAlchemyError:
        return "vi"
    try:
        value = json.loads(data).get("value") if data else None
    except (ValueError, AttributeError):
        value = None
    return "en" if value == "en" else "vi"


Sender = Callable[[Engine, str, str], Awaitable[bool]]


async def _send_on_channel(engine: Engine, sender_id: str, text: str) -> bool:
    from bot.channels.outbound import send_to_user

    return (await send_to_user(engine, sender_id, text)).ok


async def send_due(
    engine: Engine,
    now: _dt.datetime,
    tracker_store_url: str | None = None,
    send: Sender | None = None,
) -> dict[str, int]:
    """One pass: claim the due reminders and deliver them; counts by outcome (no ids)."""
    from bot.channels.outbound import channel_of

    send = send or _send_on_channel
    counts = {"sent": 0, "waiting for the user": 0, "missed": 0, "failed": 0}
    for item in await asyncio.to_thread(claim_due, engine, now):
        reminder = item.reminder
        if reminder.deadline < now.date():
            await asyncio.to_thread(_finish, engine, item.id, MISSED)
            counts["missed"] += 1
            continue
        channel = await asyncio.to_thread(channel_of, engine, item.sender_id)
        if channel == "zalo":
            last = await asyncio.to_thread(_last_message_at, engine, item.sender_id)
            if last is None or now - last > ZALO_WINDOW:
                # Zalo would refuse: wait for the user's next message (or the deadline).
                await asyncio.to_thread(_finish, engine, item.id, DUE)
                counts["waiting for the user"] += 1
                continue
        lang = await asyncio.to_thread(_language, item.sender_id, tracker_store_url)
        try:
            ok = await send(engine, item.sender_id, message(reminder, lang, now.date()))
        except Exception as exc:  # noqa: BLE001 - a failed send is retried at the next pass
            logger.warning("reminder not sent (%s)", type(exc).__name__)
            ok = False
        if ok:
            await asyncio.to_thread(_finish, engine, item.id, SENT)
            counts["sent"] += 1
        else:
            attempts = await asyncio.to_thread(_attempts, engine, item.id)
            await asyncio.to_thread(_finish, engine, item.id, MISSED if attempts >= MAX_ATTEMPTS else DUE)
            counts["failed"] += 1
    return counts


def _attempts(engine: Engine, reminder_id: int) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(sa.select(reminders.c.attempts).where(reminders.c.id == reminder_id)).scalar() or 0
        )


def run_once(
    database_url: str,
    tracker_store_url: str | None,
    holder: str,
    interval: _dt.timedelta,
    now: _dt.datetime | None = None,
    send: Sender | None = None,
) -> dict[str, int] | None:
    """A pass if this replica wins the reminders lease for `interval`; None when another holds it."""
    from bot.privacy import acquire_lease, utcnow

    now = now or utcnow()
    engine = get_engine(database_url)
    if not acquire_lease(engine, JOB, holder, interval, now):
        return None
    counts = asyncio.run(send_due(engine, now, tracker_store_url, send))
    if any(counts.values()):
        logger.info("reminders: %s", ", ".join(f"{name} {count}" for name, count in counts.items()))
    return counts


class ReminderScheduler:
    """A daemon thread of `bot run` that sends due reminders every `check_every` seconds."""

    def __init__(
        self,
        database_url: str,
        tracker_store_url: str | None,
        check_every: float = 600,
        clock: Callable[[], _dt.datetime] | None = None,
        send: Sender | None = None,
    ) -> None:
        self._database_url = database_url
        self._tracker_store_url = tracker_store_url
        self._check_every = check_every
        self._clock = clock
        self._send = send
        self.holder = f"run-{uuid.uuid4().hex[:12]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="reminders", daemon=True)

    def start(self, first_after: float = 30) -> ReminderScheduler:
        self._first_after = first_after
        self._thread.start()
        return self

    def stop(self, wait: bool = False) -> None:
        self._stop.set()
        if wait:
            self._thread.join(timeout=30)

    def tick(self) -> dict[str, int] | None:
        """One attempt (the lease lasts slightly less than the interval, so the next check
        of any replica can take it)."""
        now = self._clock() if self._clock else None
        lease = _dt.timedelta(seconds=max(self._check_every * 0.9, 0.001))
        return run_once(self._database_url, self._tracker_store_url, self.holder, lease, now, self._send)

    def _loop(self) -> None:
        wait = self._first_after
        while not self._stop.wait(wait):
            wait = self._check_every
            try:
                self.tick()
            except Exception as exc:  # noqa: BLE001 - retried at the next check
                logger.warning("reminders pass failed (%s); retrying later", type(exc).__name__)
