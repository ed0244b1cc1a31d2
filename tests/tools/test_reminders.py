"""Deadline reminders (issue 14 §3): the deadlines, reading dates, the store, and the
scheduler: after a restart with a controllable clock, exactly once with two replicas on
PostgreSQL, delivered through the fake Telegram and Zalo servers, inside Zalo's window."""

from __future__ import annotations

import asyncio
import datetime as _dt
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot import db, reminders
from bot.identity import IdentityStore
from bot.privacy import forget_everything, purge_identities
from bot.reminders import ReminderScheduler, parse_date, plan
from tests.fakes.platforms import point_at_fakes

TODAY = _dt.date(2026, 11, 30)
NOON = _dt.datetime(2026, 11, 30, 12, 0)


# --- deadlines and dates ---------------------------------------------------------------


def test_only_confirmed_deadlines_with_their_sources():
    kinds = {d.kind: d for d in reminders.DEADLINES}
    assert set(kinds) == {
        "police_report",
        "contract_liquidation",
        "japan_lump_sum",
        "korea_departure_guarantee",
    }
    assert all(d.source for d in reminders.DEADLINES)
    # The UNCONFIRMED ones of the reference are not offered.
    assert not any("pension_refund" in k or "complaint" in k for k in kinds)


def test_plan_for_a_worker_back_from_japan():
    dates = {reminders.CONTRACT_END: _dt.date(2026, 11, 1), reminders.RETURN: _dt.date(2026, 11, 20)}
    planned = {p.rule.kind: p for p in plan("JP", dates, TODAY)}
    assert set(planned) == {"police_report", "contract_liquidation", "japan_lump_sum"}
    assert planned["police_report"].deadline == _dt.date(2026, 12, 5)
    assert planned["police_report"].remind_on == TODAY  # 5 days before is already past: at once
    assert planned["contract_liquidation"].deadline == _dt.date(2027, 4, 30)  # 180 days
    assert planned["contract_liquidation"].remind_on == _dt.date(2027, 3, 31)
    assert planned["japan_lump_sum"].deadline == _dt.date(2028, 11, 20)


def test_korea_gets_its_insurance_and_a_leap_day_stays_valid():
    planned = {p.rule.kind: p for p in plan("KR", {reminders.RETURN: _dt.date(2024, 2, 29)}, TODAY)}
    assert set(planned) == {"police_report", "korea_departure_guarantee"}
    assert planned["korea_departure_guarantee"].deadline == _dt.date(2027, 2, 28)
    assert planned["police_report"].passed(TODAY)


@pytest.mark.parametrize(
    "text, day, exact",
    [
        ("15/03/2025", _dt.date(2025, 3, 15), True),
        ("15-03-2025", _dt.date(2025, 3, 15), True),
        ("ngày 15 tháng 3 năm 2025", _dt.date(2025, 3, 15), True),
        ("2025-03-15", _dt.date(2025, 3, 15), True),
        ("3/2025", _dt.date(2025, 3, 1), False),
        ("tháng 3 năm ngoái", _dt.date(2025, 3, 1), False),
        ("thang 3 nam ngoai", _dt.date(2025, 3, 1), False),
        ("tháng 3/2025", _dt.date(2025, 3, 1), False),
        ("em về hôm qua", _dt.date(2026, 11, 29), True),
        ("tháng trước", _dt.date(2026, 10, 1), False),
        ("15 March 2025", _dt.date(2025, 3, 15), True),
        ("March 15, 2025", _dt.date(2025, 3, 15), True),
        ("March 2025", _dt.date(2025, 3, 1), False),
        ("last month", _dt.date(2026, 10, 1), False),
        ("tháng 12", _dt.date(2025, 12, 1), False),
    ],
)
def test_dates_as_people_type_them(text, day, exact):
    assert parse_date(text, TODAY) == reminders.ParsedDate(day, exact)


@pytest.mark.parametrize("text", ["31/02/2025", "không nhớ", "sometime", "", "99/99/9999", "a" * 5000])
def test_bad_dates_are_none_never_a_crash(text):
    assert parse_date(text, TODAY) is None


def test_implausible_dates_are_refused():
    assert not reminders.plausible(_dt.date(1990, 1, 1), TODAY)
    assert not reminders.plausible(_dt.date(2035, 1, 1), TODAY)
    assert reminders.plausible(_dt.date(2027, 5, 1), TODAY)


# --- the store ---------------------------------------------------------------------------


@pytest.fixture
def engine(database_url):
    engine = db.ensure_schema(db.get_engine(database_url))
    yield engine
    db.dispose_engines()


def _save(engine, sender: str, country: str = "JP", returned: _dt.date = _dt.date(2026, 11, 20)) -> None:
    reminders.save(engine, sender, plan(country, {reminders.RETURN: returned}, TODAY))


