"""The Telegram channel against a fake Bot API over real HTTP, with a stub in place of Rasa."""

from __future__ import annotations

import asyncio
import json
import logging
from html.parser import HTMLParser

import httpx
import pytest

from bot.channels.context import ChannelContext
from bot.channels.telegram import TelegramInput
from bot.settings import Settings
from tests.fakes.http import eventually
from tests.fakes.telegram import TELEGRAM_SECRET, TELEGRAM_TOKEN, callback_update, retry_after, text_update

USER_ID = 987654321
WEBHOOK = "/webhooks/telegram/webhook"


@pytest.fixture
def channel(fake_telegram, context: ChannelContext) -> TelegramInput:
    return TelegramInput(
        TELEGRAM_TOKEN, TELEGRAM_SECRET, fake_telegram.api_base_url, context, typing_after=5.0
    )


async def post(base: str, body, secret: str | None = TELEGRAM_SECRET) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    content = body if isinstance(body, (bytes, str)) else json.dumps(body)
    async with httpx.AsyncClient() as client:
        return await client.post(base + WEBHOOK, content=content, headers=headers)


@pytest.mark.parametrize("secret", ["wrong-secret", None, TELEGRAM_SECRET + "x", ""])
async def test_wrong_or_missing_secret_is_forbidden_and_nothing_is_sent(
    serve, channel, stub_rasa, fake_telegram, secret
):
    base = await serve(channel, stub_rasa)
    reply = await post(base, text_update(1, "xin chào"), secret=secret)
    assert reply.status_code == 403
    await asyncio.sleep(0.2)
    assert stub_rasa.messages == []
    assert fake_telegram.calls == []


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[1, 2]",
        b'{"message": {}}',
        b'{"update_id": "x"}',
        b'{"update_id": 5, "message": {"text": "no chat"}}',
    ],
)
async def test_a_body_that_is_not_an_update_is_a_bad_request(serve, channel, stub_rasa, fake_telegram, body):
    base = await serve(channel, stub_rasa)
    reply = await post(base, body)
    assert reply.status_code == 400
    assert stub_rasa.messages == [] and fake_telegram.calls == []


async def test_text_reaches_rasa_under_a_pseudonym_and_the_reply_is_sent_as_html(
    serve, channel, stub_rasa, fake_telegram, context
):
    async def respond(message):
        await message.output_channel.send_text_with_buttons(
            message.sender_id,
            "**Tiền ký quỹ** <được> hoàn & trả",
            [{"title": "Khiếu nại", "payload": "/complaint_agency"}],
        )

    stub_rasa.respond = respond
    base = await serve(channel, stub_rasa)
    reply = await post(base, text_update(10, "làm sao lấy lại tiền ký quỹ", language="vi"))
    assert reply.status_code == 200
    assert await eventually(lambda: fake_telegram.calls_of("sendMessage"))
    message = stub_rasa.messages[0]
    assert message.text == "làm sao lấy lại tiền ký quỹ"
    assert message.sender_id == context.pseudonym("telegram", USER_ID)
    assert str(USER_ID) not in message.sender_id
    assert message.metadata == {"channel": "telegram", "locale": "vi"}
    assert message.input_channel == "telegram"
    assert message.output_channel.name() == "telegram"
    sent = fake_telegram.calls_of("sendMessage")[0].params
    assert int(sent["chat_id"]) == USER_ID
    assert sent["parse_mode"] == "HTML"
    assert sent["text"] == "<b>Tiền ký quỹ</b> &lt;được&gt; hoàn &amp; trả"
    assert sent["reply_markup"] == {
        "inline_keyboard": [[{"text": "Khiếu nại", "callback_data": "/complaint_agency"}]]
    }
    assert fake_telegram.calls_of("getMe") == []
    identity = context.identities.lookup(message.sender_id)
    assert identity is not None and identity.platform_user_id == str(USER_ID)


async def test_the_same_update_twice_gets_one_reply(serve, channel, stub_rasa, fake_telegram):
    base = await serve(channel, stub_rasa)
    first = await post(base, text_update(20, "hello"))
    second = await post(base, text_update(20, "hello"))
    assert first.status_code == second.status_code == 200
    assert second.json()["status"] == "duplicate"
    await channel.context.tasks.drain()
    assert len(stub_rasa.messages) == 1
    assert len(fake_telegram.calls_of("sendMessage")) == 1


