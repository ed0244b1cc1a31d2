"""The local web chat: a page served by the assistant itself, no CDN, for a browser.

`GET /webhooks/webchat/` serves the page; the page posts to
`POST /webhooks/webchat/webhook` with `{"sender", "message"}` for typed text (slash
commands such as /forget as on Telegram) or `{"sender", "payload"}` for a button tap, and
gets back the bot's messages as JSON, buttons included, each with its text rendered to
HTML by the server (`bot.markup.to_web_html`: one bold rule for every channel). Meant for trying the bot and for NGO staff on
the same machine or network; migrants reach the bot through Telegram and Zalo.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.commands import COMMAND_PAYLOADS, text_to_rasa
from bot.markup import to_web_html

logger = logging.getLogger(__name__)

PAGE = Path(__file__).parent / "static" / "webchat.html"
_SENDER = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MAX_MESSAGE_CHARS = 2000
FORGET_PAYLOAD = COMMAND_PAYLOADS["forget"]


class WebChatOutput(CollectingOutputChannel):
    """Collects replies whole, each with its card Markdown rendered to safe HTML (`html`):
    bold, clickable links and `tel:` links for phone numbers."""

    @classmethod
    def name(cls) -> str:
        return "webchat"

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._persist_message(self._message(recipient_id, text=text))

    async def _persist_message(self, message: dict[str, Any]) -> None:
        if message.get("text"):
            message["html"] = to_web_html(message["text"])
        await super()._persist_message(message)


class WebChatInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "webchat"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webchat = Blueprint("webchat", __name__)

        @webchat.route("/", methods=["GET"])
        async def page(request: Request) -> HTTPResponse:
            return response.html(PAGE.read_text(encoding="utf-8"))

        @webchat.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
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
                text = text_to_rasa(message[:MAX_MESSAGE_CHARS])
            else:
                return response.json({"error": "message must be non-empty text"}, status=400)
            sender_id = f"web-{sender}"
            collector = WebChatOutput()
            held = None if text == FORGET_PAYLOAD else await _held(sender_id, message, text)
            if held is not None:
                for reply in held.replies:
                    await collector.send_text_with_buttons(
                        sender_id, reply["text"], reply.get("buttons") or []
                    )
                return response.json(_take_outbox(sender_id) + collector.messages)
            await on_new_message(
                UserMessage(
                    text,
                    collector,
                    sender_id,
                    input_channel=self.name(),
                    metadata={"channel": self.name()},
                )
            )
            return response.json(_take_outbox(sender_id) + collector.messages)

        return webchat


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


# Messages for a web-chat user outside their own turn (staff replies, end of a handoff).
# MINIMAL stand-in for branch webchat's outbox: kept in this process and handed over with
# the page's next response. Branch webchat replaces it with a live connection.
_OUTBOX: dict[str, list[dict[str, Any]]] = {}


async def queue_message(engine: Any, sender_id: str, text: str, buttons: list[dict] | None = None) -> None:
    """Queue a message for the web-chat user `sender_id` (see _OUTBOX)."""
    message: dict[str, Any] = {"recipient_id": sender_id, "text": text, "html": to_web_html(text)}
    if buttons:
        message["buttons"] = buttons
    _OUTBOX.setdefault(sender_id, []).append(message)


def _take_outbox(sender_id: str) -> list[dict[str, Any]]:
    return _OUTBOX.pop(sender_id, [])


def _json_body(request: Request) -> dict[str, Any] | None:
    try:
        body = request.json
    except Exception:  # sanic raises on malformed JSON: that is a client error
        return None
    return body if isinstance(body, dict) else None
