"""`bot.handoff` against a real database: opening, the inbox, claiming, the Zalo reply
window, changes for the live inbox, thumbs down, "forget me" and retention."""

from __future__ import annotations

import datetime as _dt

import sqlalchemy as sa

from bot import handoff
from bot.db import handoff_messages, handoffs
from bot.identity import IdentityStore, pseudonymize

UTC = _dt.timezone.utc
T0 = _dt.datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
HISTORY = [
    ("user", "tôi bị nợ lương 3 tháng"),
    ("bot", "Đây là các bước..."),
    ("user", "cho tôi gặp người thật"),
]


def _open(engine, sender="telegram-aaaa", channel="telegram", now=T0, **kwargs):
    return handoff.open_handoff(
        engine, sender, channel, "vi", "KR", None, "complaint_employer", HISTORY, now, **kwargs
    )


def test_an_opened_handoff_is_in_the_inbox_under_a_pseudonymous_label(engine):
    handoff_id = _open(engine, sender="telegram-0123456789abcdef0123456789abcdef")
    [summary] = handoff.inbox(engine)
    assert summary.id == handoff_id and summary.state == "waiting" and summary.country == "KR"
    assert summary.label.startswith("TG-") and len(summary.label) == 9
    assert "0123456789" not in summary.label
    assert summary.created_at.tzinfo is not None and summary.can_reply
    assert [t.author for t in handoff.transcript(engine, handoff_id)] == ["user", "bot", "user"]
    assert handoff.transcript(engine, handoff_id, limit=1)[0].text == "cho tôi gặp người thật"
    assert _open(engine, sender="telegram-0123456789abcdef0123456789abcdef") == handoff_id  # no second one


def test_urgent_first_then_oldest(engine):
    first = _open(engine, sender="telegram-a")
    second = _open(engine, sender="telegram-b", now=T0 + _dt.timedelta(minutes=5))
    third = _open(engine, sender="telegram-c", now=T0 + _dt.timedelta(minutes=9))
    handoff.record_user_message(engine, third, "họ đánh tôi", urgent=True)
    assert [s.id for s in handoff.inbox(engine)] == [third, first, second]


def test_two_staff_cannot_hold_one_handoff(engine):
    handoff_id = _open(engine)
    assert handoff.claim(engine, handoff_id, "lan@ngo.example")
    assert not handoff.claim(engine, handoff_id, "minh@ngo.example")
    assert handoff.get(engine, handoff_id).claimed_by == "lan@ngo.example"
    assert handoff.get(engine, handoff_id).state == "active"
    handoff.release(engine, handoff_id, "minh@ngo.example")  # not the holder: nothing happens
    assert handoff.get(engine, handoff_id).claimed_by == "lan@ngo.example"
    handoff.release(engine, handoff_id, "lan@ngo.example")
    assert handoff.claim(engine, handoff_id, "minh@ngo.example")


async def test_a_reply_to_a_conversation_held_by_someone_else_is_refused(engine, env, fake_telegram):
    handoff_id = _open(engine)
    assert handoff.claim(engine, handoff_id, "lan@ngo.example")
    result = await handoff.send_staff_reply(engine, handoff_id, "minh@ngo.example", "Chào bạn")
    assert result == handoff.Delivery(False, handoff.REASON_CLAIMED)
    assert fake_telegram.calls_of("sendMessage") == []


def test_changes_since_lists_each_changed_handoff_once(engine):
    cursor, _ = handoff.changes_since(engine, 0)
    a = _open(engine, sender="telegram-a")
    b = _open(engine, sender="telegram-b")
    handoff.record_user_message(engine, a, "còn đó không?")
    cursor2, changed = handoff.changes_since(engine, cursor)
    assert sorted(changed) == sorted([a, b]) and cursor2 > cursor
    assert handoff.changes_since(engine, cursor2) == (cursor2, [])
    handoff.claim(engine, b, "lan@ngo.example")
    assert handoff.changes_since(engine, cursor2)[1] == [b]


def test_zalo_reply_window_and_free_replies(engine):
    handoff_id = _open(engine, sender="zalo-aaaa", channel="zalo")
    fresh = handoff.get(engine, handoff_id, now=T0 + _dt.timedelta(hours=1))
    assert fresh.can_reply and fresh.reply_note is None
    later = handoff.get(engine, handoff_id, now=T0 + _dt.timedelta(hours=49))
    assert later.can_reply and later.reply_note == handoff.NOTE_ZALO_PAID
    too_late = handoff.get(engine, handoff_id, now=T0 + _dt.timedelta(days=7, minutes=1))
    assert not too_late.can_reply and too_late.reply_note == handoff.NOTE_ZALO_WINDOW
    with engine.begin() as conn:
        for n in range(8):
            conn.execute(
                sa.insert(handoff_messages).values(
                    handoff_id=handoff_id,
                    author="staff",
                    text=f"r{n}",
                    delivery="sent",
                    created_at=(T0 + _dt.timedelta(minutes=n + 1)).replace(tzinfo=None),
                )
            )
    assert (
        handoff.get(engine, handoff_id, now=T0 + _dt.timedelta(hours=1)).reply_note == handoff.NOTE_ZALO_PAID
    )
    handoff.record_user_message(engine, handoff_id, "cảm ơn", now=T0 + _dt.timedelta(hours=2))
    assert handoff.get(engine, handoff_id, now=T0 + _dt.timedelta(hours=3)).reply_note is None


