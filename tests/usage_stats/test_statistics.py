"""Statistics (bot.statistics): counted once per turn from the tracker store's save, small
cells hidden, and nothing in the tables that joins back to a conversation."""

from __future__ import annotations

import datetime as _dt
import hashlib
from pathlib import Path

import pytest
import sqlalchemy as sa
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot import db, feedback, statistics
from bot.statistics import TurnFacts
from bot.tracker_store import PrivacyTrackerStore

MONDAY = _dt.datetime(2026, 11, 23, 9, 0, tzinfo=_dt.timezone.utc)
NEXT_WEEK = MONDAY + _dt.timedelta(days=7)


@pytest.fixture
def engine(database_url: str):
    """SQLite, then PostgreSQL."""
    engine = db.ensure_schema(db.get_engine(database_url))
    yield engine
    db.dispose_engines()


def facts(channel: str = "telegram", answered: bool = True, **cells: str) -> TurnFacts:
    return TurnFacts(
        channel=channel,
        lang=cells.get("lang", "vi"),
        topic=cells.get("topic", "deposit_refund"),
        country=cells.get("country", "KR"),
        province=cells.get("province", "Nghệ An"),
        answered=answered,
    )


def _fill(engine, now=MONDAY) -> None:
    """12 Telegram conversations (2 turns each, one unanswered) and 3 on Zalo."""
    for n in range(12):
        statistics.record_turns(engine, f"tg-{n}", [facts(), facts(answered=n % 2 == 0)], now)
    for n in range(3):
        statistics.record_turns(engine, f"zl-{n}", [facts("zalo", province="Hà Giang")], now)


def _week(engine, now=MONDAY) -> statistics.WeekStats:
    [week] = [w for w in statistics.by_week(statistics.weekly_rows(engine, now)) if w.week == MONDAY.date()]
    return week


def test_turns_and_conversations_are_counted_per_week(engine):
    _fill(engine)
    week = _week(engine)
    assert (week.total.conversations, week.total.turns, week.total.unanswered) == (15, 27, 6)
    assert week.total.unanswered_rate == pytest.approx(6 / 27)


def test_a_cell_under_ten_conversations_is_hidden_and_cannot_be_worked_out(engine):
    _fill(engine)
    week = _week(engine)
    channels = {c.value: c for c in week.breakdowns["channel"]}
    assert channels["zalo"].hidden  # 3 conversations
    # The only other cell is hidden too: otherwise 15 - 12 would tell the Zalo count.
    assert channels["telegram"].hidden
    assert {c.value: c.hidden for c in week.breakdowns["lang"]} == {"vi": False}
    provinces = {c.value: c.conversations for c in week.breakdowns["province"]}
    assert provinces == {"Nghệ An": None, "Hà Giang": None}
    exported = statistics.export_csv([week])
    assert "zalo,,," in exported and "Hà Giang,,," in exported
    assert f"{MONDAY.date().isoformat()},all,,15,27,6" in exported


def test_with_enough_conversations_every_cell_shows(engine):
    _fill(engine)
    for n in range(10):
        statistics.record_turns(engine, f"zl-more-{n}", [facts("zalo")], MONDAY)
    channels = {c.value: c.conversations for c in _week(engine).breakdowns["channel"]}
    assert channels == {"telegram": 12, "zalo": 13}


def test_a_turn_is_counted_once_from_the_tracker_store(tmp_path: Path, engine):
    url = engine.url.render_as_string(hide_password=False)
    store = PrivacyTrackerStore(
        domain=Domain.empty(), dialect="sqlite", db=str(tmp_path / "t.db"), identity_database_url=url
    )
    turn = [UserUttered("tôi bị nợ lương", input_channel="telegram"), SlotSet("language", "vi")]
    turn += [SlotSet("country", "KR"), ActionExecuted("action_default_fallback")]
    tracker = DialogueStateTracker.from_events("pseudo-1", turn)
    import asyncio

    asyncio.run(store.save(tracker))
    asyncio.run(store.save(tracker))  # saved again with nothing new: not counted again
    tracker.update(UserUttered("tiền ký quỹ", input_channel="telegram"))
    tracker.update(SlotSet("topic", "deposit_refund"))
    tracker.update(ActionExecuted("action_answer_topic"))
    asyncio.run(store.save(tracker))
    store.flush_statistics()  # counted in the store's writer thread
    with engine.connect() as conn:
        rows = conn.execute(sa.select(db.stats_turns)).mappings().all()
    cells = sorted(
        (r["topic"], r["country"], r["lang"], r["channel"], r["answered"], r["turns"]) for r in rows
    )
    assert cells == [
        ("", "KR", "vi", "telegram", False, 1),
        ("deposit_refund", "KR", "vi", "telegram", True, 1),
    ]


