"""'Forget me' says done only when everything was deleted; retention purges by age; one
purge a day even with several replicas. On SQLite and PostgreSQL (`database_url`)."""

from __future__ import annotations

import asyncio
import datetime as _dt

import pytest
import sqlalchemy as sa

from bot import db, privacy
from bot.cli import privacy as privacy_cli
from bot.db import get_engine, identities, job_leases, pending_deletions
from bot.identity import IdentityStore

NOW = _dt.datetime(2026, 11, 30, 12, 0, 0)


def _events_table(engine) -> sa.Table:
    meta = sa.MetaData()
    table = sa.Table(
        "events",
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sender_id", sa.String(255)),
        sa.Column("type_name", sa.String(255)),
        sa.Column("timestamp", sa.Float),
        sa.Column("data", sa.Text),
    )
    meta.create_all(engine)
    return table


def _add_events(engine, table, sender: str, days_ago: list[float]) -> None:
    with engine.begin() as conn:
        for age in days_ago:
            when = (NOW - _dt.timedelta(days=age)).replace(tzinfo=_dt.timezone.utc).timestamp()
            conn.execute(
                sa.insert(table).values(sender_id=sender, type_name="user", timestamp=when, data="{}")
            )


def _senders(engine, table) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(table.c.sender_id, sa.func.count()).group_by(table.c.sender_id))
        return dict(rows.all())


def _remember(engine, sender: str, days_ago: float) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.insert(identities).values(
                sender_id=sender,
                platform="telegram",
                platform_user_id="1",
                updated_at=NOW - _dt.timedelta(days=days_ago),
            )
        )


@pytest.fixture
def stores(database_url, tmp_path):
    """DATABASE_URL migrated, plus a tracker store with Rasa's `events` table (same server)."""
    engine = get_engine(database_url)
    db.upgrade(engine)
    return database_url, engine, _events_table(engine)


def test_purge_deletes_only_what_is_older_than_the_retention_period(stores):
    url, engine, events = stores
    _add_events(engine, events, "telegram-old", [200, 150, 91])  # last message 91 days ago
    _add_events(engine, events, "telegram-mixed", [120, 30])  # old start, recent end: kept whole
    _add_events(engine, events, "zalo-new", [1])
    _remember(engine, "telegram-old", 95)
    _remember(engine, "telegram-mixed", 30)
    _remember(engine, "zalo-new", 0.5)

    counts = privacy.purge_all(url, url, retention_days=90, now=NOW)

    assert _senders(engine, events) == {"telegram-mixed": 2, "zalo-new": 1}
    with engine.connect() as conn:
        assert sorted(conn.execute(sa.select(identities.c.sender_id)).scalars()) == [
            "telegram-mixed",
            "zalo-new",
        ]
    assert counts["conversation events"] == 3
    assert counts["pseudonym maps"] == 1
    # A shorter retention reaches the 30-day conversation too.
    privacy.purge_all(url, url, retention_days=7, now=NOW)
    assert _senders(engine, events) == {"zalo-new": 1}


def test_forget_everything_deletes_the_conversation_and_the_pseudonym_map(stores):
    url, engine, events = stores
    _add_events(engine, events, "telegram-me", [1, 0])
    _add_events(engine, events, "telegram-other", [1])
    IdentityStore(engine).remember("telegram-me", "telegram", "42")

    result = privacy.forget_everything("telegram-me", url, url)

    assert result.ok and result.deleted == {
        "conversation": 2,
        "pseudonym map": 1,
        "handoff transcripts": 0,
        "feedback and unanswered questions": 0,
        "web-chat messages waiting": 0,
        "this week's statistics keys": 0,
        "complaint letters and drafts": 0,
        "deadline reminders": 0,
        "zalo reply targets": 0,
    }
    assert _senders(engine, events) == {"telegram-other": 1}
    assert IdentityStore(engine).lookup("telegram-me") is None


