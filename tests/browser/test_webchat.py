"""The web chat in a real browser (Playwright with Debian's chromium) at a phone's viewport.

Two servers: the channel blueprint with a stub Rasa in a thread (exact replies, a reply held
back on purpose, a failing turn), and the real assistant (`python -m bot run` with the
trained model, the `bot` fixture of tests/channels/test_e2e.py) for a question, a button,
a reload, the urgent card, a staff message and "forget me" end to end.

Skipped with the reason when chromium or Playwright is missing, unless REQUIRE_SERVICES=1,
which turns the skip into a failure (as tests/conftest.py does for PostgreSQL and Redis).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
import uuid
from collections.abc import Awaitable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from bot import db
from bot.answers import card_reply
from bot.channels.webchat import WebChatInput, queue_message
from tests.channels.test_e2e import bot, card_title, follow_ups  # noqa: F401 - `bot`: the running assistant
from tests.fakes.rasa import StubRasa

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
PHONE = {"width": 390, "height": 844}
STORAGE_KEY = "webchat-v2"
GREETING = "Xin chào! Bạn muốn hỏi gì?"
SCRIPT_REPLY = '<script>window.__pwned = 1</script><img src="x" onerror="window.__pwned = 2"> hết'


def _missing(reason: str) -> None:
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason}, and REQUIRE_SERVICES=1 forbids skipping")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """A headless chromium driven by Playwright (never `playwright install`: Debian's binary)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright is not installed (.venv/bin/pip install playwright)")
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        _missing(f"chromium not found at {CHROMIUM}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def phone(chromium: Any) -> Iterator[Any]:
    """A fresh phone-sized page (its own localStorage)."""
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


# --- the channel with a stub Rasa, in a thread ---------------------------------------------------


class StubWebChat:
    """The web chat blueprint on a Sanic server in its own thread, answering with `StubRasa`."""

    def __init__(self, database: Path) -> None:
        self.engine = db.ensure_schema(db.get_engine(f"sqlite:///{database}"))
        self.rasa = StubRasa()
        self.release = threading.Event()  # lets the held-back reply ("slow") go
        self.rasa.respond = self._respond
        self.loop = asyncio.new_event_loop()
        self.base = ""
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    async def _respond(self, message: Any) -> None:
        out, sender = message.output_channel, message.sender_id
        text = message.text
        if text == "/greet":
            await out.send_text_message(sender, GREETING)
        elif text == "slow":
            await asyncio.to_thread(self.release.wait, 20)
            await out.send_text_message(sender, "**Trả lời** sau khi chờ")
        elif text == "script":
            await out.send_text_message(sender, SCRIPT_REPLY)
        elif text == "broken":
            raise RuntimeError("the model is not loaded")
        elif text == "long":
            paragraphs = [f"Đoạn {n}: " + "chi tiết " * 30 for n in range(1, 16)]
            await out.send_text_message(sender, "**Đầu câu trả lời**\n\n" + "\n\n".join(paragraphs))
        elif text == "danger":
            card = card_reply("emergency_help", "vi")
            assert card is not None
            await out.send_text_with_buttons(
                sender, card["text"], card["buttons"], utter_action="utter_emergency_help"
            )
        elif text == "/deposit_refund":
            await out.send_text_message(sender, "**Tiền ký quỹ**: câu trả lời")
        else:
            await out.send_text_with_buttons(
                sender, "Bạn muốn biết gì?", [{"title": "Tiền ký quỹ", "payload": "/deposit_refund"}]
            )

    def _run(self) -> None:
        from sanic import Sanic

        asyncio.set_event_loop(self.loop)
        Sanic.test_mode = True
        app = Sanic(f"webchat_browser_{uuid.uuid4().hex[:10]}")
        app.config.ACCESS_LOG = False
        app.blueprint(
            WebChatInput(engine=self.engine, poll_seconds=5).blueprint(self.rasa),
            url_prefix="/webhooks/webchat",
        )
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(100)
        self.base = f"http://127.0.0.1:{sock.getsockname()[1]}/webhooks/webchat/"

        async def serve() -> Any:
            server = await app.create_server(sock=sock, return_asyncio_server=True, access_log=False)
            await server.startup()
            await server.start_serving()
            return server

        self.server = self.loop.run_until_complete(serve())
        self._ready.set()
        self.loop.run_forever()

    def start(self) -> StubWebChat:
        self._thread.start()
        assert self._ready.wait(30), "the stub web chat did not start"
        return self

    def call(self, coroutine: Awaitable[Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(20)  # type: ignore[arg-type]

    def stop(self) -> None:
        self.release.set()

        async def close() -> None:
            self.server.close()
            await self.server.wait_closed()

        self.call(close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        db.dispose_engines()

    def texts_received(self) -> list[str]:
        return [m.text for m in self.rasa.messages]


@pytest.fixture
def stub_chat(tmp_path: Path) -> Iterator[StubWebChat]:
    chat = StubWebChat(tmp_path / "webchat.db").start()
    yield chat
    chat.stop()


# --- helpers --------------------------------------------------------------------------------


def open_chat(page: Any, url: str) -> None:
    page.goto(url)
    page.locator("#log .msg.bot").first.wait_for()


def ask(page: Any, text: str) -> None:
    page.fill("#text", text)
    page.press("#text", "Enter")


def sender_of(page: Any) -> str:
    return page.evaluate(f"JSON.parse(localStorage.getItem('{STORAGE_KEY}')).sender")


def bubbles(page: Any, who: str) -> list[str]:
    return page.locator(f".msg.{who} .body").all_inner_texts()


# --- with the stub ---------------------------------------------------------------------------


def test_the_first_visit_greets_without_a_bubble_the_user_never_typed(phone, stub_chat):
    open_chat(phone, stub_chat.base)
    assert bubbles(phone, "bot") == [GREETING]
    assert bubbles(phone, "user") == []
    assert stub_chat.texts_received() == ["/greet"]


def test_send_waits_for_the_reply_with_a_typing_indicator(phone, stub_chat):
    from playwright.sync_api import expect

    open_chat(phone, stub_chat.base)
    ask(phone, "slow")
    expect(phone.locator("#send")).to_be_disabled()
    expect(phone.locator("#typing")).to_be_visible()
    ask(phone, "a second question while waiting")  # Enter does nothing meanwhile
    phone.locator(".msg.user .body", has_text="a second question").wait_for(state="detached", timeout=1000)
    assert stub_chat.texts_received() == ["/greet", "slow"]
    stub_chat.release.set()
    expect(phone.locator(".msg.bot .body").last).to_have_text("Trả lời sau khi chờ")
    expect(phone.locator("#send")).to_be_enabled()
    expect(phone.locator("#typing")).to_be_hidden()
    assert phone.locator(".msg.bot b").last.inner_text() == "Trả lời"


def test_a_failed_turn_says_to_try_again_with_the_urgent_numbers(phone, stub_chat):
    # A turn that fails in Rasa gets the degraded reply (bot/degraded.py): try again later,
    # and the urgent numbers first, never silence; the page can be used again at once.
    from playwright.sync_api import expect

    open_chat(phone, stub_chat.base)
    ask(phone, "broken")
    reply = phone.locator(".msg.bot .body").last
    expect(reply).to_contain_text("thử lại")
    expect(reply).to_contain_text("113")
    expect(phone.locator("#send")).to_be_enabled()


def test_a_tapped_button_shows_its_title_not_its_payload(phone, stub_chat):
    open_chat(phone, stub_chat.base)
    ask(phone, "menu")
    phone.get_by_role("button", name="Tiền ký quỹ").click()
    phone.locator(".msg.bot .body", has_text="câu trả lời").wait_for()
    assert bubbles(phone, "user") == ["menu", "Tiền ký quỹ"]
    assert "/deposit_refund" not in phone.locator("#log").inner_text()
    assert stub_chat.texts_received()[-1] == "/deposit_refund"


def test_script_in_a_reply_is_shown_as_text_and_never_run(phone, stub_chat):
    messages: list[str] = []
    phone.on("console", lambda m: messages.append(m.text))
    open_chat(phone, stub_chat.base)
    ask(phone, "script")
    phone.locator(".msg.bot .body", has_text="hết").wait_for()
    assert phone.evaluate("window.__pwned") is None
    assert phone.locator(".msg.bot .body").last.inner_text() == SCRIPT_REPLY
    assert phone.locator("#log script, #log img").count() == 0


def test_a_long_answer_is_shown_from_its_start(phone, stub_chat):
    open_chat(phone, stub_chat.base)
    ask(phone, "long")
    answer = phone.locator(".msg.bot", has_text="Đầu câu trả lời")
    answer.wait_for()
    phone.wait_for_timeout(300)
    box = answer.bounding_box()
    assert box is not None and box["height"] > PHONE["height"]  # longer than the screen
    assert 0 <= box["y"] < 100, box  # its first line is at the top of the screen


def test_the_urgent_card_has_the_urgent_style_and_a_call_button_first(phone, stub_chat):
    open_chat(phone, stub_chat.base)
    ask(phone, "danger")
    card = phone.locator(".msg.urgent")
    card.wait_for()
    first = card.locator(":scope > *").first
    assert first.evaluate("e => e.tagName") == "A" and first.get_attribute("href") == "tel:+84981848484"
    assert first.inner_text() == "📞 Gọi / Call +84 981 84 84 84"
    edge = card.evaluate("e => getComputedStyle(e).borderLeftColor")
    assert edge == "rgb(198, 40, 40)"
    assert (
        phone.locator(".msg.bot:not(.urgent)").first.evaluate("e => getComputedStyle(e).borderLeftWidth")
        == "0px"
    )


def test_a_queued_staff_message_appears_without_reload_and_only_once(phone, stub_chat):
    open_chat(phone, stub_chat.base)
    sender = sender_of(phone)
    stub_chat.call(
        queue_message(stub_chat.engine, f"web-{sender}", "Nhân viên: chúng tôi đã nhận tin, gọi 111")
    )
    staff = phone.locator(".msg.bot .body", has_text="Nhân viên")
    staff.wait_for()
    assert staff.locator('a[href="tel:111"]').count() == 1
    phone.reload()
    phone.locator(".msg.bot .body", has_text="Nhân viên").wait_for()
    phone.wait_for_timeout(1500)  # a poll or two: nothing comes twice
    assert phone.locator(".msg.bot .body", has_text="Nhân viên").count() == 1

    def left() -> int:
        with stub_chat.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(db.webchat_outbox)).scalar_one()

    deadline = 40
    while left() and deadline:  # acknowledged by the next poll, then deleted
        phone.wait_for_timeout(250)
        deadline -= 1
    assert left() == 0


# Lets a test put the page in the background (headless pages are always "visible").
FAKE_VISIBILITY = """
window.__hidden = false;
Object.defineProperty(document, "visibilityState", { get: () => (window.__hidden ? "hidden" : "visible") });
"""


def test_no_polling_while_the_page_is_hidden_and_the_message_waits(phone, stub_chat):
    phone.add_init_script(FAKE_VISIBILITY)
    polls: list[str] = []
    phone.on("request", lambda r: polls.append(r.url) if r.url.endswith("/poll") else None)
    open_chat(phone, stub_chat.base)
    sender = sender_of(phone)
    phone.evaluate("window.__hidden = true")
    stub_chat.call(queue_message(stub_chat.engine, f"web-{sender}", "Nhân viên: bạn còn đó không?"))
    phone.locator(".msg.bot .body", has_text="Nhân viên").wait_for()  # the poll already waiting gets it
    before = len(polls)
    phone.wait_for_timeout(2500)
    assert len(polls) == before  # hidden: no new poll after that one
    stub_chat.call(queue_message(stub_chat.engine, f"web-{sender}", "Nhân viên: tin thứ hai"))
    phone.wait_for_timeout(1000)
    assert phone.locator(".msg.bot .body", has_text="tin thứ hai").count() == 0
    phone.evaluate("window.__hidden = false; document.dispatchEvent(new Event('visibilitychange'))")
    phone.locator(".msg.bot .body", has_text="tin thứ hai").wait_for()
    assert phone.locator(".msg.bot .body", has_text="Nhân viên").count() == 2


def test_the_conversation_survives_a_reload_without_a_second_greeting(phone, stub_chat):
    open_chat(phone, stub_chat.base)
    ask(phone, "menu")
    phone.locator(".msg.bot .body", has_text="Bạn muốn biết gì").wait_for()
    before = phone.locator("#log").inner_text()
    phone.reload()
    phone.locator(".msg.bot .body", has_text="Bạn muốn biết gì").wait_for()
    assert phone.locator("#log").inner_text() == before
    assert stub_chat.texts_received() == ["/greet", "menu"]
    phone.get_by_role("button", name="Tiền ký quỹ").click()  # a restored button still works
    phone.locator(".msg.bot .body", has_text="câu trả lời").wait_for()


# --- with the real assistant -----------------------------------------------------------------

# Records the send button's state when the page's request to the bot starts and when its
# answer arrives (before the page handles it): the real bot answers too fast to look.
WATCH_SEND = """
window.__send = [];
const realFetch = window.fetch;
window.fetch = function (url) {
  const reply = realFetch.apply(this, arguments);
  if (String(url).indexOf("webhook") >= 0) {
    window.__send.push(document.getElementById("send").disabled);
    reply.then(() => window.__send.push(document.getElementById("send").disabled), () => {});
  }
  return reply;
};
"""


@pytest.mark.e2e
def test_real_bot_question_button_reload_staff_message_urgent_card_and_forget(phone, bot):  # noqa: F811
    from playwright.sync_api import expect

    # The first answer of a fresh server loads the models (longer than the page waits).
    warm = httpx.post(
        bot.base + "/webhooks/webchat/webhook",
        json={"sender": "warmup0000", "message": "làm sao lấy lại tiền ký quỹ"},
        timeout=300,
    )
    assert warm.status_code == 200, warm.text
    phone.add_init_script(WATCH_SEND)
    open_chat(phone, bot.base + "/webhooks/webchat/")
    assert bubbles(phone, "user") == []

    # A question: the card comes back, and the send button was disabled while it was pending.
    title = card_title("deposit_refund", "vi")
    ask(phone, "làm sao lấy lại tiền ký quỹ")
    phone.locator(".msg.bot .body", has_text=title).wait_for(timeout=60_000)
    assert phone.evaluate("window.__send").count(False) == 0
    expect(phone.locator("#send")).to_be_enabled()

    # A follow-up button: the user's bubble is its title.
    follow_title = card_title(follow_ups("deposit_refund")[0], "vi")
    phone.locator(".buttons button", has_text=follow_title).last.click()
    phone.locator(".msg.bot .body", has_text=follow_title).wait_for(timeout=60_000)
    assert bubbles(phone, "user")[-1] == follow_title

    # A reload keeps the conversation.
    before = bubbles(phone, "user") + bubbles(phone, "bot")
    phone.reload()
    phone.locator(".msg.bot .body", has_text=follow_title).first.wait_for()
    assert bubbles(phone, "user") + bubbles(phone, "bot") == before

    # A staff message queued by another process (as the staff console does) appears.
    sender = sender_of(phone)
    engine = db.get_engine(f"sqlite:///{bot.tracker_db.parent / 'bot.db'}")
    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API holds this thread's event loop
        pool.submit(
            asyncio.run, queue_message(engine, f"web-{sender}", "Chào bạn, tôi là nhân viên tư vấn.")
        ).result()
    phone.locator(".msg.bot .body", has_text="nhân viên tư vấn").wait_for(timeout=30_000)

    # Danger: the urgent card, red edge, the call button first.
    ask(phone, "cứu tôi với, chủ đánh tôi và giữ hộ chiếu")
    card = phone.locator(".msg.urgent")
    card.wait_for(timeout=60_000)
    first = card.locator(":scope > *").first
    assert first.get_attribute("href", timeout=5000) == "tel:+84981848484"
    assert card_title("emergency_help", "vi") in card.inner_text()

    # "Forget me": the bot confirms, the page keeps nothing.
    ask(phone, "/forget")
    expect(phone.locator(".msg.user")).to_have_count(0, timeout=60_000)
    assert (
        phone.evaluate(f"localStorage.getItem('{STORAGE_KEY}')") in (None, "null")
        or sender_of(phone) != sender
    )
    phone.reload()
    phone.locator(".msg.bot").first.wait_for(timeout=60_000)
    assert sender_of(phone) != sender
    assert bubbles(phone, "user") == []
    shown = phone.locator("#log").inner_text()
    assert title not in shown and "nhân viên tư vấn" not in shown
    with engine.connect() as conn:
        assert (
            conn.execute(
                sa.select(sa.func.count())
                .select_from(db.webchat_outbox)
                .where(db.webchat_outbox.c.sender_id == f"web-{sender}")
            ).scalar_one()
            == 0
        )
