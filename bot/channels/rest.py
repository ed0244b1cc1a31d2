"""The REST webhook (`POST /webhooks/rest/webhook`), replacing Rasa's own `rest` channel.

Rasa's channel trusts the client: any `sender` (so a caller could name a Telegram user's
pseudonym and read, change or delete that conversation), a shared `default` conversation
when the sender is missing, any `input_channel` and `metadata`, any intent payload, bodies
up to Sanic's 100 MB, and on an error or a timeout it logs the whole message text. This
one, under the same URL and reply format (a JSON list of `{recipient_id, text, buttons}`):
- needs `Authorization: Bearer <REST_TOKEN>` when REST_TOKEN is set (`bot run` refuses to
  serve REST on a non-loopback HOST without it);
- refuses a body over `MAX_BODY_BYTES_REST` (413), a body that is not a JSON object, a
  missing or malformed `sender` and a missing or non-text `message` (400);
- puts every sender in its own namespace (`rest-<sender>`), which no Telegram, Zalo or web
  chat pseudonym can equal;
- reads typed text as the other channels do (`text_to_rasa`: known slash commands only),
  caps its length and rate (`bot.channels.limits`) with a polite reply;
- logs only the error type of a failed turn, and answers with `bot.degraded`'s reply (the
  urgent card for danger, else "temporarily unavailable" with the urgent numbers).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.base import parse_json, t
from bot.channels.commands import text_to_rasa
from bot.channels.limits import body_too_large, refusal
from bot.degraded import degraded_reply
from bot.language import choose_language
from bot.metrics import DEGRADED_REPLIES, MESSAGES, timed_turn
from bot.settings import Settings, get_settings, sanic_workers
from bot.worker_state import rate_limiter_for

logger = logging.getLogger(__name__)

SENDER_PREFIX = "rest-"
_SENDER = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_BODY_BYTES_REST = 64 * 1024  # a message of MAX_MESSAGE_CHARS, JSON-escaped, fits


def rest_sender(sender: str) -> str:
    """Rasa's sender id for a REST client's `sender`: in a namespace of its own."""
    return SENDER_PREFIX + sender


class RestInput(InputChannel):
    """The REST webhook; see the module docstring."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> RestInput:
        return cls(get_settings())

    def __init__(self, settings: Settings | None = None) -> None:
        settings = settings or get_settings()
        self._token = settings.rest_secret.encode("utf-8")
        self._max_chars = settings.max_message_chars
        # Shared by the Rasa workers (RASA_WORKERS), as one process counted alone.
        self._limiter = rate_limiter_for(
            settings.rate_limit_per_minute, settings.tracker_store_url, sanic_workers()
        )

    def _authorized(self, request: Request) -> bool:
        if not self._token:
            return True
        presented = request.headers.get("authorization", "")
        scheme, _, value = presented.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            value.strip().encode("utf-8", "replace"), self._token
        )

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        rest = Blueprint("rest_webhook", __name__)

        @rest.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @rest.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            return await self.receive(request, on_new_message)

        return rest

    async def receive(
        self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> HTTPResponse:
        if body_too_large(request, MAX_BODY_BYTES_REST):
            return response.json({"error": "request body too large"}, status=413)
        if not self._authorized(request):
            return response.json(
                {"error": "unauthorized"}, status=401, headers={"WWW-Authenticate": "Bearer"}
            )
        body = parse_json(request.body)
        if not isinstance(body, dict):
            return response.json({"error": "expected a JSON object"}, status=400)
        sender, message = body.get("sender"), body.get("message")
        if not isinstance(sender, str) or not _SENDER.fullmatch(sender):
            return response.json({"error": "sender must be 1-64 letters, digits, - or _"}, status=400)
        if not isinstance(message, str) or not message.strip():
            return response.json({"error": "message must be non-empty text"}, status=400)
        sender_id = rest_sender(sender)
        refused = refusal(self._limiter, sender_id, message, self._max_chars)
        if refused is not None:
            return response.json([{"recipient_id": sender_id, "text": t(None, refused)}])
        collector = CollectingOutputChannel()
        MESSAGES.labels(channel="rest").inc()
        try:
            async with timed_turn("rest"):
                await on_new_message(
                    UserMessage(
                        text_to_rasa(message),
                        collector,
                        sender_id,
                        input_channel=self.name(),
                        metadata={"channel": self.name()},
                    )
                )
        except (Exception, asyncio.CancelledError) as exc:  # noqa: BLE001 - incl. a timed-out turn; never log the text
            logger.error("rest turn failed: %s", type(exc).__name__)
            # Never silence (bot.degraded): the urgent card for danger, else "temporarily
            # unavailable" with the urgent numbers.
            reply = degraded_reply(message, choose_language(None, None, message))
            DEGRADED_REPLIES.labels(
                channel="rest", kind="urgent" if reply.get("urgent") else "unavailable"
            ).inc()
            return response.json([{"recipient_id": sender_id, "text": reply["text"]}])
        return response.json(collector.messages)