async def test_duplicates_are_remembered_across_a_restart(fake_telegram, stub_rasa, serve, channel_db):
    config = Settings(database_url=channel_db, sender_id_secret="test-secret")
    first = TelegramInput(
        TELEGRAM_TOKEN, TELEGRAM_SECRET, fake_telegram.api_base_url, ChannelContext.from_settings(config)
    )
    await post(await serve(first, stub_rasa), text_update(21, "hello"))
    await first.context.tasks.drain()
    again = TelegramInput(
        TELEGRAM_TOKEN, TELEGRAM_SECRET, fake_telegram.api_base_url, ChannelContext.from_settings(config)
    )
    reply = await post(await serve(again, stub_rasa), text_update(21, "hello"))
    assert reply.json()["status"] == "duplicate"
    await again.context.tasks.drain()
    assert len(stub_rasa.messages) == 1


@pytest.mark.parametrize(
    "command, payload",
    [
        ("/start", "/greet"),
        ("/help", "/help_menu"),
        ("/menu", "/help_menu"),
        ("/language", "/change_language"),
        ("/privacy", "/privacy"),
        ("/forget", "/forget_me"),
        ("/start@fake_bot", "/greet"),
    ],
)
async def test_commands_map_to_intent_payloads(serve, channel, stub_rasa, command, payload):
    base = await serve(channel, stub_rasa)
    await post(base, text_update(30, command, language="en"))
    assert await eventually(lambda: stub_rasa.messages)
    assert stub_rasa.messages[0].text == payload
    assert stub_rasa.messages[0].metadata["locale"] == "en"


async def test_a_typed_unknown_slash_command_goes_through_nlu_not_as_an_intent(serve, channel, stub_rasa):
    base = await serve(channel, stub_rasa)
    await post(base, text_update(31, '/deposit_refund{"country": "KR"}'))
    assert await eventually(lambda: stub_rasa.messages)
    assert not stub_rasa.messages[0].text.startswith("/")


