"""The local web chat: a page served by the assistant itself, no CDN, for a browser.

`GET /webhooks/webchat/` serves the page; the page posts to
`POST /webhooks/webchat/webhook` with `{"sender", "message"}` for typed text (slash
commands such as /forget as on Telegram) or `{"sender", "payload"}` for a button tap, and
gets back the bot's messages as JSON, buttons included, each with its text rendered to
HTML by the server (`bot.markup.to_web_html`: one bold rule for every channel). Meant for trying the bot and for NGO staff on
the same machine or network; migrants reach the bot through Telegram and Zalo.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.base import parse_json, t
from bot.channels.commands import text_to_rasa
from bot.channels.limits import RateLimiter, body_too_large, refusal
from bot.markup import to_web_html
from bot.metrics import MESSAGES, timed_turn
from bot.settings import get_settings

PAGE = Path(__file__).parent / "static" / "webchat.html"
_SENDER = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


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
            return page_response(PAGE.read_text(encoding="utf-8"))

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
            refused = self.refusal(f"web-{sender}", text)
            if refused is not None:
                return response.json(refused)
            collector = WebChatOutput()
            MESSAGES.labels(channel=self.name()).inc()
            async with timed_turn(self.name()):
                await on_new_message(
                    UserMessage(
                        text,
                        collector,
                        f"web-{sender}",
                        input_channel=self.name(),
                        metadata={"channel": self.name()},
                    )
                )
            return response.json(mark_forgotten(collector.messages))

        return webchat


def _json_body(request: Request) -> dict[str, Any] | None:
    body = parse_json(request.body)
    return body if isinstance(body, dict) else None


# --- limits, the forget marker and the page's headers (branch hardening) ----------------------

MAX_BODY_BYTES_WEBCHAT = 64 * 1024
# Scripts run only from this server or with the nonce of this response (so an injected
# `<script>` or `onfocus=` attribute does not run); nothing may frame the page.
CSP = (
    "default-src 'none'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def page_response(page: str) -> HTTPResponse:
    """The page with a fresh nonce on its inline scripts and the security headers."""
    nonce = secrets.token_urlsafe(16)
    page = page.replace("<script>", f'<script nonce="{nonce}">')
    return response.html(page, headers={"Content-Security-Policy": CSP.format(nonce=nonce), **PAGE_HEADERS})


def _limiter() -> RateLimiter:
    return RateLimiter(get_settings().rate_limit_per_minute)


def mark_forgotten(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The action's forget marker (`{"custom": {"forgotten": true}}`) becomes `"forgotten":
    true` on the reply's messages, so the page clears its local copy; no empty bubble."""
    forgotten = any((m.get("custom") or {}).get("forgotten") is True for m in messages)
    if not forgotten:
        return messages
    kept = [m for m in messages if not (m.get("custom") or {}).get("forgotten")]
    return [{**m, "forgotten": True} for m in kept] or [{"forgotten": True}]
