"""The Zalo OA channel against fake OA and OAuth servers over real HTTP, with a stub for Rasa."""

from __future__ import annotations

import hashlib
import json
import logging
import time

import httpx
import pytest
import sqlalchemy as sa
from rasa.shared.exceptions import RasaException

from bot.channels.context import ChannelContext
from bot.channels.zalo import ZaloInput
from bot.channels.zalo_api import ZaloConfig, signature
from bot.settings import Settings
from tests.fakes.http import eventually
from tests.fakes.zalo import ZALO_APP_ID, ZALO_APP_SECRET, ZALO_OA_SECRET

USER_ID = "6142494823123456789"
WEBHOOK = "/webhooks/zalo/webhook"


def make_channel(fake_zalo, context: ChannelContext, window: int = 300) -> ZaloInput:
    config = ZaloConfig(
        app_id=ZALO_APP_ID,
        oa_secret_key=ZALO_OA_SECRET,
        app_secret=ZALO_APP_SECRET,
        access_token="access-0",
        refresh_token="refresh-0",
        api_base_url=fake_zalo.base,
        oauth_base_url=fake_zalo.base,
        signature_window_seconds=window,
    )
    return ZaloInput(config, context)


@pytest.fixture
def channel(fake_zalo, context) -> ZaloInput:
    return make_channel(fake_zalo, context)


def event(
    name: str = "user_send_text",
    text: str = "làm sao lấy lại tiền ký quỹ",
    msg_id: str = "cb31dff1c3",
    user_id: str = USER_ID,
    timestamp: int | None = None,
    **extra,
) -> dict:
    body = {
        "event_name": name,
        "app_id": ZALO_APP_ID,
        "sender": {"id": user_id},
        "recipient": {"id": "3662729599332560487"},
        "message": {"text": text, "msg_id": msg_id},
        "timestamp": str(timestamp if timestamp is not None else int(time.time() * 1000)),
        "user_id_by_app": "979122185046046317",
    }
    body.update(extra)
    return body


async def post(base: str, body, *, sign: bool = True, secret: str = ZALO_OA_SECRET, mac: str | None = None):
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json"}
    if sign:
        timestamp = json.loads(raw).get("timestamp", "") if raw.strip().startswith(b"{") else ""
        headers["X-ZEvent-Signature"] = mac or "mac=" + signature(ZALO_APP_ID, raw, str(timestamp), secret)
    async with httpx.AsyncClient() as client:
        return await client.post(base + WEBHOOK, content=raw, headers=headers)


def test_signature_is_sha256_of_app_id_body_timestamp_and_oa_secret():
    raw = b'{"a":1}'
    expected = hashlib.sha256(b"app" + raw + b"123" + b"secret").hexdigest()
    assert signature("app", raw, "123", "secret") == expected


@pytest.mark.parametrize("case", ["wrong_secret", "no_signature", "tampered", "stale", "future", "other_app"])
async def test_bad_signature_or_stale_timestamp_is_forbidden_and_nothing_sent(
    serve, channel, stub_rasa, fake_zalo, case
):
    base = await serve(channel, stub_rasa)
    now = int(time.time() * 1000)
    if case == "wrong_secret":
        reply = await post(base, event(), secret="not-the-oa-secret")
    elif case == "no_signature":
        reply = await post(base, event(), sign=False)
    elif case == "tampered":
        good = event()
        raw = json.dumps(good).encode()
        mac = "mac=" + signature(ZALO_APP_ID, raw, good["timestamp"], ZALO_OA_SECRET)
        reply = await post(base, raw.replace(b"cb31dff1c3", b"cb31dff1c4"), mac=mac)
    elif case == "stale":
        reply = await post(base, event(timestamp=now - 301_000))
    elif case == "future":
        reply = await post(base, event(timestamp=now + 301_000))
    else:
        reply = await post(base, event(app_id="999"))
    assert reply.status_code == 403
    await channel.context.tasks.drain()
    assert stub_rasa.messages == [] and fake_zalo.calls == []


async def test_signature_without_mac_prefix_is_accepted(serve, channel, stub_rasa):
    base = await serve(channel, stub_rasa)
    body = event()
    raw = json.dumps(body).encode()
    reply = await post(base, raw, mac=signature(ZALO_APP_ID, raw, body["timestamp"], ZALO_OA_SECRET))
    assert reply.status_code == 200


