"""The web chat over real HTTP: the page and its policy, the turn, the urgent marker, "forget
me", and the live connection (`queue_message` + long-polling: order, exactly once,
reconnects, forget, expiry). Rasa is `tests.fakes.rasa.StubRasa`; the browser side is in
tests/browser/test_webchat.py."""

from __future__ import annotations

import asyncio
import datetime as _dt
import re
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sanic import Sanic

from bot import db
from bot.answers import card_reply
from bot.channels import webchat
from bot.channels.webchat import WebChatInput, WebChatOutput, forget, pending, purge, queue_message

SENDER = "a1b2c3d4e5f6a7b8c9d0e1f2"
OTHER = "ffeeddccbbaa998877665544"


class FakeTrackerStore:
    """Rasa's tracker store as the webhook sees it: `exists` after the turn."""

    def __init__(self) -> None:
        self.forgotten: set[str] = set()

    async def exists(self, sender_id: str) -> bool:
        return sender_id not in self.forgotten


@pytest.fixture
def engine(tmp_path: Path):
    engine = db.ensure_schema(db.get_engine(f"sqlite:///{tmp_path / 'webchat.db'}"))
    yield engine
    db.dispose_engines()


@pytest.fixture
async def server(engine) -> AsyncIterator[Callable[..., Awaitable[str]]]:
    """`await server(handler, tracker_store=None)` -> base URL of the web chat on a real Sanic."""
    running: list[Any] = []
    Sanic.test_mode = True

    async def start(handler: Callable[[Any], Awaitable[Any]], tracker_store: Any = None) -> str:
        app = Sanic(f"webchat_test_{uuid.uuid4().hex[:10]}")
        app.config.ACCESS_LOG = False
        if tracker_store is not None:
            app.ctx.agent = SimpleNamespace(tracker_store=tracker_store)
        channel = WebChatInput(engine=engine, poll_seconds=10)
        app.blueprint(channel.blueprint(handler), url_prefix="/webhooks/webchat")
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(100)
        srv = await app.create_server(sock=sock, return_asyncio_server=True, access_log=False)
        await srv.startup()
        await srv.start_serving()
        running.append(srv)
        return f"http://127.0.0.1:{sock.getsockname()[1]}/webhooks/webchat"

    yield start
    for srv in running:
        srv.close()
        await srv.wait_closed()


async def get(url: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.get(url)


async def poll(base: str, sender: str, wait: float = 0, ack: list[str] | None = None) -> list[dict]:
    reply = await post(base + "/poll", {"sender": sender, "wait": wait, "ack": ack or []})
    assert reply.status_code == 200, reply.text
    return reply.json()["messages"]


async def post(url: str, body: Any) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.post(url, json=body)


def outbox_rows(engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                sa.select(db.webchat_outbox.c.sender_id, db.webchat_outbox.c.text).order_by(
                    db.webchat_outbox.c.id
                )
            )
        ]


# --- the page -------------------------------------------------------------------------------


