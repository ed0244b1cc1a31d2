"""Zalo Official Account as a Rasa custom channel: the webhook glue over `zalo_api`.

Webhook `/webhooks/zalo/webhook` (the turn itself is `bot.channels.base.WebhookInput`'s):
- verifies `X-ZEvent-Signature: mac=<hex sha256(app_id + raw body + timestamp + OA secret)>`
  over the raw bytes, in constant time, before the body is parsed; 403 on mismatch, on a
  timestamp outside ZALO_SIGNATURE_WINDOW_SECONDS (replays) and on another app's id;
- answers 200 at once (Zalo allows ~2 s) and handles the event in the background;
- `user_send_text` is answered, `follow` gets the welcome, images/stickers/files/audio/...
  get the polite "text only" reply, a location offers partners nearby, `oa_send_*` echoes
  and other events are ignored; each message is handled once (dedupe by `msg_id`);
- the unsigned empty `{}` Zalo sends when the URL is registered gets a 200.

Replies are plain text split at 2000 characters, buttons as `oa.query.show` (<= 5 per
message; the tap comes back as a text equal to the button title, mapped back to the payload),
each sent as a reply to the user's message (`recipient.message_id`), which Zalo counts in
its 8 free replies within 48 h (channels.md 3.8); the message id is also kept for 48 h
(`zalo_reply_targets`) so that staff replies can be free replies too.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import time
from typing import Any

from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy.exc import SQLAlchemyError

from bot.channels.base import ButtonTextOutput, OnNewMessage, WebhookInput, error
from bot.channels.context import ChannelContext
from bot.channels.events import InboundEvent, Kind
from bot.channels.stores import remember_reply_target
from bot.channels.zalo_api import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    ZaloAuthError,
    ZaloClient,
    ZaloConfig,
    ZaloTokenStore,
    signature,
)
from bot.settings import Settings, get_settings

logger = logging.getLogger(__name__)

__all__ = ["ZaloAuthError", "ZaloConfig", "ZaloInput", "ZaloOutput", "signature"]

CHANNEL_NAME = "zalo"
MESSAGE_LIMIT = 2000
MAX_BUTTONS = 5
UNSUPPORTED_EVENTS = {
    "user_send_image",
    "user_send_sticker",
    "user_send_file",
    "user_send_gif",
    "user_send_audio",
    "user_send_video",
    "user_send_business_card",
    "user_send_link",
}


class ZaloOutput(ButtonTextOutput):
    """Sends Rasa's replies to one Zalo user (or, for bot-initiated messages, by lookup),
    as replies to the user's message `reply_to` when given (Zalo's free replies)."""

    limit = MESSAGE_LIMIT
    buttons_per_message = MAX_BUTTONS
    _channel: ZaloInput

    def __init__(
        self,
        channel: Any,
        platform_id: str | int | None = None,
        sender_id: str | None = None,
        lang: str | None = None,
        reply_to: str | None = None,
    ) -> None:
        super().__init__(channel, platform_id, sender_id, lang)
        self._reply_to = reply_to

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    def _url_button(self, title: str, url: str) -> Any:
        return {"title": title, "type": "oa.open.url", "payload": {"url": url}}

    async def _payload_button(self, recipient_id: str, title: str, payload: str) -> Any:
        # The tap sends the title back as the user's text; remember what it stands for.
        await self._channel.context.payloads.remember_reply(recipient_id, title, payload)
        return {"title": title, "type": "oa.query.show", "payload": title}

    def _group(self, buttons: list[Any]) -> Any:
        return {"type": "template", "payload": {"buttons": buttons}}

    async def _deliver(self, platform_id: str, text: str, buttons: Any | None) -> bool:
        message: dict[str, Any] = {"text": text}
        if buttons is not None:
            message["attachment"] = buttons
        return await self._channel.client.send(platform_id, message, reply_to=self._reply_to)

    async def _deliver_document(self, platform_id: str, filename: str, data: bytes) -> bool:
        # Zalo sends a file in two calls: upload it (a token comes back), then a message
        # whose attachment names that token.
        token = await self._channel.client.upload_file(filename, data)
        if token is None:
            return False
        attachment = {"type": "file", "payload": {"token": token}}
        return await self._channel.client.send(platform_id, {"attachment": attachment})


def _coordinates(message: dict[str, Any]) -> tuple[Any, Any]:
    """latitude/longitude of a user_send_location event (attachments[].payload.coordinates)."""
    for attachment in message.get("attachments") or []:
        payload = attachment.get("payload") if isinstance(attachment, dict) else None
        coordinates = payload.get("coordinates") if isinstance(payload, dict) else None
        if isinstance(coordinates, dict):
            return coordinates.get("latitude"), coordinates.get("longitude")
    return None, None


# "timestamp": "1712345678901" or 1712345678901 in the raw body: ASCII digits, at most 16
# (milliseconds until the year 318857), so int() is cheap and never raises.
_BODY_TIMESTAMP = re.compile(rb'"timestamp"\s*:\s*"?([0-9]{1,16})"?\s*[,}]')
_DIGITS = re.compile(r"[0-9]{1,16}")


def _timestamp(body: bytes, header: str) -> str | None:
    """The event's timestamp as signed: the body's first `timestamp`, else the header's."""
    found = _BODY_TIMESTAMP.search(body)
    if found is not None:
        return found.group(1).decode("ascii")
    header = header.strip()
    return header if _DIGITS.fullmatch(header) else None


def _user_id(data: dict[str, Any], key: str) -> str | None:
    party = data.get(key)
    if isinstance(party, dict) and isinstance(party.get("id"), (str, int)) and str(party["id"]):
        return str(party["id"])
    return None