@pytest.mark.parametrize(
    "raw, status",
    [
        (b"{oops", 400),
        (b"[]", 400),
        (b'{"event_name": "user_send_text"}', 400),
    ],
)
async def test_malformed_bodies_are_bad_requests(serve, channel, stub_rasa, fake_zalo, raw, status):
    base = await serve(channel, stub_rasa)
    reply = await post(base, raw, sign=False)
    assert reply.status_code == status
    assert stub_rasa.messages == [] and fake_zalo.calls == []


async def test_missing_fields_after_a_valid_signature_are_bad_requests(serve, channel, stub_rasa):
    base = await serve(channel, stub_rasa)
    no_sender = event()
    del no_sender["sender"]
    no_text = event()
    del no_text["message"]["text"]
    assert (await post(base, no_sender)).status_code == 400
    assert (await post(base, no_text)).status_code == 400
    assert stub_rasa.messages == []


async def test_the_registration_probe_gets_200(serve, channel, stub_rasa, fake_zalo):
    base = await serve(channel, stub_rasa)
    reply = await post(base, b"{}", sign=False)
    assert reply.status_code == 200
    assert fake_zalo.calls == []


async def test_text_is_answered_through_the_oa_api(serve, channel, stub_rasa, fake_zalo, context):
    async def respond(message):
        await message.output_channel.send_text_message(message.sender_id, "**Tiền ký quỹ**\n\n1. Bước một")

    stub_rasa.respond = respond
    base = await serve(channel, stub_rasa)
    reply = await post(base, event())
    assert reply.status_code == 200
    assert await eventually(lambda: fake_zalo.sent())
    message = stub_rasa.messages[0]
    assert message.text == "làm sao lấy lại tiền ký quỹ"
    assert message.sender_id == context.pseudonym("zalo", USER_ID) and USER_ID not in message.sender_id
    assert message.metadata == {"channel": "zalo", "locale": None}
    assert message.output_channel.name() == "zalo"
    call = fake_zalo.sent()[0]
    assert call.headers.get("access_token") == "access-0"
    # A reply to the user's message (Zalo counts it in the 8 free replies within 48 h).
    assert call.params["recipient"] == {"message_id": "cb31dff1c3"}
    assert call.params["message"]["text"] == "Tiền ký quỹ\n\n1. Bước một"


async def test_the_same_msg_id_twice_gets_one_reply(serve, channel, stub_rasa, fake_zalo):
    base = await serve(channel, stub_rasa)
    assert (await post(base, event(msg_id="dup1"))).status_code == 200
    second = await post(base, event(msg_id="dup1"))
    assert second.status_code == 200 and second.json()["status"] == "duplicate"
    await channel.context.tasks.drain()
    assert len(stub_rasa.messages) == 1 and len(fake_zalo.sent()) == 1


async def test_follow_gets_the_welcome(serve, channel, stub_rasa):
    base = await serve(channel, stub_rasa)
    body = {
        "event_name": "follow",
        "app_id": ZALO_APP_ID,
        "oa_id": "3662729599332560487",
        "follower": {"id": USER_ID},
        "source": "oa_profile",
        "timestamp": str(int(time.time() * 1000)),
    }
    assert (await post(base, body)).status_code == 200
    assert await eventually(lambda: stub_rasa.messages)
    assert stub_rasa.messages[0].text == "/greet"


@pytest.mark.parametrize(
    "name", ["user_send_image", "user_send_sticker", "user_send_file", "user_send_audio"]
)
async def test_non_text_gets_the_polite_text_only_reply(serve, channel, stub_rasa, fake_zalo, name):
    base = await serve(channel, stub_rasa)
    body = event(name)
    body["message"] = {
        "msg_id": "img1",
        "attachments": [{"type": "image", "payload": {"url": "https://x/y.jpg"}}],
    }
    assert (await post(base, body)).status_code == 200
    assert await eventually(lambda: fake_zalo.sent())
    assert "chỉ đọc được tin nhắn chữ" in fake_zalo.sent()[0].params["message"]["text"]
    assert stub_rasa.messages == []


