"""A finished complaint letter reaches the user on every channel: as a document on Telegram
(sendDocument, multipart) and Zalo (upload, then a message with the file), and as a one-time
link on the web chat. The fakes run over real HTTP; a stub stands in for Rasa and sends the
custom message the letter action sends ({"letter": {"token", "filename"}})."""

from __future__ import annotations

import datetime as _dt
import io

import httpx
import pypdf
import pytest

from bot.channels.context import ChannelContext
from bot.channels.telegram import TelegramInput
from bot.channels.webchat import WebChatInput
from bot.tools import letter_store
from bot.tools.letter import Addressee, content
from bot.tools.letter_pdf import render_pdf
from tests.channels.test_zalo import event, make_channel
from tests.channels.test_zalo import post as zalo_post
from tests.fakes.http import eventually
from tests.fakes.telegram import TELEGRAM_SECRET, TELEGRAM_TOKEN, text_update

USER_ID = 987654321
TODAY = _dt.date(2026, 11, 30)
ANSWERS = {
    "problem": "deposit",
    "enterprise": "Công ty Cổ phần Nhân lực Hưng Thịnh",
    "province": "Nghệ An",
    "contract_no": "",
    "date": "2025-03-15",
    "amount": {"amount": 5000000, "currency": "VND"},
    "promised": "Trả lại tiền ký quỹ khi về nước",
    "done": "Công ty không trả, không nghe điện thoại",
    "keep": "no",
}


def _pdf() -> bytes:
    return render_pdf(
        [content(ANSWERS, "vi", TODAY, None), content(ANSWERS, "en", TODAY, Addressee("Board"))]
    )


def _sends_letter(engine, filename: str = "don-khieu-nai.pdf"):
    """A stub Rasa turn that stores a letter for its sender and sends the custom message."""

    async def respond(message):
        token = letter_store.store_file(engine, message.sender_id, filename, _pdf())
        await message.output_channel.send_text_message(message.sender_id, "Đây là đơn của bạn.")
        await message.output_channel.send_custom_json(
            message.sender_id, {"letter": {"token": token, "filename": filename}}
        )

    return respond


async def test_telegram_sends_the_letter_as_a_document(
    serve, stub_rasa, fake_telegram, context: ChannelContext
):
    channel = TelegramInput(
        TELEGRAM_TOKEN, TELEGRAM_SECRET, fake_telegram.api_base_url, context, typing_after=5.0
    )
    stub_rasa.respond = _sends_letter(context.engine)
    base = await serve(channel, stub_rasa)
    async with httpx.AsyncClient() as client:
        reply = await client.post(
            base + "/webhooks/telegram/webhook",
            json=text_update(40, "viết đơn khiếu nại"),
            headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
        )
    assert reply.status_code == 200
    assert await eventually(lambda: bool(fake_telegram.calls_of("sendDocument")))
    documents = fake_telegram.sent_documents(USER_ID)
    assert len(documents) == 1
    assert documents[0].filename == "don-khieu-nai.pdf"
    assert documents[0].data.startswith(b"%PDF")
    text = pypdf.PdfReader(io.BytesIO(documents[0].data)).pages[0].extract_text()
    assert "Công ty Cổ phần Nhân lực Hưng Thịnh" in text
    # Taken once: nothing of it is left in the database.
    assert letter_store.forget(context.engine, context.pseudonym("telegram", USER_ID)) == 0


async def test_zalo_uploads_the_letter_then_sends_it_as_a_file_message(
    serve, stub_rasa, fake_zalo, context: ChannelContext
):
    channel = make_channel(fake_zalo, context)
    stub_rasa.respond = _sends_letter(context.engine)
    base = await serve(channel, stub_rasa)
    reply = await zalo_post(base, event(text="viết đơn khiếu nại", msg_id="letter1"))
    assert reply.status_code == 200
    assert await eventually(lambda: bool(fake_zalo.delivered_files()))
    uploads = fake_zalo.uploads()
    assert len(uploads) == 1 and uploads[0].data.startswith(b"%PDF")
    assert uploads[0].content_type == "application/pdf"
    upload_call = fake_zalo.calls_of("/v2.0/oa/upload/file")[0]
    assert {k.lower(): v for k, v in upload_call.headers.items()}["access_token"] == "access-0"
    assert fake_zalo.delivered_files() == ["filetoken-" + fake_zalo.delivered_files()[0].split("-")[1]]
    assert "Đây là đơn của bạn." in fake_zalo.delivered_texts()


