"""The turn every platform shares (`bot.channels.base`): one answer to an unavailable dedupe
store, one policy for failed sends, one markup, one payload syntax, the Zalo client alone."""

from __future__ import annotations

import dataclasses

import pytest

from bot.channels.context import ChannelContext
from bot.channels.stores import DedupeUnavailable
from bot.channels.telegram import TelegramInput
from bot.channels.zalo import ZaloInput
from bot.channels.zalo_api import ZaloConfig
from bot.markup import to_web_html
from bot.payloads import payload
from bot.settings import load_settings
from tests.channels import test_telegram, test_zalo
from tests.fakes.telegram import TELEGRAM_SECRET, TELEGRAM_TOKEN, text_update
from tests.fakes.zalo import ZALO_APP_ID, ZALO_APP_SECRET, ZALO_OA_SECRET


class DownStore:
    async def claim(self, key: str) -> bool:
        raise DedupeUnavailable("OperationalError")

    async def begin(self, key: str, lease=None):
        raise DedupeUnavailable("OperationalError")


def zalo_channel(fake_zalo, context: ChannelContext) -> ZaloInput:
    config = ZaloConfig(
        app_id=ZALO_APP_ID,
        oa_secret_key=ZALO_OA_SECRET,
        app_secret=ZALO_APP_SECRET,
        access_token="access-0",
        refresh_token="refresh-0",
        api_base_url=fake_zalo.base,
        oauth_base_url=fake_zalo.base,
    )
    return ZaloInput(config, context)


async def test_with_the_dedupe_store_down_both_channels_still_answer_without_rasa(
    serve, context, fake_telegram, fake_zalo, stub_rasa
):
    """The store down: danger gets the urgent card, anything else "temporarily unavailable"
    with the urgent numbers, straight to the platform id; a redelivery gets no second reply."""
    down = dataclasses.replace(context, dedupe=DownStore())
    telegram = TelegramInput(TELEGRAM_TOKEN, TELEGRAM_SECRET, fake_telegram.api_base_url, down)
    zalo = zalo_channel(fake_zalo, down)
    telegram_base, zalo_base = await serve(telegram, stub_rasa), await serve(zalo, stub_rasa)
    danger = text_update(1, "chủ đánh em, cứu em với", user_id=4242)
    replies = [
        await test_telegram.post(telegram_base, danger),
        await test_telegram.post(telegram_base, danger),  # redelivered: no second reply
        await test_telegram.post(telegram_base, text_update(2, "xin chào", user_id=4343)),
        await test_zalo.post(zalo_base, test_zalo.event()),
    ]
    assert [reply.status_code for reply in replies] == [200, 200, 200, 200]
    assert replies[1].json() == {"status": "duplicate"}
    assert stub_rasa.messages == []
    urgent = fake_telegram.sent_to(4242)
    assert len(urgent) == 1 and "113" in urgent[0] and "+84 981 84 84 84" in urgent[0]
    [unavailable] = fake_telegram.sent_to(4343)
    assert unavailable.startswith("Xin lỗi, trợ lý tạm thời không hoạt động")
    assert "+84 981 84 84 84" in unavailable
    [zalo_reply] = fake_zalo.delivered_texts()
    assert zalo_reply.startswith("Xin lỗi, trợ lý tạm thời không hoạt động")