async def test_location_asks_for_partners_nearby(serve, channel, stub_rasa):
    base = await serve(channel, stub_rasa)
    body = event("user_send_location")
    body["message"] = {
        "msg_id": "loc1",
        "attachments": [
            {"type": "location", "payload": {"coordinates": {"latitude": "10.77", "longitude": "106.70"}}}
        ],
    }
    await post(base, body)
    assert await eventually(lambda: stub_rasa.messages)
    assert stub_rasa.messages[0].text == '/referral_partner{"province": "Thành phố Hồ Chí Minh"}'
    assert "10.77" not in json.dumps(stub_rasa.messages[0].metadata)


@pytest.mark.parametrize("name", ["oa_send_text", "user_seen_message", "unfollow", "something_new"])
async def test_echoes_and_unknown_events_are_ignored(serve, channel, stub_rasa, fake_zalo, name):
    base = await serve(channel, stub_rasa)
    reply = await post(base, event(name))
    assert reply.status_code == 200 and reply.json()["status"] == "ignored"
    await channel.context.tasks.drain()
    assert stub_rasa.messages == [] and fake_zalo.calls == []


async def test_expired_token_is_refreshed_once_persisted_and_the_message_delivered(
    serve, channel, stub_rasa, fake_zalo, context
):
    fake_zalo.valid_access = {"some-other-token"}  # "access-0" has expired
    base = await serve(channel, stub_rasa)
    await post(base, event())
    assert await eventually(lambda: fake_zalo.delivered_texts())
    await channel.context.tasks.drain()
    refreshes = fake_zalo.calls_of("/v4/oa/access_token")
    assert len(refreshes) == 1
    assert refreshes[0].params == {
        "refresh_token": "refresh-0",
        "app_id": ZALO_APP_ID,
        "grant_type": "refresh_token",
    }
    assert refreshes[0].headers.get("secret_key") == ZALO_APP_SECRET
    sends = fake_zalo.sent()
    assert [c.headers.get("access_token") for c in sends] == ["access-0", "access-1"]
    with context.engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT access_token, refresh_token, expires_at FROM zalo_oauth_tokens")
        ).one()
    assert (row.access_token, row.refresh_token) == ("access-1", "refresh-1")
    assert row.expires_at is not None
    # The next message uses the stored token without another refresh.
    await post(base, event(msg_id="next"))
    await channel.context.tasks.drain()
    assert len(fake_zalo.calls_of("/v4/oa/access_token")) == 1
    assert fake_zalo.sent()[-1].headers.get("access_token") == "access-1"


async def test_a_restart_uses_the_stored_pair_not_the_spent_env_tokens(
    serve, fake_zalo, channel_db, stub_rasa
):
    config = Settings(database_url=channel_db, sender_id_secret="s")
    fake_zalo.valid_access = set()
    first = make_channel(fake_zalo, ChannelContext.from_settings(config))
    await post(await serve(first, stub_rasa), event(msg_id="a"))
    await first.context.tasks.drain()
    again = make_channel(fake_zalo, ChannelContext.from_settings(config))  # env still says access-0/refresh-0
    await post(await serve(again, stub_rasa), event(msg_id="b"))
    await again.context.tasks.drain()
    assert len(fake_zalo.calls_of("/v4/oa/access_token")) == 1
    assert len(fake_zalo.delivered_texts()) == 2


async def test_a_refused_refresh_is_counted_and_nothing_loops(serve, channel, stub_rasa, fake_zalo):
    fake_zalo.valid_access = set()
    fake_zalo.valid_refresh = set()
    base = await serve(channel, stub_rasa)
    await post(base, event())
    await channel.context.tasks.drain()
    assert len(fake_zalo.calls_of("/v4/oa/access_token")) == 1
    assert len(fake_zalo.sent()) == 1
    assert channel.client.problems["refresh_failed"] == 1


@pytest.mark.parametrize("code", [-230, -213])
async def test_a_user_outside_the_window_is_logged_and_counted(
    serve, channel, stub_rasa, fake_zalo, caplog, code
):
    caplog.set_level(logging.DEBUG)
    fake_zalo.refused_users[USER_ID] = code
    fake_zalo.message_users["cb31dff1c3"] = USER_ID  # the reply names the user's message
    base = await serve(channel, stub_rasa)
    await post(base, event())
    await channel.context.tasks.drain()
    assert channel.client.problems[str(code)] == 1
    assert len(fake_zalo.sent()) == 1  # no retry for a refusal
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert str(code) in logged
    assert "access-0" not in logged and USER_ID not in logged