@pytest.mark.parametrize(
    "language, expected",
    [
        ("en", "I can only read text"),
        ("vi", "chỉ đọc được tin nhắn chữ"),
        (None, "chỉ đọc được tin nhắn chữ"),
    ],
)
async def test_a_sticker_gets_the_text_only_reply_in_the_users_language(
    serve, channel, stub_rasa, fake_telegram, language, expected
):
    base = await serve(channel, stub_rasa)
    update = text_update(40, "x", language=language)
    del update["message"]["text"]
    update["message"]["sticker"] = {
        "file_id": "abc",
        "file_unique_id": "u",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
    assert (await post(base, update)).status_code == 200
    assert await eventually(lambda: fake_telegram.calls_of("sendMessage"))
    assert expected in fake_telegram.sent_texts()[0]
    assert stub_rasa.messages == []


async def test_a_shared_location_asks_for_partners_in_its_province_without_passing_coordinates(
    serve, channel, stub_rasa
):
    base = await serve(channel, stub_rasa)
    update = text_update(41, "x")
    del update["message"]["text"]
    update["message"]["location"] = {"latitude": 21.0285, "longitude": 105.8542}
    await post(base, update)
    assert await eventually(lambda: stub_rasa.messages)
    message = stub_rasa.messages[0]
    assert message.text == '/referral_partner{"province": "Hà Nội"}'
    assert "21.02" not in json.dumps(message.metadata)


async def test_a_location_outside_viet_nam_asks_for_partners_without_a_province(serve, channel, stub_rasa):
    base = await serve(channel, stub_rasa)
    update = text_update(42, "x")
    del update["message"]["text"]
    update["message"]["location"] = {"latitude": 37.5665, "longitude": 126.9780}  # Seoul
    await post(base, update)
    assert await eventually(lambda: stub_rasa.messages)
    assert stub_rasa.messages[0].text == "/referral_partner"


async def test_button_tap_is_answered_and_its_payload_forwarded(serve, channel, stub_rasa, fake_telegram):
    base = await serve(channel, stub_rasa)
    reply = await post(base, callback_update(50, "/deposit_refund"))
    assert reply.status_code == 200
    assert await eventually(lambda: fake_telegram.calls_of("answerCallbackQuery") and stub_rasa.messages)
    assert fake_telegram.calls_of("answerCallbackQuery")[0].params["callback_query_id"] == "cbq50"
    assert stub_rasa.messages[0].text == "/deposit_refund"


async def test_a_long_payload_travels_as_a_short_id_and_comes_back_whole(
    serve, channel, stub_rasa, fake_telegram
):
    long_payload = (
        '/show_card{"card": "referral_partner", "province": "Thành phố Hồ Chí Minh", "need": "legal_aid"}'
    )
    assert len(long_payload.encode()) > 64

    async def respond(message):
        if len(stub_rasa.messages) == 1:
            await message.output_channel.send_text_with_buttons(
                message.sender_id, "Chọn", [{"title": "Trợ giúp pháp lý", "payload": long_payload}]
            )

    stub_rasa.respond = respond
    base = await serve(channel, stub_rasa)
    await post(base, text_update(60, "tìm trợ giúp pháp lý"))
    assert await eventually(lambda: fake_telegram.calls_of("sendMessage"))
    data = fake_telegram.calls_of("sendMessage")[0].params["reply_markup"]["inline_keyboard"][0][0][
        "callback_data"
    ]
    assert len(data.encode()) <= 64
    await post(base, callback_update(61, data))
    assert await eventually(lambda: len(stub_rasa.messages) == 2)
    assert stub_rasa.messages[1].text == long_payload


async def test_an_unknown_short_id_gets_a_polite_reply(serve, channel, stub_rasa, fake_telegram):
    base = await serve(channel, stub_rasa)
    await post(base, callback_update(62, "p:unknownid", language="en"))
    assert await eventually(lambda: fake_telegram.calls_of("sendMessage"))
    assert "no longer available" in fake_telegram.sent_texts()[0]
    assert fake_telegram.calls_of("answerCallbackQuery")
    assert stub_rasa.messages == []


class _TagChecker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []
        self.balanced = True

    def handle_starttag(self, tag, attrs):
        self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.balanced = False

    def handle_data(self, data):
        self.text.append(data)


async def test_a_long_answer_is_split_on_paragraphs_into_valid_html(serve, channel, stub_rasa, fake_telegram):
    paragraphs = [f"**Bước {i}** <chú ý> & " + "thông tin quan trọng " * 25 for i in range(40)]
    long_text = "\n\n".join(paragraphs)

    async def respond(message):
        await message.output_channel.send_text_message(message.sender_id, long_text)

    stub_rasa.respond = respond
    base = await serve(channel, stub_rasa)
    await post(base, text_update(70, "long"))
    await channel.context.tasks.drain()
    chunks = fake_telegram.sent_texts()
    assert len(chunks) > 1
    visible = []
    for chunk in chunks:
        assert len(chunk.encode("utf-16-le")) // 2 <= 4096
        checker = _TagChecker()
        checker.feed(chunk)
        checker.close()
        assert checker.balanced and checker.stack == []
        assert set(tag for tag in chunk.split("<")[1:] if not tag.startswith(("b>", "/b>"))) == set()
        visible.append("".join(checker.text))
    # Nothing lost, nothing cut inside a paragraph: each chunk is whole paragraphs.
    expected = [p.replace("**", "") for p in paragraphs]
    assert "\n\n".join(visible).split("\n\n") == [e.rstrip() for e in expected]


async def test_flood_control_is_waited_out_and_retried(serve, channel, stub_rasa, fake_telegram):
    status, body, headers = retry_after(1)
    fake_telegram.fail_next("sendMessage", status, body, headers)
    base = await serve(channel, stub_rasa)
    await post(base, text_update(80, "hello"))
    assert await eventually(lambda: len(fake_telegram.calls_of("sendMessage")) == 2, timeout=6)
    first, second = fake_telegram.calls_of("sendMessage")
    assert second.at - first.at >= 0.95
    assert first.params["text"] == second.params["text"]


async def test_a_slow_turn_shows_typing(serve, fake_telegram, context, stub_rasa):
    channel = TelegramInput(
        TELEGRAM_TOKEN, TELEGRAM_SECRET, fake_telegram.api_base_url, context, typing_after=0.05
    )

    async def respond(message):
        await asyncio.sleep(0.4)
        await message.output_channel.send_text_message(message.sender_id, "done")

    stub_rasa.respond = respond
    base = await serve(channel, stub_rasa)
    await post(base, text_update(90, "hello"))
    await channel.context.tasks.drain()
    actions = fake_telegram.calls_of("sendChatAction")
    assert actions and actions[0].params["action"] == "typing"
    assert actions[0].at < fake_telegram.calls_of("sendMessage")[0].at


async def test_a_quick_turn_shows_no_typing(serve, channel, stub_rasa, fake_telegram):
    base = await serve(channel, stub_rasa)
    await post(base, text_update(91, "hello"))
    await channel.context.tasks.drain()
    assert fake_telegram.calls_of("sendChatAction") == []


async def test_replies_to_one_chat_keep_the_order_of_the_messages(serve, channel, stub_rasa, fake_telegram):
    async def respond(message):
        if message.text == "first":
            await asyncio.sleep(0.3)  # the first turn is slow; the second must still come after it
        await message.output_channel.send_text_message(message.sender_id, f"reply to {message.text}")

    stub_rasa.respond = respond
    base = await serve(channel, stub_rasa)
    await post(base, text_update(100, "first"))
    await post(base, text_update(101, "second"))
    await channel.context.tasks.drain()
    assert fake_telegram.sent_texts() == ["reply to first", "reply to second"]


async def test_a_failing_turn_gets_the_error_reply(serve, channel, stub_rasa, fake_telegram):
    async def respond(message):
        raise RuntimeError("model exploded while reading làm sao lấy lại tiền ký quỹ")

    stub_rasa.respond = respond
    base = await serve(channel, stub_rasa)
    await post(base, text_update(110, "hello", language="en"))
    assert await eventually(lambda: fake_telegram.calls_of("sendMessage"))
    assert "temporarily unavailable" in fake_telegram.sent_texts()[0]
    assert "+84 981 84 84 84" in fake_telegram.sent_texts()[0]  # the urgent numbers, from the card


@pytest.mark.parametrize(
    "update",
    [
        {"update_id": 120, "edited_message": text_update(0, "edited")["message"]},
        text_update(121, "hello group", chat_type="group"),
        {
            "update_id": 122,
            "my_chat_member": {
                "chat": {"id": 1, "type": "private"},
                "from": {"id": 1, "is_bot": False, "first_name": "A"},
                "date": 1,
                "old_chat_member": {"status": "member", "user": {"id": 2, "is_bot": True, "first_name": "B"}},
                "new_chat_member": {
                    "status": "kicked",
                    "until_date": 0,
                    "user": {"id": 2, "is_bot": True, "first_name": "B"},
                },
            },
        },
    ],
)
async def test_updates_we_do_not_handle_are_acknowledged_and_ignored(
    serve, channel, stub_rasa, fake_telegram, update
):
    base = await serve(channel, stub_rasa)
    reply = await post(base, update)
    assert reply.status_code == 200
    await channel.context.tasks.drain()
    assert stub_rasa.messages == [] and fake_telegram.calls_of("sendMessage") == []


async def test_bot_initiated_messages_find_the_chat_until_the_user_is_forgotten(
    serve, channel, stub_rasa, fake_telegram
):
    base = await serve(channel, stub_rasa)
    await post(base, text_update(130, "hello"))
    await channel.context.tasks.drain()
    sender_id = stub_rasa.messages[0].sender_id
    output = channel.get_output_channel()
    await output.send_text_message(sender_id, "a reminder")
    assert fake_telegram.sent_texts()[-1] == "a reminder"
    assert int(fake_telegram.calls_of("sendMessage")[-1].params["chat_id"]) == USER_ID
    assert channel.context.identities.forget(sender_id) == 1
    await output.send_text_message(sender_id, "after forgetting")
    assert "after forgetting" not in fake_telegram.sent_texts()


async def test_logs_hold_no_chat_id_text_or_token(serve, channel, stub_rasa, fake_telegram, caplog):
    caplog.set_level(logging.DEBUG)

    async def respond(message):
        raise RuntimeError(f"failure mentioning {message.text}")

    stub_rasa.respond = respond
    status, body, headers = retry_after(1)
    fake_telegram.fail_next("sendMessage", status, body, headers)
    base = await serve(channel, stub_rasa)
    secret_text = "tôi bị chủ giữ hộ chiếu ở Busan"
    await post(base, text_update(140, secret_text))
    await post(base, text_update(141, "x"), secret="wrong")
    await post(base, b"garbage")
    assert await eventually(lambda: len(fake_telegram.calls_of("sendMessage")) == 2, timeout=6)
    await channel.context.tasks.drain()
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert caplog.records, "expected some log lines to check"
    for forbidden in (
        str(USER_ID),
        secret_text,
        "Busan",
        TELEGRAM_TOKEN,
        TELEGRAM_TOKEN.split(":")[1],
        TELEGRAM_SECRET,
    ):
        assert forbidden not in logged


async def test_health_route(serve, channel, stub_rasa):
    base = await serve(channel, stub_rasa)
    async with httpx.AsyncClient() as client:
        reply = await client.get(base + "/webhooks/telegram/")
    assert reply.status_code == 200 and reply.json() == {"status": "ok"}


def test_from_credentials_reads_the_secrets_from_settings_not_from_credentials(channel_db, monkeypatch):
    from rasa.shared.exceptions import RasaException

    monkeypatch.setenv("DATABASE_URL", channel_db)
    monkeypatch.setenv("SENDER_ID_SECRET", "x")
    for name in ("TELEGRAM_TOKEN", "TELEGRAM_SECRET_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RasaException):
        TelegramInput.from_credentials({"token": TELEGRAM_TOKEN, "secret_token": TELEGRAM_SECRET})
    monkeypatch.setenv("TELEGRAM_TOKEN", TELEGRAM_TOKEN)
    monkeypatch.setenv("TELEGRAM_SECRET_TOKEN", TELEGRAM_SECRET)
    channel = TelegramInput.from_credentials(None)
    assert channel.name() == "telegram" and channel.get_output_channel().name() == "telegram"
    with pytest.raises(ValueError):
        TelegramInput(TELEGRAM_TOKEN, "bad secret with spaces", None, channel.context)