async def test_the_page_has_a_strict_policy_and_no_inline_script_or_style(server, stub_rasa):
    base = await server(stub_rasa)
    page = await get(base + "/")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy and "unsafe-inline" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page.text, re.S)
    assert scripts and all('src="static/webchat.js"' in attrs and not body.strip() for attrs, body in scripts)
    assert "<style" not in page.text and " style=" not in page.text
    assert re.search(r"\son[a-z]+\s*=", page.text) is None  # no inline event handlers
    assert '<label for="text" class="visually-hidden">Câu hỏi của bạn / Your question</label>' in page.text
    assert 'data-call="Gọi / Call"' in page.text  # the page's words come from the catalogs
    assert "$" not in page.text  # every placeholder filled
    script = await get(base + "/static/webchat.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert "textContent" in script.text and "fetch(" in script.text
    style = await get(base + "/static/webchat.css")
    assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")
    assert (await get(base + "/static/..%2Fwebchat.py")).status_code == 404
    assert (await get(base + "/static/other.js")).status_code == 404


# --- the turn -------------------------------------------------------------------------------


async def test_a_reply_comes_back_escaped_with_tel_links(server, stub_rasa):
    async def respond(message):
        await message.output_channel.send_text_message(
            message.sender_id, "<script>alert(1)</script> **Gọi** 111", utter_action="utter_answer"
        )

    stub_rasa.respond = respond
    base = await server(stub_rasa)
    reply = await post(base + "/webhook", {"sender": SENDER, "message": "xin chào"})
    assert reply.status_code == 200
    (message,) = reply.json()
    assert message["html"] == '&lt;script&gt;alert(1)&lt;/script&gt; <b>Gọi</b> <a href="tel:111">111</a>'
    assert "urgent" not in message and "forgotten" not in message
    assert stub_rasa.messages[0].sender_id == f"web-{SENDER}"
    assert stub_rasa.messages[0].text == "xin chào"


async def test_a_button_tap_sends_its_payload(server, stub_rasa):
    base = await server(stub_rasa)
    reply = await post(base + "/webhook", {"sender": SENDER, "payload": "/help_menu"})
    assert reply.status_code == 200 and reply.json()[0]["text"] == "echo 1"
    assert stub_rasa.messages[0].text == "/help_menu"


@pytest.mark.parametrize(
    "body",
    [{"sender": "short", "message": "hi"}, {"sender": SENDER, "message": "  "}, {"sender": SENDER}, ["x"]],
)
async def test_bad_requests_get_a_clear_400(server, stub_rasa, body):
    base = await server(stub_rasa)
    reply = await post(base + "/webhook", body)
    assert reply.status_code == 400 and reply.json()["error"]
    assert stub_rasa.messages == []


async def test_a_failing_turn_still_answers_danger_first(server, stub_rasa):
    """Rasa or a store down: danger gets the urgent card (marked, with its call button),
    anything else "temporarily unavailable" with the urgent numbers; never a bare error."""

    async def respond(message):
        raise RuntimeError("model not loaded")

    stub_rasa.respond = respond
    base = await server(stub_rasa)
    [danger] = (await post(base + "/webhook", {"sender": SENDER, "message": "chủ đánh em, cứu em"})).json()
    assert danger["urgent"] is True and danger["call"].startswith("tel:")
    assert "113" in danger["text"]
    reply = await post(base + "/webhook", {"sender": SENDER, "message": "hello, how do I renew my visa"})
    assert reply.status_code == 200
    [unavailable] = reply.json()
    assert unavailable["text"].startswith("Sorry, the assistant is temporarily unavailable")
    assert "+84 981 84 84 84" in unavailable["text"] and "urgent" not in unavailable


async def test_the_urgent_card_is_marked_by_its_response_with_a_number_that_works_from_abroad():
    card = card_reply("emergency_help", "vi")
    assert card is not None
    output = WebChatOutput()
    await output.send_text_with_buttons(
        f"web-{SENDER}", card["text"], card["buttons"], utter_action="utter_emergency_help"
    )
    await output.send_text_with_buttons(
        f"web-{SENDER}", card["text"], card["buttons"]
    )  # same text, no marker
    urgent, plain = output.messages
    assert urgent["urgent"] is True
    # The card lists Viet Nam's 113 first (returnees); the call button is the first number in
    # international form, which works wherever the user is.
    tels = re.findall(r'href="(tel:[^"]+)"', urgent["html"])
    assert urgent["call"] == "tel:+84981848484" == next(t for t in tels if t.startswith("tel:+"))
    assert urgent["call_label"] == "+84 981 84 84 84"
    assert "urgent" not in plain and "call" not in plain


async def test_forget_me_marks_the_confirmation_and_deletes_the_waiting_messages(server, stub_rasa, engine):
    store = FakeTrackerStore()

    async def respond(message):
        if message.text == "/forget_me":
            store.forgotten.add(message.sender_id)  # what PrivacyTrackerStore.save does
        await message.output_channel.send_text_message(message.sender_id, "Done.")

    stub_rasa.respond = respond
    base = await server(stub_rasa, tracker_store=store)
    await queue_message(engine, f"web-{SENDER}", "staff: still there?")
    await queue_message(engine, f"web-{OTHER}", "for someone else")

    ordinary = await post(base + "/webhook", {"sender": SENDER, "message": "hello"})
    assert "forgotten" not in ordinary.json()[0]
    assert len(outbox_rows(engine)) == 2

    reply = await post(base + "/webhook", {"sender": SENDER, "message": "/forget"})
    assert [m.get("forgotten") for m in reply.json()] == [True]
    assert outbox_rows(engine) == [(f"web-{OTHER}", "for someone else")]


# --- the live connection --------------------------------------------------------------------


async def test_queued_messages_come_in_order_until_acknowledged_then_once_only(server, stub_rasa, engine):
    base = await server(stub_rasa)
    await queue_message(engine, f"web-{SENDER}", "first: call 111")
    await queue_message(engine, f"web-{SENDER}", "second", [{"title": "Menu", "payload": "/help_menu"}])

    first = await poll(base, SENDER)
    assert [m["text"] for m in first] == ["first: call 111", "second"]
    assert first[0]["html"] == 'first: call <a href="tel:111">111</a>'
    assert first[1]["buttons"] == [{"title": "Menu", "payload": "/help_menu"}]
    assert len({m["id"] for m in first}) == 2

    # The answer was lost (the phone lost its connection): the next poll gets the same again.
    again = await poll(base, SENDER)
    assert again == first

    # Acknowledging the first only: the second comes again, the first never.
    rest = await poll(base, SENDER, ack=[first[0]["id"]])
    assert [m["text"] for m in rest] == ["second"]
    done = await poll(base, SENDER, ack=[first[1]["id"]])
    assert done == []
    assert outbox_rows(engine) == []  # delivered: deleted

    # A message queued after every earlier one was deleted still comes, once.
    await queue_message(engine, f"web-{SENDER}", "third")
    (third,) = await poll(base, SENDER)
    assert third["text"] == "third"


async def test_a_repeated_acknowledgement_never_deletes_a_newer_message(server, stub_rasa, engine):
    # The page acknowledged "one"; the answer carrying "two" was lost, so the page sends
    # the same acknowledgement again. SQLite may have given "two" the id "one" had.
    base = await server(stub_rasa)
    await queue_message(engine, f"web-{SENDER}", "one")
    (one,) = await poll(base, SENDER)
    assert await poll(base, SENDER, ack=[one["id"]]) == []
    await queue_message(engine, f"web-{SENDER}", "two")
    assert [m["text"] for m in await poll(base, SENDER, ack=[one["id"]])] == ["two"]
    assert [m["text"] for m in await poll(base, SENDER, ack=[one["id"]])] == ["two"]


async def test_a_waiting_poll_gets_a_message_queued_meanwhile(server, stub_rasa, engine):
    base = await server(stub_rasa)
    waiting = asyncio.create_task(poll(base, SENDER, wait=10))
    await asyncio.sleep(0.5)
    assert not waiting.done()  # nothing yet: the poll waits
    await queue_message(engine, f"web-{SENDER}", "the assistant is back")
    messages = await asyncio.wait_for(waiting, timeout=15)
    assert [m["text"] for m in messages] == ["the assistant is back"]


async def test_a_message_queued_by_another_process_reaches_a_waiting_poll(server, stub_rasa, engine):
    base = await server(stub_rasa)
    waiting = asyncio.create_task(poll(base, SENDER, wait=10))
    await asyncio.sleep(0.5)
    # The staff console writes the row from its own process: no in-process wake-up.
    with engine.begin() as conn:
        conn.execute(
            sa.insert(db.webchat_outbox).values(
                key="c0" * 16, sender_id=f"web-{SENDER}", text="from the console", created_at=webchat._now()
            )
        )
    messages = await asyncio.wait_for(waiting, timeout=15)
    assert [m["text"] for m in messages] == ["from the console"]


async def test_a_sender_sees_and_acknowledges_only_its_own_messages(server, stub_rasa, engine):
    base = await server(stub_rasa)
    await queue_message(engine, f"web-{OTHER}", "private")
    (theirs,) = pending(engine, f"web-{OTHER}")
    mine = await poll(base, SENDER, ack=[theirs["id"]])
    assert mine == []
    assert outbox_rows(engine) == [(f"web-{OTHER}", "private")]


@pytest.mark.parametrize(
    "body",
    [
        {"sender": "bad id!"},
        {"sender": SENDER, "ack": "0123456789abcdef0123456789abcdef"},
        {"sender": SENDER, "ack": [1]},
        {"sender": SENDER, "ack": ["0123456789abcdef0123456789abcdef", "x"]},
        {"sender": SENDER, "ack": ["0123456789abcdef0123456789abcdef"] * 101},
        {"sender": SENDER, "wait": "soon"},
        ["not", "an", "object"],
    ],
)
async def test_bad_polls_get_a_clear_400(server, stub_rasa, body):
    base = await server(stub_rasa)
    reply = await post(base + "/poll", body)
    assert reply.status_code == 400 and reply.json()["error"]


async def test_forget_deletes_only_that_senders_messages(engine):
    await queue_message(engine, f"web-{SENDER}", "one")
    await queue_message(engine, f"web-{SENDER}", "two")
    await queue_message(engine, f"web-{OTHER}", "kept")
    assert forget(engine, f"web-{SENDER}") == 2
    assert outbox_rows(engine) == [(f"web-{OTHER}", "kept")]
    assert pending(engine, f"web-{SENDER}") == []


async def test_messages_expire_after_the_ttl(engine, monkeypatch):
    monkeypatch.setenv("WEBCHAT_OUTBOX_TTL_HOURS", "2")
    old = webchat._now() - _dt.timedelta(hours=3)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(db.webchat_outbox).values(
                key=uuid.uuid4().hex, sender_id=f"web-{SENDER}", text="stale", created_at=old
            )
        )
    await queue_message(engine, f"web-{OTHER}", "fresh")  # queueing purges what expired
    assert outbox_rows(engine) == [(f"web-{OTHER}", "fresh")]
    with engine.begin() as conn:
        conn.execute(
            sa.insert(db.webchat_outbox).values(
                key=uuid.uuid4().hex, sender_id=f"web-{SENDER}", text="stale", created_at=old
            )
        )
    assert pending(engine, f"web-{SENDER}") == []  # never delivered once expired
    assert purge(engine) == 1
    assert outbox_rows(engine) == [(f"web-{OTHER}", "fresh")]


@pytest.mark.parametrize(
    ("sender_id", "text"),
    [("telegram-abc12345", "hi"), (SENDER, "hi"), ("web-x", "hi"), (f"web-{SENDER}", "  ")],
)
async def test_queue_message_refuses_what_the_page_could_not_show(engine, sender_id, text):
    with pytest.raises(ValueError):
        await queue_message(engine, sender_id, text)
    assert outbox_rows(engine) == []
