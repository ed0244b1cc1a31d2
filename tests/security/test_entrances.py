"""Every entrance refuses what it must (size, type, auth, namespace) with a 4xx, never a 500,
and answers over-long messages and over-eager senders politely."""

from __future__ import annotations

import json
import logging
import time

import httpx
import pytest

from bot.channels.limits import TOO_LONG, TOO_MANY, RateLimiter, over_length
from bot.channels.rest import RestInput
from bot.channels.webchat import WebChatInput
from bot.channels.zalo import ZaloInput
from bot.channels.zalo_api import ZaloConfig, signature
from bot.degraded import degraded_reply
from bot.i18n import gettext
from bot.settings import Settings
from tests.fakes.zalo import ZALO_APP_ID, ZALO_APP_SECRET, ZALO_OA_SECRET

DEEP = b"[" * 100_000 + b"]" * 100_000
TOO_LONG_VI = gettext("vi", TOO_LONG, domain="channels")
TOO_MANY_VI = gettext("vi", TOO_MANY, domain="channels")


def test_rate_limiter_allows_n_a_minute_per_sender():
    limiter = RateLimiter(3)
    assert [limiter.allow("a", now=t) for t in (0, 1, 2, 3)] == [True, True, True, False]
    assert limiter.allow("b", now=3)  # another sender is not affected
    assert limiter.allow("a", now=60.5)  # the first message left the window


def test_over_length_counts_characters_and_bytes():
    assert not over_length("a" * 2000, 2000)
    assert over_length("a" * 2001, 2000)
    assert over_length("\U0001f600" * 10, 2) and not over_length("ệ" * 2, 2)


async def _rest(serve_channel, stub_rasa, **settings):
    channel = RestInput(Settings(**settings))
    return await serve_channel(channel, stub_rasa) + "/webhooks/rest/webhook"


async def test_rest_senders_live_in_their_own_namespace(serve_channel, stub_rasa):
    url = await _rest(serve_channel, stub_rasa)
    async with httpx.AsyncClient() as client:
        reply = await client.post(url, json={"sender": "telegram-" + "a" * 32, "message": "xin chào"})
    assert reply.status_code == 200
    assert stub_rasa.messages[0].sender_id == "rest-telegram-" + "a" * 32
    assert stub_rasa.messages[0].input_channel == "rest"
    assert stub_rasa.messages[0].metadata == {"channel": "rest"}


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"message": "hi"}, 400),  # no sender: no shared "default" conversation
        ({"sender": "", "message": "hi"}, 400),
        ({"sender": 12345, "message": "hi"}, 400),
        ({"sender": "../x", "message": "hi"}, 400),
        ({"sender": "a" * 65, "message": "hi"}, 400),
        ({"sender": "abc"}, 400),
        ({"sender": "abc", "message": None}, 400),
        ({"sender": "abc", "message": {"a": 1}}, 400),
        ({"sender": "abc", "message": "   "}, 400),
        ([1, 2], 400),
    ],
)
async def test_rest_refuses_malformed_requests(serve_channel, stub_rasa, body, status):
    url = await _rest(serve_channel, stub_rasa)
    async with httpx.AsyncClient() as client:
        assert (await client.post(url, json=body)).status_code == status
    assert stub_rasa.messages == []


async def test_rest_refuses_deep_invalid_and_huge_bodies(serve_channel, stub_rasa):
    url = await _rest(serve_channel, stub_rasa)
    async with httpx.AsyncClient() as client:
        assert (await client.post(url, content=DEEP[:60_000])).status_code == 400
        assert (await client.post(url, content=b"\xff\xfe{")).status_code == 400
        big = json.dumps({"sender": "abc", "message": "passport " * 40_000})
        assert (await client.post(url, content=big)).status_code == 413
    assert stub_rasa.messages == []


