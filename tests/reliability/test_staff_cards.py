"""Issue 11 delivery gaps: a card sent by staff keeps its buttons on Telegram and Zalo (the
bot's own markup), and a Zalo staff reply names the user's message while it is free."""

from __future__ import annotations

import datetime as _dt

import sqlalchemy as sa

from bot import handoff
from bot.answers import card_reply
from bot.channels.stores import PayloadStore, remember_reply_target
from bot.db import handoffs
from bot.identity import IdentityStore, pseudonymize
from bot.markup import to_plain

STAFF = "lan@ngo.example"
HISTORY = [("user", "cho tôi gặp người thật")]


def _handoff(engine, channel: str, platform_id: str) -> tuple[int, str]:
    sender = pseudonymize(channel, platform_id, "test-secret")
    IdentityStore(engine).remember(sender, channel, platform_id)
    handoff_id = handoff.open_handoff(
        engine,
        sender,
        channel,
        "vi",
        "KR",
        None,
        "complaint_employer",
        HISTORY,
        _dt.datetime.now(_dt.timezone.utc),
    )
    if channel == "zalo":
        with engine.begin() as conn:
            conn.execute(sa.update(handoffs).values(last_user_message_at=_dt.datetime.utcnow()))
    return handoff_id, sender


def _titles(card_id: str) -> list[str]:
    card = card_reply(card_id, "vi")
    assert card is not None and card["buttons"]
    return [to_plain(button["title"]) for button in card["buttons"]]


async def test_a_staff_card_on_telegram_keeps_its_inline_keyboard(engine, env, fake_telegram):
    handoff_id, _ = _handoff(engine, "telegram", "4242")
    assert (await handoff.send_card(engine, handoff_id, STAFF, "deposit_refund")).ok
    [call] = fake_telegram.calls_of("sendMessage")
    assert int(call.params["chat_id"]) == 4242 and call.params["parse_mode"] == "HTML"
    assert "<b>" in call.params["text"]  # the bot's HTML, not raw Markdown
    keyboard = call.params["reply_markup"]["inline_keyboard"]
    buttons = [button for row in keyboard for button in row]
    assert [b["text"] for b in buttons] == _titles("deposit_refund")
    payloads = [card_reply("deposit_refund", "vi")["buttons"][i]["payload"] for i in range(len(buttons))]
    for button, payload in zip(buttons, payloads, strict=True):
        data = button["callback_data"]
        # The payload itself, or its short id when longer than Telegram's 64 bytes.
        assert data == payload or await PayloadStore(engine).decode(data) == payload


async def test_a_staff_card_on_zalo_keeps_its_buttons_and_is_a_free_reply(engine, env, fake_zalo):
    handoff_id, sender = _handoff(engine, "zalo", "6142494823123456789")
    remember_reply_target(engine, sender, "msg-77")
    assert (await handoff.send_card(engine, handoff_id, STAFF, "deposit_refund")).ok
    calls = fake_zalo.sent()
    assert all(call.params["recipient"] == {"message_id": "msg-77"} for call in calls)
    buttons = [
        button
        for call in calls
        if "attachment" in call.params["message"]
        for button in call.params["message"]["attachment"]["payload"]["buttons"]
    ]
    assert [b["title"] for b in buttons] == _titles("deposit_refund")
    assert {b["type"] for b in buttons} <= {"oa.query.show", "oa.open.url"}
    assert "**" not in calls[0].params["message"]["text"]  # plain text on Zalo


async def test_a_zalo_reply_after_the_free_window_is_proactive(engine, env, fake_zalo):
    handoff_id, sender = _handoff(engine, "zalo", "6142494823123456789")
    remember_reply_target(engine, sender, "msg-old")
    with engine.begin() as conn:  # the user last wrote 3 days ago: still within 7 days, not free
        conn.execute(
            sa.update(handoffs).values(last_user_message_at=_dt.datetime.utcnow() - _dt.timedelta(days=3))
        )
    assert (await handoff.send_staff_reply(engine, handoff_id, STAFF, "Chào em")).ok
    assert fake_zalo.sent()[-1].params["recipient"] == {"user_id": "6142494823123456789"}


def test_forget_me_deletes_the_zalo_reply_target(engine, env):
    from bot.channels.stores import reply_target
    from bot.privacy import FORGET_STORES

    remember_reply_target(engine, "zalo-abc", "msg-1")
    assert reply_target(engine, "zalo-abc") == "msg-1"
    assert FORGET_STORES["zalo reply targets"](engine, "zalo-abc") == 1
    assert reply_target(engine, "zalo-abc") is None