async def test_a_failed_message_drops_the_rest_of_the_reply(serve, context, fake_telegram, stub_rasa):
    channel = TelegramInput(TELEGRAM_TOKEN, TELEGRAM_SECRET, fake_telegram.api_base_url, context)
    long_reply = "\n\n".join(f"Đoạn {n}: " + "chữ " * 300 for n in range(4))

    async def respond(message):
        await message.output_channel.send_text_message(message.sender_id, long_reply)

    stub_rasa.respond = respond
    failure = {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
    fake_telegram.fail_next("sendMessage", 400, failure)
    await test_telegram.post(await serve(channel, stub_rasa), text_update(2, "hello"))
    await channel.context.tasks.drain()
    assert len(fake_telegram.calls_of("sendMessage")) == 1  # not retried, and nothing after it


async def test_a_network_error_is_transient_and_retried(serve, context, fake_telegram, stub_rasa):
    channel = TelegramInput(TELEGRAM_TOKEN, TELEGRAM_SECRET, fake_telegram.api_base_url, context)
    fake_telegram.fail_next(
        "sendMessage", 502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}
    )
    await test_telegram.post(await serve(channel, stub_rasa), text_update(3, "hello"))
    await channel.context.tasks.drain()
    texts = [c.params["text"] for c in fake_telegram.calls_of("sendMessage")]
    assert texts == ["echo 1", "echo 1"]


def test_web_chat_html_links_phone_numbers_and_urls_and_escapes_the_rest():
    html = to_web_html(
        "**Gọi** +84 981 84 84 84 hoặc gọi 111, phí 1.111.000 đồng. Xem https://a.gov.vn/x?y=1&z=2 <b>"
    )
    assert html.startswith("<b>Gọi</b> ")
    assert '<a href="tel:+84981848484">+84 981 84 84 84</a>' in html
    assert '<a href="tel:111">111</a>' in html
    assert "1.111.000" in html and "tel:1111000" not in html
    assert '<a href="https://a.gov.vn/x?y=1&amp;z=2"' in html
    assert "&lt;b&gt;" in html


@pytest.mark.parametrize(
    "args, expected",
    [
        (("greet",), "/greet"),
        (("referral_partner",), "/referral_partner"),
        (
            ("referral_partner", {"province": "Nghệ An", "need": None}),
            '/referral_partner{"province": "Nghệ An"}',
        ),
    ],
)
def test_payload_syntax(args, expected):
    intent, *entities = args
    assert payload(intent, **(entities[0] if entities else {})) == expected


def test_the_zalo_client_refreshes_the_token_alone_from_the_command_line(fake_zalo, tmp_path, capsys):
    from bot.channels.zalo_api import ZaloTokenStore
    from bot.cli.zalo import refresh_command
    from bot.db import get_engine

    settings = load_settings(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'z.db'}",
            "ZALO_APP_ID": ZALO_APP_ID,
            "ZALO_APP_SECRET": ZALO_APP_SECRET,
            "ZALO_OA_SECRET_KEY": ZALO_OA_SECRET,
            "ZALO_ACCESS_TOKEN": "access-0",
            "ZALO_REFRESH_TOKEN": "refresh-0",
            "ZALO_OAUTH_BASE_URL": fake_zalo.base,
            "ZALO_API_BASE_URL": fake_zalo.base,
        }
    )
    assert refresh_command(None, settings) == 0
    assert len(fake_zalo.calls_of("/v4/oa/access_token")) == 1
    stored = ZaloTokenStore(get_engine(settings.database_url), ZALO_APP_ID).current()
    assert stored.refresh_token != "refresh-0"
    out = capsys.readouterr()
    assert "refreshed" in out.out
    assert stored.access_token not in out.out + out.err and stored.refresh_token not in out.out + out.err
    assert refresh_command(None, load_settings({})) == 2  # not configured: a clear message, no traceback


async def test_the_web_chat_sends_each_reply_with_its_html():
    from bot.channels.webchat import WebChatOutput

    output = WebChatOutput()
    await output.send_text_with_buttons(
        "web-x", "**Khẩn cấp**: gọi 111", [{"title": "Menu", "payload": "/help_menu"}]
    )
    (message,) = output.messages
    assert message["text"] == "**Khẩn cấp**: gọi 111"
    assert message["html"] == '<b>Khẩn cấp</b>: gọi <a href="tel:111">111</a>'
    assert message["buttons"] == [{"title": "Menu", "payload": "/help_menu"}]
