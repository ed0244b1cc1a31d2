"""The feedback store on a real database (SQLite, and PostgreSQL when available): votes,
the grouped queue, staff decisions, retention purge and "forget me"."""

from __future__ import annotations

import datetime as _dt

import pytest
import sqlalchemy as sa

from bot import db, feedback
from bot.__main__ import main

UTC = _dt.timezone.utc


@pytest.fixture
def engine(database_url):
    engine = db.get_engine(database_url)
    yield engine
    db.dispose_engines()


def _rows(engine, table):
    with engine.connect() as connection:
        return connection.execute(sa.select(table)).all()


def _age(engine, table, days: int, now: _dt.datetime) -> None:
    """Backdate every row of `table` that has no age yet set by this helper."""
    with engine.begin() as connection:
        connection.execute(
            sa.update(table)
            .where(table.c.created_at > (now - _dt.timedelta(days=1)).replace(tzinfo=None))
            .values(created_at=(now - _dt.timedelta(days=days)).replace(tzinfo=None))
        )


def test_items_are_stored_masked_without_the_sender_id(engine):
    feedback.add_item(engine, "fallback", "số em 0912 345 678, tên em là Lan", "vi", "telegram-abc123")
    (row,) = _rows(engine, db.feedback_queue_items)
    assert row.text == "số em [phone], tên em là [name]"
    assert row.key == "so em [phone] ten em la [name]"
    assert "telegram-abc123" not in repr(tuple(row))
    assert row.sender_key == feedback.sender_key("telegram-abc123")


def test_similar_messages_fall_together_with_counts_kinds_and_languages(engine):
    feedback.add_item(engine, "fallback", "tiền ký quỹ?", "vi", "s1")
    feedback.add_item(engine, "out_of_scope", "tien ky quy", "vi", "s2")
    feedback.add_item(engine, "thumbs_down", "Tiền ký quỹ", "en", None, topic="deposit_refund")
    feedback.add_item(engine, "fallback", "visa E9", "vi", "s1")
    groups = feedback.queue(engine)
    assert [(g.key, g.count) for g in groups] == [("tien ky quy", 3), ("visa e9", 1)]
    top = groups[0]
    assert top.kinds == ("fallback", "out_of_scope", "thumbs_down")
    assert top.langs == ("en", "vi")
    assert top.sample == "Tiền ký quỹ"
    assert top.status == "open" and top.topic is None
    assert top.first_seen.tzinfo is not None and top.first_seen <= top.last_seen


def test_unknown_kinds_and_empty_text_are_refused_or_skipped(engine):
    with pytest.raises(ValueError):
        feedback.add_item(engine, "spam", "x", "vi", None)
    feedback.add_item(engine, "fallback", " ?! ", "vi", None)
    assert feedback.queue(engine) == []


def test_handled_groups_leave_the_open_queue_and_come_back_when_asked_again(engine):
    feedback.add_item(engine, "fallback", "tien ky quy", "vi", "s1")
    feedback.mark_handled(engine, "tien ky quy", "staff@ngo.example")
    assert feedback.queue(engine) == []
    assert [g.key for g in feedback.queue(engine, "handled")] == ["tien ky quy"]
    feedback.add_item(engine, "fallback", "Tiền ký quỹ", "vi", "s2")
    assert [(g.key, g.count) for g in feedback.queue(engine)] == [("tien ky quy", 2)]


def test_a_group_linked_to_a_topic_is_kept_as_a_training_example(engine):
    feedback.add_item(engine, "fallback", "tiền ký quỹ lấy ở đâu", "vi", "s1")
    feedback.link_topic(engine, "tien ky quy lay o dau", "deposit_refund", "editor@ngo.example")
    (linked,) = feedback.queue(engine, "linked")
    assert linked.topic == "deposit_refund"
    assert feedback.queue(engine) == []
    assert feedback.training_examples(engine) == [("tien ky quy lay o dau", "deposit_refund")]
    with pytest.raises(ValueError):
        feedback.queue(engine, "deleted")