def test_stored_columns_are_the_pseudonym_and_dates_only():
    assert {c.name for c in db.reminders.columns} == {
        "id",
        "sender_id",
        "kind",
        "start_date",
        "deadline",
        "remind_on",
        "status",
        "claimed_at",
        "attempts",
    }


def test_list_cancel_and_forget(engine, database_url, tmp_path):
    _save(engine, "tg-a")
    _save(engine, "tg-b")
    mine = reminders.waiting(engine, "tg-a")
    assert [r.kind for r in mine] == ["police_report", "japan_lump_sum"]
    assert reminders.cancel(engine, "tg-a", mine[0].id) == 1
    assert reminders.cancel(engine, "tg-a", reminders.waiting(engine, "tg-b")[0].id) == 0  # not theirs
    assert [r.kind for r in reminders.waiting(engine, "tg-a")] == ["japan_lump_sum"]
    result = forget_everything("tg-a", database_url, f"sqlite:///{tmp_path / 'tracker.db'}")
    assert result.ok and result.deleted["deadline reminders"] == 1
    assert reminders.waiting(engine, "tg-a") == [] and len(reminders.waiting(engine, "tg-b")) == 2


def test_saving_again_replaces_instead_of_doubling(engine):
    _save(engine, "tg-a")
    _save(engine, "tg-a", returned=_dt.date(2026, 11, 25))
    assert [r.deadline for r in reminders.waiting(engine, "tg-a")] == [
        _dt.date(2026, 12, 10),
        _dt.date(2028, 11, 25),
    ]


def test_retention_keeps_the_way_back_until_the_reminder_is_sent(engine):
    IdentityStore(engine).remember("tg-a", "telegram", 42)
    IdentityStore(engine).remember("tg-b", "telegram", 43)
    _save(engine, "tg-a")
    later = _dt.datetime.utcnow() + _dt.timedelta(days=200)
    assert purge_identities(engine, later, 90) == 1  # tg-b's map goes; tg-a waits for a reminder
    assert IdentityStore(engine).lookup("tg-a") is not None
    # After the deadline (+ a week) the reminders go, then the map.
    assert reminders.purge(engine, _dt.datetime(2029, 1, 1)) == 2
    assert purge_identities(engine, later, 90) == 1


# --- the scheduler -----------------------------------------------------------------------


class Clock:
    def __init__(self, now: _dt.datetime) -> None:
        self.now = now

    def __call__(self) -> _dt.datetime:
        return self.now


def test_fires_after_a_restart_with_a_controllable_clock(engine, database_url):
    _save(engine, "web-aaaaaaaaaaaaaaaa", returned=_dt.date(2026, 11, 29))
    sent: list[tuple[str, str]] = []

    async def send(_engine, sender, text):
        sent.append((sender, text))
        return True

    clock = Clock(_dt.datetime(2026, 11, 30, 9, 0))
    first = ReminderScheduler(database_url, None, check_every=60, clock=clock, send=send)
    # The police report is due 14/12; reminded 5 days before: nothing yet.
    assert first.tick() == {"sent": 0, "waiting for the user": 0, "missed": 0, "failed": 0}
    first.stop()
    db.dispose_engines()  # the process ends; the rows stay

    clock.now = _dt.datetime(2026, 12, 9, 9, 0)
    second = ReminderScheduler(database_url, None, check_every=60, clock=clock, send=send)
    assert second.tick()["sent"] == 1
    assert len(sent) == 1 and "Công an xã/phường" in sent[0][1] and "/reminders" in sent[0][1]
    clock.now += _dt.timedelta(minutes=2)
    assert second.tick()["sent"] == 0  # sent once
    engine = db.get_engine(database_url)
    assert [r.kind for r in reminders.waiting(engine, "web-aaaaaaaaaaaaaaaa")] == ["japan_lump_sum"]


def test_the_lease_lets_one_replica_pass_per_interval(engine, database_url):
    a = ReminderScheduler(database_url, None, check_every=600, clock=Clock(NOON))
    b = ReminderScheduler(database_url, None, check_every=600, clock=Clock(NOON))
    assert a.tick() is not None
    assert b.tick() is None


