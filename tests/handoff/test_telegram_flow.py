"""A handoff on Telegram through the real channel pipeline and the fake Bot API: request,
consent, inbox, the bot silent, danger still answered and urgent, staff reply, end."""

from __future__ import annotations

import json

import httpx
import pytest

from bot import handoff
from bot.channels.context import ChannelContext
from bot.channels.telegram import TelegramInput
from bot.settings import load_settings
from tests.fakes.http import eventually
from tests.fakes.telegram import TELEGRAM_SECRET, TELEGRAM_TOKEN, callback_update, group_update, text_update
from tests.handoff.conftest import STAFF_CHAT

USER = 987654321
STAFF = "lan@ngo.example"


async def post(base: str, update: dict) -> None:
    async with httpx.AsyncClient() as client:
        reply = await client.post(
            base + "/webhooks/telegram/webhook",
            content=json.dumps(update),
            headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
        )
    assert reply.status_code == 200


@pytest.fixture
def channel(env, fake_telegram) -> TelegramInput:
    settings = load_settings(env)
    return TelegramInput(
        TELEGRAM_TOKEN,
        TELEGRAM_SECRET,
        fake_telegram.api_base_url,
        ChannelContext.from_settings(settings),
        typing_after=5.0,
        staff_chat_id=settings.staff_telegram_chat_id,
    )


async def consent(base: str, fake_telegram, update_id: int = 2) -> None:
    """/human, then the Yes button of the offer."""
    await post(base, text_update(update_id, "/human", user_id=USER))
    assert await eventually(
        lambda: any("Họ sẽ không thấy số điện thoại" in t for t in fake_telegram.sent_to(USER))
    )
    offer = [c for c in fake_telegram.calls_of("sendMessage") if "reply_markup" in c.params][-1]
    yes = offer.params["reply_markup"]["inline_keyboard"][0][0]
    assert yes["text"] == "Có, kết nối giúp tôi"
    await post(base, callback_update(update_id + 1, yes["callback_data"], user_id=USER))
    assert await eventually(
        lambda: any("Tôi đã chuyển cuộc trò chuyện" in t for t in fake_telegram.sent_to(USER))
    )


async def test_handoff_on_telegram_end_to_end(serve, channel, dialogue, fake_telegram, engine):
    base = await serve(channel, dialogue)
    await post(base, text_update(1, "lương của tôi bị nợ", user_id=USER))
    assert await eventually(lambda: "echo 1" in fake_telegram.sent_to(USER))
    await consent(base, fake_telegram)

    [summary] = handoff.inbox(engine)
    assert summary.channel == "telegram" and summary.lang == "vi" and summary.country == "KR"
    assert summary.state == "waiting" and not summary.urgent and str(USER) not in summary.label
    texts = [t.text for t in handoff.transcript(engine, summary.id)]
    assert texts[0] == "lương của tôi bị nợ" and "echo 1" in texts

    # Held: stored for staff, no bot reply, Rasa not asked.
    asked = len(dialogue.messages)
    sent = len(fake_telegram.sent_to(USER))
    await post(base, text_update(10, "còn ai ở đó không?", user_id=USER))
    assert await eventually(lambda: handoff.transcript(engine, summary.id)[-1].text == "còn ai ở đó không?")
    assert len(dialogue.messages) == asked and len(fake_telegram.sent_to(USER)) == sent

    # Danger still gets the urgent card at once, and the handoff becomes urgent.
    await post(base, text_update(11, "ông chủ đánh tôi, tôi sợ lắm", user_id=USER))
    assert await eventually(lambda: any("+84 981 84 84 84" in t for t in fake_telegram.sent_to(USER)))
    assert handoff.inbox(engine)[0].urgent and len(dialogue.messages) == asked

    # A staff reply reaches the user through the Bot API, and is recorded.
    result = await handoff.send_staff_reply(
        engine, summary.id, STAFF, "Chào bạn, tôi là Lan. Bạn đang ở đâu?"
    )
    assert result.ok
    assert fake_telegram.sent_to(USER)[-1] == "Nhân viên: Chào bạn, tôi là Lan. Bạn đang ở đâu?"
    last = handoff.transcript(engine, summary.id)[-1]
    assert (last.author, last.staff) == ("staff", STAFF)
    assert handoff.get(engine, summary.id).claimed_by == STAFF

    # The end: the user is told, and the bot answers again.
    assert (await handoff.end(engine, summary.id, STAFF, "resolved")).ok
    assert "Bạn đang nói chuyện lại với trợ lý tự động" in fake_telegram.sent_to(USER)[-1]
    assert handoff.inbox(engine) == []
    await post(base, text_update(12, "cảm ơn", user_id=USER))
    assert await eventually(lambda: len(dialogue.messages) == asked + 1)