async def test_rest_needs_the_bearer_token_when_one_is_set(serve_channel, stub_rasa):
    url = await _rest(serve_channel, stub_rasa, rest_token="s3cret-token")
    body = {"sender": "abc", "message": "hi"}
    async with httpx.AsyncClient() as client:
        assert (await client.post(url, json=body)).status_code == 401
        assert (
            await client.post(url, json=body, headers={"Authorization": "Bearer wrong"})
        ).status_code == 401
        assert (
            await client.post(url, json=body, headers={"Authorization": "Basic s3cret-token"})
        ).status_code == 401
        ok = await client.post(url, json=body, headers={"Authorization": "Bearer s3cret-token"})
    assert ok.status_code == 200 and len(stub_rasa.messages) == 1


async def test_rest_long_messages_and_fast_senders_get_a_polite_reply(serve_channel, stub_rasa):
    url = await _rest(serve_channel, stub_rasa, max_message_chars=50, rate_limit_per_minute=2)
    async with httpx.AsyncClient() as client:
        long = await client.post(url, json={"sender": "abc", "message": "x" * 51})
        assert long.json()[0]["text"] == TOO_LONG_VI
        replies = [await client.post(url, json={"sender": "abc", "message": "hi"}) for _ in range(3)]
        assert replies[2].json()[0]["text"] == TOO_MANY_VI
        # Danger is always answered, even over the limit.
        danger = await client.post(url, json={"sender": "abc", "message": "tôi bị chủ đánh, cứu em"})
    assert danger.json()[0]["text"] != TOO_MANY_VI
    assert len(stub_rasa.messages) == 3


async def test_rest_typed_intent_payloads_go_through_nlu(serve_channel, stub_rasa):
    url = await _rest(serve_channel, stub_rasa)
    async with httpx.AsyncClient() as client:
        await client.post(url, json={"sender": "abc", "message": '/consular_contact{"city": "<b>x</b>"}'})
    assert not stub_rasa.messages[0].text.startswith("/")


async def test_a_failing_rest_turn_logs_neither_text_nor_sender(serve_channel, stub_rasa, caplog):
    async def fail(message):
        raise RuntimeError(f"boom with {message.text} for {message.sender_id}")

    stub_rasa.respond = fail
    url = await _rest(serve_channel, stub_rasa)
    caplog.set_level(logging.DEBUG)
    async with httpx.AsyncClient() as client:
        reply = await client.post(url, json={"sender": "victim42", "message": "số hộ chiếu B1234567"})
    assert reply.status_code == 200
    assert reply.json()[0]["text"] == degraded_reply("số hộ chiếu B1234567", "vi")["text"]
    logged = caplog.text
    assert "B1234567" not in logged and "victim42" not in logged
    assert "rest turn failed: RuntimeError" in logged


async def test_web_chat_limits_and_page_headers(serve_channel, stub_rasa, monkeypatch):
    monkeypatch.setenv("MAX_MESSAGE_CHARS", "100")
    base = await serve_channel(WebChatInput(), stub_rasa) + "/webhooks/webchat"
    async with httpx.AsyncClient() as client:
        page = await client.get(base + "/")
        csp = page.headers["content-security-policy"]
        # No inline script at all: the page's script is a static file from this server.
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp.split("style-src")[0]
        assert "<script>" not in page.text and '<script src="' in page.text
        assert "frame-ancestors 'none'" in csp and page.headers["x-content-type-options"] == "nosniff"
        big = await client.post(
            base + "/webhook", content=b'{"sender":"abcdefgh","message":"' + b"a" * 70_000 + b'"}'
        )
        assert big.status_code == 413
        deep = await client.post(base + "/webhook", content=DEEP[:60_000])
        assert deep.status_code == 400
        long = await client.post(base + "/webhook", json={"sender": "abcdefgh", "message": "a" * 101})
        assert long.json()[0]["text"] == TOO_LONG_VI
    assert stub_rasa.messages == []


def _zalo(fake_zalo, context) -> ZaloInput:
    config = ZaloConfig(
        app_id=ZALO_APP_ID,
        oa_secret_key=ZALO_OA_SECRET,
        app_secret=ZALO_APP_SECRET,
        access_token="access-0",
        refresh_token="refresh-0",
        api_base_url=fake_zalo.base,
        oauth_base_url=fake_zalo.base,
        signature_window_seconds=300,
    )
    return ZaloInput(config, context)