def test_votes_are_counted_per_topic_and_keep_no_text(engine):
    feedback.record_vote(engine, "deposit_refund", "vi", "up", "s1")
    feedback.record_vote(engine, "deposit_refund", "vi", "down", "s2")
    feedback.record_vote(engine, "deposit_refund", "en", "up", None)
    feedback.record_vote(engine, "work_injury", "vi", "down", "s1")
    assert feedback.votes_by_topic(engine) == {"deposit_refund": (2, 1), "work_injury": (0, 1)}
    assert set(db.feedback_votes.c.keys()) == {"id", "topic", "lang", "vote", "sender_key", "created_at"}
    with pytest.raises(ValueError):
        feedback.record_vote(engine, "deposit_refund", "vi", "meh", None)


def test_purge_deletes_only_rows_older_than_the_retention(engine):
    now = _dt.datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    feedback.add_item(engine, "fallback", "very old question", "en", "s1")
    feedback.record_vote(engine, "deposit_refund", "vi", "up", "s1")
    _age(engine, db.feedback_queue_items, 200, now)
    _age(engine, db.feedback_votes, 200, now)
    feedback.add_item(engine, "fallback", "just over ninety days", "en", "s2")
    feedback.record_vote(engine, "deposit_refund", "vi", "down", "s2")
    _age(engine, db.feedback_queue_items, 91, now)
    _age(engine, db.feedback_votes, 91, now)
    feedback.add_item(engine, "fallback", "eighty nine days", "en", "s3")
    feedback.record_vote(engine, "work_injury", "vi", "up", "s3")
    _age(engine, db.feedback_queue_items, 89, now)
    _age(engine, db.feedback_votes, 89, now)
    feedback.mark_handled(engine, "very old question", "staff@ngo.example")

    deleted = feedback.purge(engine, now, 90)

    assert deleted == 5  # 2 items + 2 votes + the handled group's decision
    assert [g.key for g in feedback.queue(engine)] == ["eighty nine days"]
    assert feedback.votes_by_topic(engine) == {"work_injury": (1, 0)}
    assert _rows(engine, db.feedback_queue_groups) == []
    assert feedback.purge(engine, now, 90) == 0
    with pytest.raises(ValueError):
        feedback.purge(engine, now, 0)


def test_purge_keeps_training_examples(engine):
    now = _dt.datetime.now(UTC)
    feedback.add_item(engine, "fallback", "tien ky quy", "vi", "s1")
    feedback.link_topic(engine, "tien ky quy", "deposit_refund", "editor@ngo.example")
    feedback.purge(engine, now + _dt.timedelta(days=400), 90)
    assert _rows(engine, db.feedback_queue_items) == []
    assert feedback.training_examples(engine) == [("tien ky quy", "deposit_refund")]


def test_forget_deletes_the_senders_votes_and_items_only(engine):
    feedback.add_item(engine, "fallback", "tien ky quy", "vi", "telegram-me")
    feedback.add_item(engine, "thumbs_down", "thiếu địa chỉ", "vi", "telegram-me", topic="deposit_refund")
    feedback.record_vote(engine, "deposit_refund", "vi", "down", "telegram-me")
    feedback.add_item(engine, "fallback", "tien ky quy", "vi", "zalo-other")
    feedback.record_vote(engine, "deposit_refund", "vi", "up", "zalo-other")
    feedback.mark_handled(engine, "thieu dia chi", "staff@ngo.example")

    assert feedback.forget(engine, "telegram-me") == 3

    assert [(g.key, g.count) for g in feedback.queue(engine)] == [("tien ky quy", 1)]
    assert feedback.votes_by_topic(engine) == {"deposit_refund": (1, 0)}
    assert feedback.queue(engine, "handled") == []
    assert feedback.forget(engine, "telegram-me") == 0


def test_the_purge_command_uses_retention_days(engine, database_url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("RETENTION_DAYS", "30")
    feedback.add_item(engine, "fallback", "old", "en", None)
    _age(engine, db.feedback_queue_items, 31, _dt.datetime.now(UTC))
    feedback.add_item(engine, "fallback", "new", "en", None)

    assert main(["privacy", "purge"]) == 0

    out = capsys.readouterr().out
    assert "Purged data older than 30 days:" in out and "feedback and unanswered questions: 1" in out
    assert [g.key for g in feedback.queue(engine)] == ["new"]
    assert main(["privacy", "purge", "--days", "0"]) == 2