class ZaloInput(WebhookInput):
    """The Zalo OA webhook; on when ZALO_APP_ID and the two secrets are set (`bot.settings`)."""

    echoes_button_titles = True
    ack_within = 1.5  # Zalo wants its 200 within about 2 s (channels.md 3.4)

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> ZaloInput:
        """Rasa's constructor: the secrets come from `bot.settings`, never from credentials.yml."""
        return cls.from_settings(get_settings())

    @classmethod
    def from_settings(cls, settings: Settings) -> ZaloInput:
        if not settings.zalo.enabled:
            cls.raise_missing_credentials_exception()  # Rasa's own message for an unconfigured channel
        return cls(ZaloConfig.from_settings(settings.zalo), ChannelContext.from_settings(settings))

    def __init__(self, config: ZaloConfig, context: ChannelContext | None = None) -> None:
        self.config = config
        self.context = context or ChannelContext.from_settings(get_settings())
        self.client = ZaloClient(
            config,
            ZaloTokenStore(self.context.engine, config.app_id, config.seed()),
            retry_seconds=self.context.send_retry_seconds,
        )

    def get_output_channel(self) -> ZaloOutput:
        """For bot-initiated messages: delivers by looking the pseudonym up."""
        return ZaloOutput(self)

    def output(self, event: InboundEvent, sender_id: str, lang: str) -> ZaloOutput:
        return ZaloOutput(self, event.user_id, sender_id, lang, reply_to=event.message_id)

    async def turn(self, event: InboundEvent, on_new_message: OnNewMessage) -> None:
        if event.message_id:
            # For replies outside this turn (staff replies, cards from the console).
            sender_id = self.context.pseudonym(self.name(), event.user_id)
            try:
                await asyncio.to_thread(
                    remember_reply_target, self.context.engine, sender_id, event.message_id
                )
            except SQLAlchemyError as exc:
                logger.warning("zalo: reply target not kept (%s)", type(exc).__name__)
        await super().turn(event, on_new_message)

    def _authentic(self, request: Request, timestamp: str) -> bool:
        presented = request.headers.get(SIGNATURE_HEADER, "").strip()
        if presented.lower().startswith("mac="):
            presented = presented[4:]
        expected = signature(self.config.app_id, request.body or b"", timestamp, self.config.oa_secret_key)
        return hmac.compare_digest(presented.lower().encode("utf-8", "replace"), expected.encode("ascii"))

    async def verify(self, request: Request) -> HTTPResponse | None:
        # The signature is checked on the raw bytes before anything parses the body, so an
        # unsigned request costs one bounded regex and one HMAC. The signed timestamp is in
        # the body (or a header): `_timestamp` finds it without parsing the JSON.
        body = request.body or b""
        if body.strip() == b"{}":
            return response.json({"status": "ok"})  # Zalo's unsigned probe when the URL is saved
        timestamp = _timestamp(body, request.headers.get(TIMESTAMP_HEADER, ""))
        if timestamp is None:
            return error("missing timestamp")
        if not self._authentic(request, timestamp):
            logger.warning("zalo webhook: bad signature")
            return error("forbidden", 403)
        if abs(time.time() * 1000 - int(timestamp)) > self.config.signature_window_seconds * 1000:
            logger.warning("zalo webhook: timestamp outside the accepted window")
            return error("forbidden", 403)
        return None

    def _dedupe_key(self, data: dict[str, Any], user_id: str) -> str:
        message = data.get("message")
        msg_id = message.get("msg_id") if isinstance(message, dict) else None
        if isinstance(msg_id, (str, int)) and str(msg_id):
            return f"zalo:{self.config.app_id}:{msg_id}"
        timestamp = str(data.get("timestamp") or "")
        material = f"{data.get('event_name')}:{user_id}:{timestamp}".encode()
        return f"zalo:{self.config.app_id}:{hashlib.sha256(material).hexdigest()[:40]}"

    def parse(self, data: Any) -> InboundEvent | HTTPResponse | None:
        if not isinstance(data, dict):
            return error("not a Zalo event")
        if "app_id" in data and str(data["app_id"]) != self.config.app_id:
            logger.warning("zalo webhook: event for another app")
            return error("forbidden", 403)
        event_name = data.get("event_name")
        if not isinstance(event_name, str):
            return error("missing event_name")
        if event_name == "follow":
            user_id = _user_id(data, "follower")
            if user_id is None:
                return error("missing follower.id")
            return InboundEvent(Kind.FOLLOW, user_id, self._dedupe_key(data, user_id))
        if not event_name.startswith("user_send_"):
            return None  # oa_send_* echoes, receipts, unfollow, clicks, ...
        user_id = _user_id(data, "sender")
        if user_id is None:
            return error("missing sender.id")
        raw_message = data.get("message")
        message: dict[str, Any] = raw_message if isinstance(raw_message, dict) else {}
        key = self._dedupe_key(data, user_id)
        msg_id = message.get("msg_id")
        reply_to = str(msg_id) if isinstance(msg_id, (str, int)) and str(msg_id) else None
        if event_name == "user_send_text":
            text = message.get("text")
            if not isinstance(text, str):
                return error("missing message.text")
            return InboundEvent(Kind.TEXT, user_id, key, text, message_id=reply_to)
        if event_name == "user_send_location":
            latitude, longitude = _coordinates(message)
            return InboundEvent(
                Kind.LOCATION, user_id, key, latitude=latitude, longitude=longitude, message_id=reply_to
            )
        if event_name in UNSUPPORTED_EVENTS:
            return InboundEvent(Kind.UNSUPPORTED, user_id, key, message_id=reply_to)
        return None