async def test_past_the_zalo_window_a_reply_is_refused_with_the_reason(engine, env, fake_zalo):
    sender = pseudonymize("zalo", "8800112233", "test-secret")
    IdentityStore(engine).remember(sender, "zalo", "8800112233")
    old = _dt.datetime.now(UTC) - _dt.timedelta(days=8)
    handoff_id = _open(engine, sender=sender, channel="zalo", now=old)
    result = await handoff.send_staff_reply(engine, handoff_id, "lan@ngo.example", "Chào bạn")
    assert result == handoff.Delivery(False, handoff.NOTE_ZALO_WINDOW)
    assert fake_zalo.sent() == []
    assert not handoff.get(engine, handoff_id).can_reply


async def test_a_forgotten_user_cannot_be_reached(engine, env, fake_telegram):
    handoff_id = _open(engine, sender="telegram-nobody")
    result = await handoff.send_staff_reply(engine, handoff_id, "lan@ngo.example", "Chào bạn")
    assert result == handoff.Delivery(False, handoff.REASON_FORGOTTEN)
    assert fake_telegram.calls_of("sendMessage") == []
    assert handoff.transcript(engine, handoff_id)[-1].author == "staff"  # recorded with its result
    with engine.connect() as conn:
        assert (
            conn.execute(
                sa.select(handoff_messages.c.delivery).order_by(handoff_messages.c.id.desc())
            ).first()[0]
            == handoff.REASON_FORGOTTEN
        )


def test_two_thumbs_down_offer_a_person(engine):
    assert not handoff.note_thumbs_down(engine, "telegram-a", now=T0)
    assert handoff.note_thumbs_down(engine, "telegram-a", now=T0 + _dt.timedelta(minutes=2))
    assert not handoff.note_thumbs_down(
        engine, "telegram-a", now=T0 + _dt.timedelta(minutes=3)
    )  # starts again
    assert not handoff.note_thumbs_down(engine, "telegram-b", now=T0)
    assert not handoff.note_thumbs_down(engine, "telegram-b", now=T0 + _dt.timedelta(days=2))  # too far apart


def test_forget_deletes_the_users_handoffs_and_their_text(engine):
    mine = _open(engine, sender="telegram-me")
    other = _open(engine, sender="telegram-other")
    handoff.note_thumbs_down(engine, "telegram-me")
    assert handoff.forget(engine, "telegram-me") > 0
    with engine.connect() as conn:
        assert conn.execute(sa.select(handoffs.c.id)).scalars().all() == [other]
        assert (
            conn.execute(
                sa.select(sa.func.count())
                .select_from(handoff_messages)
                .where(handoff_messages.c.handoff_id == mine)
            ).scalar_one()
            == 0
        )
    assert handoff.get(engine, other) is not None


def test_purge_deletes_what_is_older_than_the_retention(engine):
    old = _open(engine, sender="telegram-old", now=T0 - _dt.timedelta(days=100))
    recent = _open(engine, sender="telegram-new", now=T0 - _dt.timedelta(days=1))
    deleted = handoff.purge(engine, T0, retention_days=90)
    assert deleted >= 4  # the old handoff and its 3 turns
    assert handoff.get(engine, old) is None
    assert len(handoff.transcript(engine, recent)) == 3
    assert handoff.purge(engine, T0, retention_days=90) == 0


async def test_bot_should_have_known_goes_to_the_unanswered_queue(engine, env, fake_telegram, monkeypatch):
    import sys
    import types

    added = []
    fake_feedback = types.ModuleType("bot.feedback")
    fake_feedback.add_item = lambda *args: added.append(args)
    monkeypatch.setitem(sys.modules, "bot.feedback", fake_feedback)
    handoff_id = _open(engine, sender="telegram-q")
    await handoff.end(engine, handoff_id, "lan@ngo.example", "bot_should_have_known")
    assert added == [(engine, "handoff", "tôi bị nợ lương 3 tháng", "vi", "telegram-q", "complaint_employer")]
    assert (
        await handoff.end(engine, handoff_id, "lan@ngo.example", "resolved")
    ).reason == handoff.REASON_CLOSED
    assert (await handoff.end(engine, handoff_id, "lan@ngo.example", "whatever")).ok is False


async def test_send_card_sends_the_card_in_the_users_language(engine, env, fake_telegram):
    sender = pseudonymize("telegram", 4242, "test-secret")
    IdentityStore(engine).remember(sender, "telegram", 4242)
    handoff_id = _open(engine, sender=sender)
    assert "complaint_employer" in handoff.likely_topics(engine, handoff_id)
    assert (await handoff.send_card(engine, handoff_id, "lan@ngo.example", "deposit_refund")).ok
    [call] = fake_telegram.calls_of("sendMessage")
    assert int(call.params["chat_id"]) == 4242 and "ký quỹ" in call.params["text"]
    assert (
        await handoff.send_card(engine, handoff_id, "lan@ngo.example", "no_such_card")
    ).reason == handoff.REASON_NO_CARD


def test_forget_me_deletes_the_handoffs_too(engine, db_url):
    from bot.privacy import forget_everything

    handoff_id = _open(engine, sender="telegram-me")
    IdentityStore(engine).remember("telegram-me", "telegram", 4242)
    result = forget_everything("telegram-me", db_url, db_url)
    assert result.ok and result.deleted["pseudonym map"] == 1
    assert result.deleted["handoff transcripts"] >= 1
    assert handoff.get(engine, handoff_id) is None and handoff.inbox(engine) == []