async def test_declining_opens_nothing(serve, channel, dialogue, fake_telegram, engine):
    base = await serve(channel, dialogue)
    await post(base, text_update(1, "/human", user_id=USER))
    assert await eventually(lambda: fake_telegram.calls_of("sendMessage"))
    offer = fake_telegram.calls_of("sendMessage")[-1]
    no = offer.params["reply_markup"]["inline_keyboard"][1][0]
    await post(base, callback_update(2, no["callback_data"], user_id=USER))
    assert await eventually(lambda: "Vâng. Bạn cứ tiếp tục hỏi tôi" in fake_telegram.sent_to(USER)[-1])
    assert handoff.inbox(engine) == []


async def test_outside_staff_hours_the_user_is_told_when_and_given_the_urgent_numbers(
    serve, channel, dialogue, fake_telegram, engine, monkeypatch
):
    monkeypatch.setenv("HANDOFF_HOURS", "mon 00:00-00:01")  # closed almost all week
    base = await serve(channel, dialogue)
    await post(base, text_update(1, "/human", user_id=USER))
    assert await eventually(lambda: fake_telegram.calls_of("sendMessage"))
    yes = fake_telegram.calls_of("sendMessage")[-1].params["reply_markup"]["inline_keyboard"][0][0]
    await post(base, callback_update(2, yes["callback_data"], user_id=USER))
    assert await eventually(lambda: any("Hiện họ không làm việc" in t for t in fake_telegram.sent_to(USER)))
    assert "Thứ Hai" in next(t for t in fake_telegram.sent_to(USER) if "Hiện họ không làm việc" in t)
    assert await eventually(lambda: "+84 981 84 84 84" in fake_telegram.sent_to(USER)[-1])
    assert len(handoff.inbox(engine)) == 1  # waiting in the inbox all the same


@pytest.fixture
def bridge_env(env, monkeypatch):
    monkeypatch.setenv("STAFF_TELEGRAM_CHAT_ID", str(STAFF_CHAT))
    return {**env, "STAFF_TELEGRAM_CHAT_ID": str(STAFF_CHAT)}


@pytest.fixture
def bridged_channel(bridge_env, fake_telegram) -> TelegramInput:
    settings = load_settings(bridge_env)
    return TelegramInput(
        TELEGRAM_TOKEN,
        TELEGRAM_SECRET,
        fake_telegram.api_base_url,
        ChannelContext.from_settings(settings),
        typing_after=5.0,
        staff_chat_id=settings.staff_telegram_chat_id,
    )


