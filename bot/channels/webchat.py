"""The local web chat: a page served by the assistant itself, no CDN, for a browser on a phone.

Routes (under `/webhooks/webchat/`):

- `GET /` the page, `GET /static/webchat.js|webchat.css` its script and style. The page has
  no inline script or style, so its Content-Security-Policy allows only its own origin:
  even if some text slipped through unescaped, no script in it would run.
- `POST /webhook` `{"sender", "message"}` for typed text (slash commands such as /forget as
  on Telegram) or `{"sender", "payload"}` for a button tap. The answer is the bot's
  messages as JSON: `text`, `html` (rendered and escaped by `bot.markup.to_web_html`, one
  bold rule for every channel, phone numbers as `tel:` links), `buttons`; the urgent-help
  card also carries `urgent: true` and `call` (the first `tel:` link of the card), taken
  from the response that produced it (`utter_emergency_help`), never from its wording.
  When the turn deleted the conversation ("forget me"), every message carries
  `forgotten: true` and the page clears what it kept on the device.
- `POST /poll` `{"sender", "ack": [ids shown], "wait": 25}` the live connection, for
  messages that arrive outside a turn (a staff reply, the end of a handoff):
  `queue_message` stores them in the `webchat_outbox` table and the page long-polls. A
  POST, so the sender id (which reads the outbox) stays out of access logs.

Why long-polling and not a WebSocket: on a cheap phone on mobile data the connection drops
and changes address often. A long poll is an ordinary HTTP request, so it passes every
proxy, needs no heartbeat to notice a dead connection (each poll ends within `wait`
seconds and the next one starts afresh), and carries its own acknowledgement. A message is
deleted only when a later poll acknowledges its id, so a reply lost with a dropped
connection is sent again, and the page skips ids it already shows: each message appears
exactly once, in the order queued, across reconnects and reloads. The staff console runs
in another process, so a waiting poll re-reads the table every `RECHECK_SECONDS`; a
message queued in this process wakes it at once. Waiting rows are deleted by `forget`
("forget me": the webhook calls it when the turn deleted the conversation) and after
WEBCHAT_OUTBOX_TTL_HOURS (`purge`, also run by every `queue_message`).

The sender id is random per device (made by the page, kept in its localStorage) and is
already pseudonymous: Rasa knows the conversation as `web-<sender>`, the id
`queue_message` takes.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import functools
import html
import json
import logging
import re
import secrets
import string
import threading
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy.engine import Engine

from bot.channels.base import parse_json, t
from bot.channels.commands import COMMAND_PAYLOADS, text_to_rasa
from bot.channels.limits import RateLimiter, body_too_large, refusal
from bot.db import ensure_schema, get_engine, webchat_outbox
from bot.markup import to_web_html
from bot.metrics import MESSAGES
from bot.nlg import CARD_RESPONSES
from bot.settings import get_settings, sanic_workers
from bot.worker_state import rate_limiter_for

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
PAGE = STATIC_DIR / "webchat.html"
ASSETS = {
    "webchat.js": "text/javascript; charset=utf-8",
    "webchat.css": "text/css; charset=utf-8",
}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
_NO_STORE = {"Cache-Control": "no-store"}
# fundletter: a letter's download token (secrets.token_urlsafe, bot/tools/letter_store.py).
LETTER_KEY = "letter"
_LETTER_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,100}$")

SENDER_PREFIX = "web-"
_SENDER = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MAX_MESSAGE_CHARS = 2000
EMERGENCY_CARD = "emergency_help"
# The responses that produce the urgent-help card (rendered in-process by bot.nlg).
URGENT_RESPONSES = frozenset(name for name, card in CARD_RESPONSES.items() if card == EMERGENCY_CARD)
_TEL_LINK = re.compile(r'<a href="(tel:\+?\d+)">([^<]+)</a>')

POLL_SECONDS = 25.0  # under the idle timeout of common proxies (30-60 s) and Sanic's
# Other processes (the staff console) queue messages too: a waiting poll re-reads this often.
RECHECK_SECONDS = 2.0
MAX_ACKS = 100
_KEY = re.compile(r"^[0-9a-f]{32}$")


# --- one message as the page gets it ---------------------------------------------------------


def _clean_buttons(buttons: Iterable[Any] | None) -> list[dict[str, str]]:
    """Buttons the page can show: a title, and a payload the webhook accepts ("/…")."""
    cleaned = []
    for button in buttons or []:
        if not isinstance(button, dict) or not str(button.get("title") or "").strip():
            continue
        payload = button.get("payload")
        item = {"title": str(button["title"])}
        if isinstance(payload, str) and payload.startswith("/"):
            item["payload"] = payload
        cleaned.append(item)
    return cleaned


def web_fields(text: str, urgent: bool = False) -> dict[str, Any]:
    """`html` for a message's text, and the urgent marker with the card's first phone number."""
    fields: dict[str, Any] = {"html": to_web_html(text)} if text else {}
    if urgent:
        fields["urgent"] = True
        # The call button: the first number in international form (it works from abroad and
        # from Viet Nam alike, e.g. the citizen-protection hotline), else the first number.
        links = list(_TEL_LINK.finditer(fields.get("html", "")))
        call = next(
            (link for link in links if link.group(1).startswith("tel:+")), links[0] if links else None
        )
        if call:
            fields["call"] = call.group(1)
            fields["call_label"] = html.unescape(call.group(2))
    return fields


FORGET_PAYLOAD = COMMAND_PAYLOADS["forget"]


class WebChatOutput(CollectingOutputChannel):
    """Collects replies whole, each with its card Markdown rendered to safe HTML (`html`):
    bold, clickable links and `tel:` links for phone numbers; the urgent card marked."""

    @classmethod
    def name(cls) -> str:
        return "webchat"

    def _web_message(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]] | None, kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        message = self._message(recipient_id, text=text, buttons=buttons)
        # Rasa passes the response's name with every message it sends (`utter_action`).
        message.update(web_fields(text, urgent=kwargs.get("utter_action") in URGENT_RESPONSES))
        return message

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._persist_message(self._web_message(recipient_id, text, None, kwargs))

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        await self._persist_message(self._web_message(recipient_id, text, buttons, kwargs))

    async def send_quick_replies(
        self, recipient_id: str, text: str, quick_replies: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        await self._persist_message(self._web_message(recipient_id, text, quick_replies, kwargs))

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any) -> None:
        # fundletter: a finished complaint letter becomes a one-time download link (`GET
        # letter/<token>`, relative to the page); other custom payloads as Rasa keeps them.
        letter = json_message.get(LETTER_KEY) if isinstance(json_message, dict) else None
        token = letter.get("token") if isinstance(letter, dict) else None
        if isinstance(letter, dict) and isinstance(token, str) and _LETTER_TOKEN.match(token):
            name = str(letter.get("filename") or "letter.pdf")[:100]
            message = self._message(recipient_id, text=name)
            message["document"] = {"url": f"letter/{token}", "name": name}
            await self._persist_message(message)
            return
        await super().send_custom_json(recipient_id, json_message, **kwargs)


def degraded_message(sender_id: str, typed: Any, text: str) -> dict[str, Any]:
    """The reply of `bot.degraded` as a web-chat message: the urgent card (marked urgent)
    for danger, else "temporarily unavailable" with the urgent numbers."""
    from bot.degraded import degraded_reply
    from bot.language import choose_language
    from bot.metrics import DEGRADED_REPLIES

    said = typed if isinstance(typed, str) else text
    reply = degraded_reply(said, choose_language(None, None, said))
    urgent = bool(reply.get("urgent"))
    DEGRADED_REPLIES.labels(channel="webchat", kind="urgent" if urgent else "unavailable").inc()
    return {"recipient_id": sender_id, "text": reply["text"], **web_fields(reply["text"], urgent=urgent)}


# --- the outbox: messages outside a turn ------------------------------------------------------


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None)  # stored naive, in UTC


def _ttl() -> _dt.timedelta:
    from bot.settings import get_settings

    return _dt.timedelta(hours=get_settings().webchat_outbox_ttl_hours)


# Polls waiting in this process, by sender, woken when a message for them is queued here
# (from any thread: an Event is set only on the loop it belongs to).
_waiters: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}
_waiters_lock = threading.Lock()


def _wake(sender_id: str) -> None:
    with _waiters_lock:
        waiting = list(_waiters.get(sender_id, ()))
    for loop, event in waiting:
        with contextlib.suppress(RuntimeError):  # that loop just closed: its poll is gone
            loop.call_soon_threadsafe(event.set)


def _insert(engine: Engine, sender_id: str, text: str, buttons: list[dict[str, str]]) -> None:
    ensure_schema(engine)
    now = _now()
    with engine.begin() as conn:
        conn.execute(sa.delete(webchat_outbox).where(webchat_outbox.c.created_at < now - _ttl()))
        conn.execute(
            sa.insert(webchat_outbox).values(
                key=secrets.token_hex(16),
                sender_id=sender_id,
                text=text,
                buttons=json.dumps(buttons, ensure_ascii=False) if buttons else None,
                created_at=now,
            )
        )


async def queue_message(engine: Engine, sender_id: str, text: str, buttons: list[dict] | None = None) -> None:
    """Store a message for web-chat user `sender_id` (Rasa's id, `web-…`) outside a turn.

    The page shows it on its next poll, without reloading; a waiting poll in this process
    gets it at once. Kept at most WEBCHAT_OUTBOX_TTL_HOURS when the page never comes back.
    """
    if not sender_id.startswith(SENDER_PREFIX) or not _SENDER.match(sender_id[len(SENDER_PREFIX) :]):
        raise ValueError("not a web-chat sender id (web-…)")
    cleaned = _clean_buttons(buttons)
    if not text.strip() and not cleaned:
        raise ValueError("an empty message")
    await asyncio.to_thread(_insert, engine, sender_id, text, cleaned)
    _wake(sender_id)


def pending(engine: Engine, sender_id: str, ack: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Delete the acknowledged messages of `sender_id` (by `id`, the row's random key), return
    the others, oldest first."""
    ensure_schema(engine)
    acked = list(ack)
    with engine.begin() as conn:
        if acked:
            conn.execute(
                sa.delete(webchat_outbox).where(
                    webchat_outbox.c.sender_id == sender_id, webchat_outbox.c.key.in_(acked)
                )
            )
        rows = conn.execute(
            sa.select(webchat_outbox.c.key, webchat_outbox.c.text, webchat_outbox.c.buttons)
            .where(
                webchat_outbox.c.sender_id == sender_id,
                webchat_outbox.c.created_at >= _now() - _ttl(),
            )
            .order_by(webchat_outbox.c.id)
        ).all()
    return [
        {
            "id": row.key,
            "text": row.text,
            "buttons": json.loads(row.buttons) if row.buttons else [],
            **web_fields(row.text),
        }
        for row in rows
    ]


def forget(engine: Engine, sender_id: str) -> int:
    """Delete every waiting message of `sender_id` ("forget me"); the number deleted."""
    ensure_schema(engine)
    with engine.begin() as conn:
        return conn.execute(sa.delete(webchat_outbox).where(webchat_outbox.c.sender_id == sender_id)).rowcount


def purge(engine: Engine, now: _dt.datetime | None = None) -> int:
    """Delete messages older than WEBCHAT_OUTBOX_TTL_HOURS; the number deleted."""
    ensure_schema(engine)
    now = now or _now()
    with engine.begin() as conn:
        return conn.execute(
            sa.delete(webchat_outbox).where(webchat_outbox.c.created_at < now - _ttl())
        ).rowcount


# --- the channel ---------------------------------------------------------------------------


class WebChatInput(InputChannel):
    def __init__(self, engine: Engine | None = None, poll_seconds: float = POLL_SECONDS) -> None:
        self._engine = engine
        self.poll_seconds = poll_seconds

    @classmethod
    def name(cls) -> str:
        return "webchat"

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = get_engine()
        return self._engine

    def refusal(self, sender_id: str, text: str) -> list[dict[str, Any]] | None:
        """The polite reply to an over-long message or an over-eager sender, else None."""
        if not hasattr(self, "_rate_limiter"):
            self._rate_limiter = _limiter()
        refused = refusal(self._rate_limiter, sender_id, text, get_settings().max_message_chars)
        if refused is None:
            return None
        reply = t(None, refused)
        return [{"recipient_id": sender_id, "text": reply, "html": to_web_html(reply)}]

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webchat = Blueprint("webchat", __name__)

        @webchat.route("/", methods=["GET"])
        async def page(request: Request) -> HTTPResponse:
            return response.html(render_page(), headers=_PAGE_HEADERS)

        @webchat.route("/static/<name:str>", methods=["GET"])
        async def asset(request: Request, name: str) -> HTTPResponse:
            if name not in ASSETS:
                return response.json({"error": "not found"}, status=404)
            return response.text(
                (STATIC_DIR / name).read_text(encoding="utf-8"),
                content_type=ASSETS[name],
                headers=_PAGE_HEADERS,
            )

        @webchat.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if body_too_large(request, MAX_BODY_BYTES_WEBCHAT):
                return response.json({"error": "request body too large"}, status=413)
            body = _json_body(request)
            if body is None:
                return response.json({"error": "expected a JSON object"}, status=400)
            sender = body.get("sender")
            if not isinstance(sender, str) or not _SENDER.match(sender):
                return response.json({"error": "sender must be 8-64 letters, digits, - or _"}, status=400)
            payload, message = body.get("payload"), body.get("message")
            if isinstance(payload, str) and payload.startswith("/"):
                text = payload
            elif isinstance(message, str) and message.strip():
                text = text_to_rasa(message)
            else:
                return response.json({"error": "message must be non-empty text"}, status=400)
            sender_id = SENDER_PREFIX + sender
            refused = self.refusal(sender_id, text)
            if refused is not None:
                return response.json(refused, headers=_NO_STORE)
            MESSAGES.labels(channel=self.name()).inc()
            collector = WebChatOutput()
            # While a person holds the conversation the bot is silent (bot.handoff); danger
            # still gets the urgent card, which comes back as the held turn's replies.
            held = None if text == FORGET_PAYLOAD else await _held(sender_id, message, text)
            if held is not None:
                for reply in held.replies:
                    await collector.send_text_with_buttons(
                        sender_id, reply["text"], reply.get("buttons") or []
                    )
                return response.json(collector.messages, headers=_NO_STORE)
            try:
                await on_new_message(
                    UserMessage(
                        text,
                        collector,
                        sender_id,
                        input_channel=self.name(),
                        metadata={"channel": self.name()},
                    )
                )
            except Exception as exc:  # noqa: BLE001 - never silence: bot.degraded answers
                logger.error("webchat turn failed: %s", type(exc).__name__)
                return response.json([degraded_message(sender_id, message, text)], headers=_NO_STORE)
            messages = mark_forgotten(collector.messages)
            if await self._forgotten(request, sender_id):
                try:
                    await asyncio.to_thread(forget, self.engine, sender_id)
                    messages = [{**reply, "forgotten": True} for reply in messages]
                except Exception as exc:  # noqa: BLE001 - the database down: the reply still goes out
                    logger.warning("webchat: outbox not cleared (%s)", type(exc).__name__)
            return response.json(messages, headers=_NO_STORE)

        @webchat.route("/letter/<token:str>", methods=["GET"])
        async def letter(request: Request, token: str) -> HTTPResponse:
            # fundletter: the one-time download of a finished complaint letter. The token
            # is the capability (unguessable, used once, expires after LETTER_LINK_MINUTES).
            from bot.tools.letter_store import take_file

            if not _LETTER_TOKEN.match(token):
                return response.json({"error": "not found"}, status=404, headers=_NO_STORE)
            taken = await asyncio.to_thread(take_file, self.engine, token)
            if taken is None:
                return response.json({"error": "not found"}, status=404, headers=_NO_STORE)
            return response.raw(
                taken.pdf,
                content_type="application/pdf",
                headers={
                    **_NO_STORE,
                    "Content-Disposition": f'attachment; filename="{taken.filename}"',
                    "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "no-referrer",
                },
            )

        @webchat.route("/poll", methods=["POST"])
        async def poll(request: Request) -> HTTPResponse:
            body = _json_body(request)
            if body is None:
                return response.json({"error": "expected a JSON object"}, status=400)
            sender = body.get("sender")
            if not isinstance(sender, str) or not _SENDER.match(sender):
                return response.json({"error": "sender must be 8-64 letters, digits, - or _"}, status=400)
            acks = _ids(body.get("ack", []))
            if acks is None:
                return response.json(
                    {"error": f"ack must be a list of up to {MAX_ACKS} message ids"}, status=400
                )
            wait = body.get("wait", self.poll_seconds)
            if isinstance(wait, bool) or not isinstance(wait, (int, float)):
                return response.json({"error": "wait must be a number of seconds"}, status=400)
            wait = min(max(float(wait), 0.0), self.poll_seconds)
            messages = await self._wait_for_messages(SENDER_PREFIX + sender, acks, wait)
            return response.json({"messages": messages}, headers=_NO_STORE)

        return webchat

    async def _wait_for_messages(self, sender_id: str, acks: list[str], wait: float) -> list[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        event = asyncio.Event()
        waiter = (loop, event)
        with _waiters_lock:
            _waiters.setdefault(sender_id, set()).add(waiter)
        try:
            while True:
                event.clear()
                messages = await asyncio.to_thread(pending, self.engine, sender_id, acks)
                acks = []
                remaining = deadline - loop.time()
                if messages or remaining <= 0:
                    return messages
                try:
                    await asyncio.wait_for(event.wait(), timeout=min(RECHECK_SECONDS, remaining))
                except asyncio.TimeoutError:
                    pass
        finally:
            with _waiters_lock:
                waiting = _waiters.get(sender_id)
                if waiting is not None:
                    waiting.discard(waiter)
                    if not waiting:
                        del _waiters[sender_id]

    async def _forgotten(self, request: Request, sender_id: str) -> bool:
        """True when the turn deleted the conversation: Rasa's tracker store no longer has it
        (`bot.tracker_store.PrivacyTrackerStore` deletes it when the forget action ran)."""
        agent = getattr(request.app.ctx, "agent", None)
        store = getattr(agent, "tracker_store", None)
        if store is None:
            return False
        try:
            return not await store.exists(sender_id)
        except Exception as exc:  # noqa: BLE001 - unknown is not "forgotten": keep the page as it is
            logger.warning("webchat: could not check the tracker store: %s", type(exc).__name__)
            return False


def _ids(value: Any) -> list[str] | None:
    """A list of message ids (`pending`'s keys), or None when it is not one (or too long)."""
    if not isinstance(value, list) or len(value) > MAX_ACKS:
        return None
    if not all(isinstance(item, str) and _KEY.match(item) for item in value):
        return None
    return value


def _ui(lang: str) -> dict[str, str]:
    """The page's own words in one language (catalog domain `channels`)."""
    return {
        "title": t(lang, "Information for migrant workers"),
        "conversation": t(lang, "Conversation"),
        "replying": t(lang, "Replying…"),
        "needs_js": t(lang, "This page needs JavaScript."),
        "your_question": t(lang, "Your question"),
        "placeholder": t(lang, "Type your question..."),
        "send": t(lang, "Send"),
        "retry": t(lang, "No answer yet. Check your connection and send again."),
        "call": t(lang, "Call"),
        "download": t(lang, "Download the letter (PDF, works once)"),
    }


@functools.lru_cache(maxsize=1)
def render_page() -> str:
    """The page, in Vietnamese and English (the language is not known before the first
    message), every word escaped; the script reads `data-retry` and `data-call`."""
    vi, en = _ui("vi"), _ui("en")
    both = {key: vi[key] if vi[key] == en[key] else f"{vi[key]} / {en[key]}" for key in vi}
    values = {
        **both,
        "title_vi": vi["title"],
        "title_en": en["title"],
        "send_vi": vi["send"],
        "send_en": en["send"],
    }
    return string.Template(PAGE.read_text(encoding="utf-8")).substitute(
        {key: html.escape(value) for key, value in values.items()}
    )


async def _held(sender_id: str, message: Any, text: str) -> Any:
    """The handoff's turn when a person holds this conversation (bot silent), else None."""
    from bot.db import get_engine
    from bot.handoff import hold_turn

    typed = message if isinstance(message, str) and message.strip() else text
    try:
        return await hold_turn(get_engine(), sender_id, typed[:MAX_MESSAGE_CHARS])
    except Exception as exc:  # noqa: BLE001 - the database down must not silence the bot
        logger.error("webchat: handoff check failed (%s); the bot answers", type(exc).__name__)
        return None


def _json_body(request: Request) -> dict[str, Any] | None:
    body = parse_json(request.body)
    return body if isinstance(body, dict) else None


# --- limits and the forget marker ----------------------------------------------------------------

MAX_BODY_BYTES_WEBCHAT = 64 * 1024


def _limiter() -> RateLimiter:
    settings = get_settings()  # shared by the Rasa workers (RASA_WORKERS)
    return rate_limiter_for(settings.rate_limit_per_minute, settings.tracker_store_url, sanic_workers())


def mark_forgotten(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The action's forget marker (`{"custom": {"forgotten": true}}`) becomes `"forgotten":
    true` on the reply's messages, so the page clears its local copy; no empty bubble."""
    forgotten = any((m.get("custom") or {}).get("forgotten") is True for m in messages)
    if not forgotten:
        return messages
    kept = [m for m in messages if not (m.get("custom") or {}).get("forgotten")]
    return [{**m, "forgotten": True} for m in kept] or [{"forgotten": True}]