async def test_a_letter_for_someone_else_is_not_sent(
    serve, stub_rasa, fake_telegram, context: ChannelContext
):
    token = letter_store.store_file(context.engine, "someone-else", "x.pdf", b"%PDF-1.4 other")

    async def respond(message):
        await message.output_channel.send_custom_json(message.sender_id, {"letter": {"token": token}})

    channel = TelegramInput(
        TELEGRAM_TOKEN, TELEGRAM_SECRET, fake_telegram.api_base_url, context, typing_after=5.0
    )
    stub_rasa.respond = respond
    base = await serve(channel, stub_rasa)
    async with httpx.AsyncClient() as client:
        await client.post(
            base + "/webhooks/telegram/webhook",
            json=text_update(41, "viết đơn"),
            headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
        )
    assert await eventually(lambda: bool(fake_telegram.sent_to(USER_ID)))
    assert fake_telegram.calls_of("sendDocument") == []
    assert "không còn" in fake_telegram.sent_to(USER_ID)[0]
    # The other person's letter is still waiting for them.
    assert letter_store.take_file(context.engine, token, "someone-else") is not None


@pytest.fixture
def webchat(context: ChannelContext) -> WebChatInput:
    channel = WebChatInput(engine=context.engine)
    channel.context = context  # type: ignore[attr-defined] - the `serve` fixture drains its tasks
    return channel


async def test_web_chat_shows_a_one_time_link_that_downloads_the_pdf(serve, stub_rasa, webchat, context):
    stub_rasa.respond = _sends_letter(context.engine)
    base = await serve(webchat, stub_rasa)
    async with httpx.AsyncClient() as client:
        reply = await client.post(
            base + "/webhooks/webchat/webhook", json={"sender": "device-12345678", "message": "viết đơn"}
        )
        assert reply.status_code == 200
        messages = reply.json()
        links = [m["document"] for m in messages if m.get("document")]
        assert len(links) == 1 and links[0]["url"].startswith("letter/")
        assert len(links[0]["url"].split("/", 1)[1]) >= 40  # unguessable
        first = await client.get(base + "/webhooks/webchat/" + links[0]["url"])
        assert first.status_code == 200
        assert first.headers["content-type"] == "application/pdf"
        assert first.headers["cache-control"] == "no-store"
        assert "attachment" in first.headers["content-disposition"]
        text = pypdf.PdfReader(io.BytesIO(first.content)).pages[0].extract_text()
        assert "Nghệ An" in text
        second = await client.get(base + "/webhooks/webchat/" + links[0]["url"])
        assert second.status_code == 404
        guessed = await client.get(base + "/webhooks/webchat/letter/" + "A" * 43)
        assert guessed.status_code == 404
        bad = await client.get(base + "/webhooks/webchat/letter/..%2f..%2fetc")
        assert bad.status_code == 404


async def test_web_chat_page_renders_the_letter_link_label(serve, stub_rasa, webchat):
    base = await serve(webchat, stub_rasa)
    async with httpx.AsyncClient() as client:
        page = await client.get(base + "/webhooks/webchat/")
        script = await client.get(base + "/webhooks/webchat/static/webchat.js")
    assert 'data-download="Tải đơn về' in page.text
    assert "LETTER.test(m.document.url)" in script.text and 'link.className = "document"' in script.text


def test_an_expired_link_downloads_nothing(context: ChannelContext):
    engine = context.engine
    long_ago = _dt.datetime(2026, 1, 1)
    token = letter_store.store_file(engine, "web-abc", "x.pdf", b"%PDF", now=long_ago)
    assert letter_store.take_file(engine, token, now=long_ago + _dt.timedelta(days=1)) is None