async def test_long_answers_split_at_2000_and_buttons_become_quick_replies(
    serve, channel, stub_rasa, fake_zalo
):
    paragraphs = [f"Đoạn {i}: " + "nội dung " * 60 for i in range(12)]
    buttons = [{"title": f"Chủ đề {i}", "payload": f"/topic_{i}"} for i in range(7)]

    async def respond(message):
        if len(stub_rasa.messages) == 1:
            await message.output_channel.send_text_with_buttons(
                message.sender_id, "\n\n".join(paragraphs), buttons
            )

    stub_rasa.respond = respond
    base = await serve(channel, stub_rasa)
    await post(base, event())
    await channel.context.tasks.drain()
    sends = [c.params["message"] for c in fake_zalo.sent()]
    assert len(sends) >= 3
    assert all(len(m["text"]) <= 2000 for m in sends)
    # The last message only carries the buttons beyond the fifth; the answer is the rest.
    assert "\n\n".join(m["text"] for m in sends[:-1]).split("\n\n") == [p.rstrip() for p in paragraphs]
    assert sends[-1]["text"] == "Thêm lựa chọn:"
    with_buttons = [m for m in sends if "attachment" in m]
    assert len(with_buttons) == 2 and with_buttons[0] is sends[-2]
    first, more = (m["attachment"]["payload"]["buttons"] for m in with_buttons)
    assert len(first) == 5 and len(more) == 2
    assert first[0] == {"title": "Chủ đề 0", "type": "oa.query.show", "payload": "Chủ đề 0"}
    # Tapping a quick reply sends its title back as text; Rasa gets the button's payload.
    await post(base, event(text="Chủ đề 6", msg_id="tap"))
    assert await eventually(lambda: len(stub_rasa.messages) == 2)
    assert stub_rasa.messages[1].text == "/topic_6"


async def test_a_failing_turn_gets_the_error_reply(serve, channel, stub_rasa, fake_zalo):
    async def respond(message):
        raise RuntimeError("boom")

    stub_rasa.respond = respond
    base = await serve(channel, stub_rasa)
    await post(base, event())
    assert await eventually(lambda: fake_zalo.sent())
    assert "tạm thời không hoạt động" in fake_zalo.sent()[0].params["message"]["text"]


async def test_logs_hold_no_user_id_text_or_secret(serve, channel, stub_rasa, fake_zalo, caplog):
    caplog.set_level(logging.DEBUG)
    fake_zalo.valid_access = set()

    async def respond(message):
        raise RuntimeError(f"failed on {message.text} for {message.sender_id}")

    stub_rasa.respond = respond
    base = await serve(channel, stub_rasa)
    text = "chủ giữ hộ chiếu của tôi ở Đài Trung"
    await post(base, event(text=text))
    await post(base, event(text=text, msg_id="x2"), secret="bad")
    await channel.context.tasks.drain()
    assert caplog.records
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    for forbidden in (
        USER_ID,
        text,
        "Đài Trung",
        "access-0",
        "refresh-0",
        "access-1",
        "refresh-1",
        ZALO_OA_SECRET,
        ZALO_APP_SECRET,
    ):
        assert forbidden not in logged


def test_from_credentials_reads_the_secrets_from_settings_not_from_credentials(channel_db, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", channel_db)
    monkeypatch.setenv("SENDER_ID_SECRET", "x")
    for name in ("ZALO_APP_ID", "ZALO_OA_SECRET_KEY", "ZALO_APP_SECRET", "ZALO_SIGNATURE_WINDOW_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RasaException):
        ZaloInput.from_credentials({"app_id": ZALO_APP_ID})
    monkeypatch.setenv("ZALO_APP_ID", ZALO_APP_ID)
    monkeypatch.setenv("ZALO_OA_SECRET_KEY", ZALO_OA_SECRET)
    monkeypatch.setenv("ZALO_APP_SECRET", ZALO_APP_SECRET)
    channel = ZaloInput.from_credentials(None)
    assert channel.name() == "zalo" and channel.get_output_channel().name() == "zalo"
    assert channel.config.signature_window_seconds == 3600
    assert ZALO_OA_SECRET not in repr(channel.config)