def test_no_column_joins_back_to_a_conversation(engine):
    _fill(engine)
    sender = "tg-3"
    stored = []
    with engine.connect() as conn:
        for table in (db.stats_turns, db.stats_weekly):
            for row in conn.execute(sa.select(table)):
                stored += [str(v) for v in row]
    linkable = {
        sender,
        hashlib.sha256(sender.encode()).hexdigest()[: statistics.KEY_CHARS],
        feedback.sender_key(sender) or "",
    }
    assert not any(value in stored for value in linkable)
    # No column of the statistics tables holds a time finer than a week or a row number.
    for table in (db.stats_turns, db.stats_weekly):
        assert {c.name for c in table.columns}.isdisjoint(
            {"id", "sender_id", "sender_key", "created_at", "text"}
        )

    # When the week ends, its keys and its salt are gone: only counts remain.
    statistics.record_turns(engine, "tg-new", [facts()], NEXT_WEEK)
    with engine.connect() as conn:
        weeks_with_keys = {w for (w,) in conn.execute(sa.select(db.stats_turns.c.week).distinct())}
        salts = {w for (w,) in conn.execute(sa.select(db.stats_week_salts.c.week))}
    assert weeks_with_keys == {NEXT_WEEK.date()} and salts == {NEXT_WEEK.date()}
    assert _week(engine, NEXT_WEEK).total.conversations == 15  # the counts survived the roll-up


def test_forget_me_deletes_this_weeks_rows_of_the_conversation(engine):
    _fill(engine)
    assert statistics.forget(engine, "tg-0") == 1
    assert _week(engine).total.conversations == 14
    assert statistics.forget(engine, "nobody") == 0


def test_the_chart_is_svg_without_hidden_numbers(engine):
    svg = statistics.bar_chart([("01/11", 12), ("08/11", None)], 'Conversations <script>"')
    assert svg.startswith("<svg") and "<script" not in svg
    assert "&lt;10" in svg and ">12<" in svg


def test_votes_and_handoffs_hide_small_counts(engine):
    rows = statistics.votes({"deposit_refund": (9, 3), "legal_aid": (2, 1)})
    assert rows[0].up == 9 and rows[0].down == 3  # 12 votes on the card
    assert rows[1].up is None and rows[1].down is None
    with engine.begin() as conn:
        for n in range(11):
            at = MONDAY.replace(tzinfo=None) + _dt.timedelta(hours=n)
            handoff_id = conn.execute(
                sa.insert(db.handoffs).values(
                    sender_id=f"s{n}",
                    label=f"TG-{n}",
                    channel="telegram",
                    lang="vi",
                    state="closed",
                    urgent=False,
                    created_at=at,
                    updated_at=at,
                    outcome="resolved" if n else "no_reply",
                )
            ).inserted_primary_key[0]
            conn.execute(
                sa.insert(db.handoff_messages).values(
                    handoff_id=handoff_id,
                    author="staff",
                    text="x",
                    created_at=at + _dt.timedelta(minutes=n + 1),
                )
            )
    [week] = statistics.handoff_stats(engine, ("resolved", "bot_should_have_known", "no_reply"))
    assert week.volume == 11 and week.median_minutes_to_reply == 6.0
    assert week.outcomes == {"resolved": 10, "bot_should_have_known": None, "no_reply": None}


def test_the_statistics_thread_writes_what_queued_up_in_batches(engine, monkeypatch):
    """Turns queued while the thread writes are counted together: every one of them, in
    fewer transactions than turns (a batch holds at most `BATCH`)."""
    import threading

    from bot.tracker_store import StatisticsWriter

    transactions: list[int] = []
    real = statistics.record_many_turns
    release = threading.Event()

    def recording(engine_, batch, now=None):
        release.wait(10)  # hold the first batch so that the rest queue up behind it
        transactions.append(len(batch))
        return real(engine_, batch, now)

    monkeypatch.setattr(statistics, "record_many_turns", recording)
    monkeypatch.setattr(StatisticsWriter, "BATCH", 4)
    writer = StatisticsWriter(lambda: engine)
    for n in range(11):
        writer.put(f"tg-batch-{n}", [facts(), facts(answered=False)])
    release.set()
    writer.flush()
    writer.close()
    assert sum(transactions) == 11 and max(transactions) <= 4 and len(transactions) < 11
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.sum(db.stats_turns.c.turns))).scalar_one() == 22


def test_turns_in_the_same_cell_are_added_together(engine):
    counted = statistics.record_many_turns(
        engine, [("tg-same", [facts(), facts()]), ("tg-same", [facts()])], MONDAY
    )
    assert counted == 3
    with engine.connect() as conn:
        rows = conn.execute(sa.select(db.stats_turns.c.turns)).scalars().all()
    assert rows == [3]
    statistics.record_many_turns(engine, [("tg-same", [facts()])], MONDAY)
    with engine.connect() as conn:
        assert conn.execute(sa.select(db.stats_turns.c.turns)).scalars().all() == [4]