def test_a_failed_store_means_not_done_and_a_pending_deletion_retried_by_the_purge(stores):
    url, engine, events = stores
    _add_events(engine, events, "zalo-me", [0])
    broken = {"pseudonym map": privacy.forget_identity, "queue items": _raise}

    result = privacy.forget_everything("zalo-me", url, url, stores=broken)

    assert not result.ok and result.failed == ("queue items",)
    assert _senders(engine, events) == {}  # what could be deleted was
    with engine.connect() as conn:
        pending = conn.execute(sa.select(pending_deletions)).one()
    assert pending.sender_id == "zalo-me" and pending.attempts == 1 and pending.last_failure == "queue items"
    # The store works again: the purge job finishes the deletion and clears the row.
    assert privacy.purge_all(url, url, 90, now=NOW)["owed deletions completed"] == 1
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(pending_deletions)).scalar() == 0


def _raise(engine, sender_id: str) -> int:
    raise sa.exc.OperationalError("DELETE", {}, Exception("server closed the connection"))


def test_an_unreachable_tracker_store_is_reported_as_a_failure(stores, tmp_path):
    url, engine, _ = stores
    unreachable = "postgresql://nobody@127.0.0.1:1/none"
    result = privacy.forget_everything("telegram-x", url, unreachable)
    assert result.failed == ("conversation",)


def test_only_one_replica_runs_the_daily_purge(stores):
    url, engine, _ = stores
    day = _dt.timedelta(hours=24)
    assert privacy.acquire_lease(engine, "purge", "replica-a", day, NOW)
    assert not privacy.acquire_lease(engine, "purge", "replica-b", day, NOW + _dt.timedelta(hours=1))
    assert not privacy.acquire_lease(engine, "purge", "replica-a", day, NOW + _dt.timedelta(hours=23))
    assert privacy.acquire_lease(engine, "purge", "replica-b", day, NOW + _dt.timedelta(hours=25))
    with engine.connect() as conn:
        assert conn.execute(sa.select(job_leases.c.holder)).scalar_one() == "replica-b"


def test_run_purge_once_runs_once_per_day(stores, monkeypatch):
    url, engine, events = stores
    _add_events(engine, events, "telegram-old", [100])
    assert privacy.run_purge_once(url, url, 90, holder="a")
    assert not privacy.run_purge_once(url, url, 90, holder="b")
    assert _senders(engine, events) == {}


def test_the_purge_command_prints_counts_and_no_ids(stores, monkeypatch, capsys):
    url, engine, events = stores
    _add_events(engine, events, "telegram-old", [400])
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("TRACKER_STORE_URL", url)
    assert privacy_cli.purge_command(type("Args", (), {"days": None})()) == 0
    out = capsys.readouterr().out
    assert "conversation events: 1" in out and "telegram-old" not in out
    assert _senders(engine, events) == {}


class _Dispatcher:
    def __init__(self) -> None:
        self.messages: list[dict] = []

    def utter_message(self, **kwargs) -> None:
        self.messages.append(kwargs)


class _Tracker:
    sender_id = "telegram-me"
    slots = {"language": "vi"}
    latest_message: dict = {"metadata": {}}

    def get_slot(self, name: str):
        return self.slots.get(name)


@pytest.mark.parametrize("ok", [True, False])
def test_the_action_says_done_only_when_everything_was_deleted(monkeypatch, ok):
    from actions import privacy as action

    failed = () if ok else ("conversation",)
    monkeypatch.setattr(action, "forget_everything", lambda sender: privacy.ForgetResult({}, failed))
    dispatcher = _Dispatcher()
    asyncio.run(action.ActionForgetMe().run(dispatcher, _Tracker(), {}))
    text = dispatcher.messages[0]["text"]
    if ok:
        assert text.startswith("Xong.")
        assert dispatcher.messages[1] == {"json_message": {"forgotten": True}}
    else:
        assert "chưa xóa được hết" in text and "Xong" not in text
        assert len(dispatcher.messages) == 1


def test_the_web_chat_reply_carries_the_forgotten_marker_without_an_empty_message():
    from bot.channels.webchat import mark_forgotten

    replies = [
        {"recipient_id": "web-x", "text": "Xong."},
        {"recipient_id": "web-x", "custom": {"forgotten": True}},
    ]
    assert mark_forgotten(replies) == [{"recipient_id": "web-x", "text": "Xong.", "forgotten": True}]
    assert mark_forgotten([{"text": "hi"}]) == [{"text": "hi"}]
