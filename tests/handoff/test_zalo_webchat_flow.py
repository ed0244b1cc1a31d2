"""A handoff on Zalo (the OA's reply window) and in the web chat, through the channels."""

from __future__ import annotations

import datetime as _dt
import json
import time

import httpx
import pytest
import sqlalchemy as sa

from bot import handoff
from bot.channels.context import ChannelContext
from bot.channels.webchat import WebChatInput
from bot.channels.zalo import ZaloInput
from bot.channels.zalo_api import ZaloConfig, signature
from bot.db import handoffs
from bot.settings import load_settings
from tests.fakes.http import eventually
from tests.fakes.zalo import ZALO_APP_ID, ZALO_OA_SECRET

ZALO_USER = "6142494823123456789"
STAFF = "lan@ngo.example"


def zalo_event(text: str, msg_id: str) -> dict:
    return {
        "event_name": "user_send_text",
        "app_id": ZALO_APP_ID,
        "sender": {"id": ZALO_USER},
        "recipient": {"id": "3662729599332560487"},
        "message": {"text": text, "msg_id": msg_id},
        "timestamp": str(int(time.time() * 1000)),
    }


async def post_zalo(base: str, body: dict) -> None:
    raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
    mac = "mac=" + signature(ZALO_APP_ID, raw, body["timestamp"], ZALO_OA_SECRET)
    async with httpx.AsyncClient() as client:
        reply = await client.post(
            base + "/webhooks/zalo/webhook",
            content=raw,
            headers={"X-ZEvent-Signature": mac, "Content-Type": "application/json"},
        )
    assert reply.status_code == 200


@pytest.fixture
def zalo_channel(env) -> ZaloInput:
    settings = load_settings(env)
    return ZaloInput(ZaloConfig.from_settings(settings.zalo), ChannelContext.from_settings(settings))


async def test_handoff_on_zalo_and_its_reply_window(serve, zalo_channel, dialogue, fake_zalo, engine):
    base = await serve(zalo_channel, dialogue)
    await post_zalo(base, zalo_event("/human", "m1"))
    assert await eventually(
        lambda: any("Họ sẽ không thấy số điện thoại" in t for t in fake_zalo.delivered_texts())
    )
    # Zalo sends a button's title back as text.
    await post_zalo(base, zalo_event("Có, kết nối giúp tôi", "m2"))
    assert await eventually(
        lambda: any("Tôi đã chuyển cuộc trò chuyện" in t for t in fake_zalo.delivered_texts())
    )
    [summary] = handoff.inbox(engine)
    assert summary.channel == "zalo" and summary.label.startswith("ZL-") and summary.can_reply

    asked, sent = len(dialogue.messages), len(fake_zalo.delivered_texts())
    await post_zalo(base, zalo_event("em chờ được", "m3"))
    assert await eventually(lambda: handoff.transcript(engine, summary.id)[-1].text == "em chờ được")
    assert len(dialogue.messages) == asked and len(fake_zalo.delivered_texts()) == sent

    assert (await handoff.send_staff_reply(engine, summary.id, STAFF, "Chào em")).ok
    assert fake_zalo.delivered_texts()[-1] == "Nhân viên: Chào em"
    # A free reply (within 48 h, fewer than 8): it names the user's latest message (issue 11).
    assert fake_zalo.sent()[-1].params["recipient"] == {"message_id": "m3"}

    # Eight days later, Zalo would refuse (-230): the reply is refused here, with the reason.
    with engine.begin() as conn:
        conn.execute(
            sa.update(handoffs).values(last_user_message_at=_dt.datetime.utcnow() - _dt.timedelta(days=8))
        )
    calls = len(fake_zalo.sent())
    assert not handoff.get(engine, summary.id).can_reply
    result = await handoff.send_staff_reply(engine, summary.id, STAFF, "Em còn đó không?")
    assert result == handoff.Delivery(False, handoff.NOTE_ZALO_WINDOW)
    assert len(fake_zalo.sent()) == calls
    # It can still be closed; the user cannot be told, and the record says why.
    assert (await handoff.end(engine, summary.id, STAFF, "no_reply")).reason == handoff.NOTE_ZALO_WINDOW
    assert handoff.get(engine, summary.id).state == "closed" and len(fake_zalo.sent()) == calls


async def test_a_platform_refusal_is_reported_not_silent(serve, zalo_channel, dialogue, fake_zalo, engine):
    base = await serve(zalo_channel, dialogue)
    await post_zalo(base, zalo_event("/human", "m1"))
    await post_zalo(base, zalo_event("Có, kết nối giúp tôi", "m2"))
    assert await eventually(lambda: handoff.inbox(engine))
    fake_zalo.refused_users[ZALO_USER] = -230
    fake_zalo.message_users.update({"m1": ZALO_USER, "m2": ZALO_USER})
    [summary] = handoff.inbox(engine)
    result = await handoff.send_staff_reply(engine, summary.id, STAFF, "Chào em")
    assert result == handoff.Delivery(False, handoff.REASON_NOT_SENT)
    assert handoff.transcript(engine, summary.id)[-1].text == "Chào em"


@pytest.fixture
def webchat() -> WebChatInput:
    return WebChatInput()


async def test_handoff_in_the_web_chat(serve, webchat, dialogue, engine, env):
    base = await serve_webchat(serve, webchat, dialogue)

    async def say(**body):
        async with httpx.AsyncClient() as client:
            reply = await client.post(
                base + "/webhooks/webchat/webhook", json={"sender": "browser-123", **body}
            )
        assert reply.status_code == 200
        return reply.json()

    offer = await say(message="cho tôi nói chuyện với người")  # the stub echoes plain text
    offer = await say(payload="/human_handoff")
    assert "Họ sẽ không thấy số điện thoại" in offer[0]["text"]
    confirmed = await say(payload=offer[0]["buttons"][0]["payload"])
    assert "Tôi đã chuyển cuộc trò chuyện" in confirmed[0]["text"]
    [summary] = handoff.inbox(engine)
    assert summary.channel == "webchat"

    asked = len(dialogue.messages)
    assert await say(message="tôi chờ nhé") == []  # silent
    danger = await say(message="tôi muốn chết")
    assert "+84 981 84 84 84" in danger[0]["text"] and handoff.inbox(engine)[0].urgent
    assert len(dialogue.messages) == asked

    assert (await handoff.send_staff_reply(engine, summary.id, STAFF, "Chào bạn")).ok
    assert (await handoff.end(engine, summary.id, STAFF, "resolved")).ok
    # The staff reply and the end of the handoff reach the page over its live connection.
    async with httpx.AsyncClient() as client:
        polled = await client.post(base + "/webhooks/webchat/poll", json={"sender": "browser-123", "wait": 0})
    assert polled.status_code == 200
    assert [m["text"] for m in polled.json()["messages"]] == [
        "Nhân viên: Chào bạn",
        "Nhân viên đã kết thúc cuộc trò chuyện. Bạn đang nói chuyện lại với trợ lý tự động: "
        "cứ hỏi tôi, hoặc xin nói chuyện với người thật bất cứ lúc nào.",
    ]
    after = await say(message="cảm ơn")
    assert after[0]["text"].startswith("echo")


async def serve_webchat(serve, webchat, dialogue) -> str:
    # The web chat has no context of its own; the shared server fixture drains one at exit.
    webchat.context = ChannelContext.from_settings(load_settings())
    return await serve(webchat, dialogue)