@pytest.fixture
def context(tmp_path):
    from bot.channels.context import ChannelContext

    return ChannelContext.from_settings(
        Settings(database_url=f"sqlite:///{tmp_path / 'c.db'}", sender_id_secret="s")
    )


def _signed(raw: bytes, timestamp: str) -> dict[str, str]:
    return {"X-ZEvent-Signature": "mac=" + signature(ZALO_APP_ID, raw, timestamp, ZALO_OA_SECRET)}


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b'{"timestamp": "1"' + b', "a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", 403),  # unsigned deep
        (b"[" * 100_000 + b"]" * 100_000, 400),  # no timestamp at all
        ('{"event_name": "user_send_text", "timestamp": "17²000"}'.encode(), 400),
        (b'{"event_name": "user_send_text", "timestamp": "' + b"1" * 5000 + b'"}', 400),
    ],
)
async def test_zalo_checks_the_signature_before_parsing(
    serve_channel, stub_rasa, fake_zalo, context, raw, status
):
    base = await serve_channel(_zalo(fake_zalo, context), stub_rasa)
    async with httpx.AsyncClient() as client:
        reply = await client.post(base + "/webhooks/zalo/webhook", content=raw)
    assert reply.status_code == status
    assert stub_rasa.messages == [] and fake_zalo.calls == []


async def test_zalo_signed_deep_json_is_a_bad_request_not_a_500(serve_channel, stub_rasa, fake_zalo, context):
    base = await serve_channel(_zalo(fake_zalo, context), stub_rasa)
    timestamp = str(int(time.time() * 1000))
    raw = b'{"timestamp": "' + timestamp.encode() + b'", "a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    async with httpx.AsyncClient() as client:
        reply = await client.post(
            base + "/webhooks/zalo/webhook", content=raw, headers=_signed(raw, timestamp)
        )
    assert reply.status_code == 400


@pytest.mark.parametrize(
    "update",
    [
        {
            "update_id": 1,
            "message": {"message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"}, "text": 123},
        },
        {
            "update_id": 2,
            "message": {"message_id": 1, "date": 0, "chat": {"id": "abc", "type": "private"}, "text": "hi"},
        },
        {
            "update_id": 3,
            "callback_query": {
                "id": "q",
                "from": {"id": "x", "is_bot": False, "first_name": "a"},
                "chat_instance": "c",
                "data": "/greet",
            },
        },
    ],
)
async def test_telegram_wrong_types_are_bad_requests(
    serve_channel, stub_rasa, fake_telegram, context, update
):
    from bot.channels.telegram import TelegramInput
    from tests.fakes.telegram import TELEGRAM_SECRET, TELEGRAM_TOKEN

    channel = TelegramInput(TELEGRAM_TOKEN, TELEGRAM_SECRET, fake_telegram.api_base_url, context)
    base = await serve_channel(channel, stub_rasa)
    headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    async with httpx.AsyncClient() as client:
        reply = await client.post(base + "/webhooks/telegram/webhook", json=update, headers=headers)
        deep = await client.post(base + "/webhooks/telegram/webhook", content=DEEP, headers=headers)
    assert reply.status_code == 400 and deep.status_code == 400
    assert stub_rasa.messages == []


async def test_telegram_over_long_text_gets_the_polite_reply(
    serve_channel, stub_rasa, fake_telegram, context
):
    from bot.channels.telegram import TelegramInput
    from tests.fakes.telegram import TELEGRAM_SECRET, TELEGRAM_TOKEN, text_update

    context.max_message_chars = 100
    channel = TelegramInput(TELEGRAM_TOKEN, TELEGRAM_SECRET, fake_telegram.api_base_url, context)
    base = await serve_channel(channel, stub_rasa)
    async with httpx.AsyncClient() as client:
        await client.post(
            base + "/webhooks/telegram/webhook",
            json=text_update(7001, "passport " * 40),
            headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
        )
    await context.tasks.drain(timeout=10)
    assert stub_rasa.messages == []
    assert any(TOO_LONG_VI.split(".")[0] in text for text in fake_telegram.sent_texts())