async def test_the_staff_group_bridge_end_to_end(serve, bridged_channel, dialogue, fake_telegram, engine):
    base = await serve(bridged_channel, dialogue)
    await post(base, text_update(1, "lương của tôi bị nợ", user_id=USER))
    assert await eventually(lambda: "echo 1" in fake_telegram.sent_to(USER))
    await consent(base, fake_telegram)

    # A forum topic named by the label, with the conversation so far.
    [summary] = handoff.inbox(engine)
    assert await eventually(lambda: fake_telegram.calls_of("createForumTopic"))
    topic = fake_telegram.calls_of("createForumTopic")[0]
    assert int(topic.params["chat_id"]) == STAFF_CHAT and topic.params["name"] == summary.label
    thread = 501
    assert await eventually(
        lambda: any("lương của tôi bị nợ" in t for t in fake_telegram.sent_to(STAFF_CHAT, thread))
    )
    assert not any(str(USER) in t for t in fake_telegram.sent_to(STAFF_CHAT))

    # The user's messages appear in the topic.
    await post(base, text_update(10, "còn ai ở đó không?", user_id=USER))
    assert await eventually(
        lambda: any("còn ai ở đó không?" in t for t in fake_telegram.sent_to(STAFF_CHAT, thread))
    )

    # Staff answer in the topic: delivered to the user (once, even if Telegram redelivers).
    await post(base, group_update(20, STAFF_CHAT, "Chào bạn, mình là Lan", thread_id=thread))
    assert await eventually(lambda: fake_telegram.sent_to(USER)[-1] == "Nhân viên: Chào bạn, mình là Lan")
    await post(base, group_update(20, STAFF_CHAT, "Chào bạn, mình là Lan", thread_id=thread))

    # Another group, or the group's general topic: ignored.
    before = len(fake_telegram.calls_of("sendMessage"))
    await post(base, group_update(21, -100999, "gửi nhầm nhóm", thread_id=thread))
    await post(base, group_update(22, STAFF_CHAT, "tin chung", thread_id=None))
    await post(base, text_update(23, "ok", user_id=USER))  # something that is sent, to wait on
    assert await eventually(lambda: any(t.endswith("ok") for t in fake_telegram.sent_to(STAFF_CHAT, thread)))
    assert not any("gửi nhầm nhóm" in t or "tin chung" in t for t in fake_telegram.sent_to(USER))
    assert len(fake_telegram.calls_of("sendMessage")) == before + 1

    # /done in the topic ends the handoff; the user is told.
    await post(base, group_update(30, STAFF_CHAT, "/done", thread_id=thread))
    assert await eventually(
        lambda: "Bạn đang nói chuyện lại với trợ lý tự động" in fake_telegram.sent_to(USER)[-1]
    )
    assert handoff.get(engine, summary.id).state == "closed"


async def test_with_the_handoff_table_unreachable_the_bot_still_answers(
    serve, channel, dialogue, fake_telegram, monkeypatch
):
    def broken(*_):
        raise OSError("database down")

    monkeypatch.setattr(handoff, "current", broken)
    base = await serve(channel, dialogue)
    await post(base, text_update(1, "ông chủ đánh tôi", user_id=USER))
    assert await eventually(lambda: len(dialogue.messages) == 1)  # Rasa answers (urgent help in-process)


async def test_a_second_tap_on_yes_opens_no_second_handoff(
    serve, bridged_channel, dialogue, fake_telegram, engine
):
    base = await serve(bridged_channel, dialogue)
    await consent(base, fake_telegram)
    offer = [c for c in fake_telegram.calls_of("sendMessage") if "reply_markup" in c.params][0]
    yes = offer.params["reply_markup"]["inline_keyboard"][0][0]
    await post(base, callback_update(50, yes["callback_data"], user_id=USER))
    assert await eventually(lambda: sum("Tôi đã chuyển" in t for t in fake_telegram.sent_to(USER)) == 2)
    assert len(handoff.inbox(engine)) == 1 and len(fake_telegram.calls_of("createForumTopic")) == 1


async def test_in_the_group_a_conversation_held_in_the_console_is_not_answered(
    serve, bridged_channel, dialogue, fake_telegram, engine
):
    base = await serve(bridged_channel, dialogue)
    await consent(base, fake_telegram)
    [summary] = handoff.inbox(engine)
    assert await eventually(lambda: fake_telegram.calls_of("createForumTopic"))
    thread = 501
    await post(base, group_update(20, STAFF_CHAT, "Chào bạn", thread_id=thread))
    assert await eventually(lambda: fake_telegram.sent_to(USER)[-1] == "Nhân viên: Chào bạn")
    assert handoff.get(engine, summary.id).claimed_by is None  # the group does not lock the console out
    assert handoff.claim(engine, summary.id, STAFF)
    await post(base, group_update(21, STAFF_CHAT, "Bạn ở đâu?", thread_id=thread))
    assert await eventually(
        lambda: any(handoff.REASON_CLAIMED in t for t in fake_telegram.sent_to(STAFF_CHAT, thread))
    )
    assert fake_telegram.sent_to(USER)[-1] == "Nhân viên: Chào bạn"