def test_exactly_once_with_two_replicas_on_postgresql(postgres_url):
    """Two schedulers, each with its own engine and thread, race over 40 due reminders."""
    engine = db.ensure_schema(db.get_engine(postgres_url))
    for n in range(20):
        _save(engine, f"web-{n:016d}", returned=_dt.date(2026, 11, 20))  # police report due at once
    db.dispose_engines()
    sent: list[str] = []
    lock = threading.Lock()

    async def send(_engine, sender, text):
        with lock:
            sent.append(sender)
        return True

    start = threading.Barrier(2)
    counts: list[dict] = []
    errors: list[BaseException] = []

    def replica() -> None:
        own = sa.create_engine(postgres_url, future=True)
        start.wait()
        try:
            for minute in range(5):
                # No lease here: the claims alone must keep each reminder to one replica.
                now = NOON + _dt.timedelta(minutes=minute)
                counts.append(asyncio.run(reminders.send_due(own, now, None, send)))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        own.dispose()

    threads = [threading.Thread(target=replica) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(sent) == sorted(f"web-{n:016d}" for n in range(20))  # each exactly once
    assert sum(c["sent"] for c in counts) == 20
    db.dispose_engines()


def test_a_claim_lost_with_its_replica_is_sent_later(engine):
    _save(engine, "web-bbbbbbbbbbbbbbbb", returned=_dt.date(2026, 11, 20))
    [claimed] = reminders.claim_due(engine, NOON)  # the replica dies before sending
    assert reminders.claim_due(engine, NOON + _dt.timedelta(minutes=1)) == []
    [again] = reminders.claim_due(engine, NOON + _dt.timedelta(minutes=20))
    assert again.id == claimed.id


# --- delivery through the fakes ----------------------------------------------------------


@pytest.fixture
def channels_env(monkeypatch, sqlite_url, fake_telegram, fake_zalo):
    point_at_fakes(monkeypatch, sqlite_url, fake_telegram, fake_zalo)
    yield sqlite_url
    db.dispose_engines()


def _english_tracker(tmp_path: Path, sender: str) -> str:
    """A tracker store where `sender`'s language slot is English."""
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    events = sa.Table(
        "events",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sender_id", sa.String),
        sa.Column("type_name", sa.String),
        sa.Column("timestamp", sa.Float),
        sa.Column("intent_name", sa.String),
        sa.Column("action_name", sa.String),
        sa.Column("data", sa.Text),
    )
    tracker = sa.create_engine(url, future=True)
    events.create(tracker)
    with tracker.begin() as conn:
        conn.execute(
            events.insert().values(
                sender_id=sender,
                type_name="slot",
                timestamp=0.0,
                action_name="language",
                data='{"event": "slot", "name": "language", "value": "en"}',
            )
        )
    tracker.dispose()
    return url


def test_delivered_on_telegram_in_the_users_language(channels_env, fake_telegram, tmp_path):
    engine = db.get_engine(channels_env)
    IdentityStore(engine).remember("tg-en", "telegram", 777)
    _save(engine, "tg-en", country="KR", returned=_dt.date(2026, 11, 20))
    tracker_url = _english_tracker(tmp_path, "tg-en")
    counts = ReminderScheduler(channels_env, tracker_url, clock=Clock(NOON)).tick()
    assert counts and counts["sent"] == 1
    [text] = fake_telegram.sent_to(777)
    assert "Reminder: report your return to the commune or ward police" in text


def test_zalo_only_inside_the_seven_day_window(channels_env, fake_zalo):
    engine = db.get_engine(channels_env)
    IdentityStore(engine).remember("zl-a", "zalo", "6142494823123456789")
    _save(engine, "zl-a", returned=_dt.date(2026, 11, 20))
    with engine.begin() as conn:  # the user last wrote 8 days before the reminder
        conn.execute(sa.update(db.identities).values(updated_at=_dt.datetime(2026, 11, 22, 11, 0)))
    scheduler = ReminderScheduler(channels_env, None, check_every=60, clock=Clock(NOON))
    assert scheduler.tick()["waiting for the user"] == 1
    assert fake_zalo.delivered_texts() == []
    # The user writes again: the next pass delivers, through the Zalo API.
    with engine.begin() as conn:
        conn.execute(sa.update(db.identities).values(updated_at=NOON))
    scheduler._clock = Clock(NOON + _dt.timedelta(minutes=2))
    assert scheduler.tick()["sent"] == 1
    [text] = fake_zalo.delivered_texts()
    assert "Công an xã/phường" in text
    assert fake_zalo.sent()[-1].params["recipient"] == {"user_id": "6142494823123456789"}


def test_past_the_deadline_a_waiting_reminder_is_dropped(channels_env, fake_zalo):
    engine = db.get_engine(channels_env)
    IdentityStore(engine).remember("zl-b", "zalo", "6142494823123456789")
    _save(engine, "zl-b", returned=_dt.date(2026, 11, 20))
    after = _dt.datetime(2026, 12, 20, 9, 0)
    counts = ReminderScheduler(channels_env, None, clock=Clock(after)).tick()
    assert counts and counts["missed"] == 1 and fake_zalo.delivered_texts() == []


def test_web_chat_reminders_wait_in_the_outbox_for_the_page(channels_env):
    from bot.channels.webchat import pending

    engine = db.get_engine(channels_env)
    _save(engine, "web-cccccccccccccccc", returned=_dt.date(2026, 11, 20))
    counts = ReminderScheduler(channels_env, None, clock=Clock(NOON)).tick()
    assert counts and counts["sent"] == 1
    [waiting] = pending(engine, "web-cccccccccccccccc")
    assert "Công an xã/phường" in waiting["text"]
