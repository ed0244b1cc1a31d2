"""Zalo Official Account as a Rasa custom channel (webhook in, OA OpenAPI v3 out).

Webhook `/webhooks/zalo/webhook`:
- verifies `X-ZEvent-Signature: mac=<hex sha256(app_id + raw body + timestamp + OA secret)>`
  over the raw bytes, in constant time; 403 on mismatch, on another app's id and on a
  timestamp outside ZALO_SIGNATURE_WINDOW_SECONDS (replays);
- answers 200 at once (Zalo allows ~2 s) and handles the event in the background;
- `user_send_text` is answered, `follow` gets the welcome, images/stickers/files/audio/...
  get the polite "text only" reply, a location offers partners nearby, `oa_send_*` echoes
  and other events are ignored; each message is handled once (dedupe by `msg_id`);
- the unsigned empty `{}` Zalo sends when the URL is registered gets a 200.

Sending: POST {ZALO_API_BASE_URL}/v3.0/oa/message/cs with the `access_token` header, plain
text split at 2000 characters, buttons as `oa.query.show` (<= 5 per message; the tap comes
back as a text equal to the button title, mapped back to the payload).

Tokens: the access token lasts ~25 h and the refresh token is single-use, so the current
pair lives in the database (`zalo_oauth_tokens`, seeded once from ZALO_ACCESS_TOKEN /
ZALO_REFRESH_TOKEN). A refresh stores the new pair atomically (compare-and-swap on the old
refresh token) before the new access token is used; on -216 the client refreshes once and
retries. -230 / -213 and other refusals are logged by code (never a token) and counted in
`ZaloClient.problems`.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import hashlib
import hmac
import json
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
import sqlalchemy as sa
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.channels.common import (
    CHOOSE_OPTION,
    ERROR_REPLY,
    MORE_OPTIONS,
    TEXT_ONLY,
    ButtonTextOutput,
    ChannelContext,
    language_from_locale,
    location_payload,
    rasa_metadata,
    split_message,
    t,
    text_to_rasa,
    to_plain,
)
from bot.channels.dedupe import DedupeUnavailable
from bot.db import ensure_schema
from bot.db import zalo_tokens as _tokens
from bot.settings import Settings, ZaloSettings, get_settings

logger = logging.getLogger(__name__)
for _noisy in ("httpx", "httpcore"):
    logging.getLogger(_noisy).setLevel(logging.WARNING)

CHANNEL_NAME = "zalo"
_DEFAULTS = ZaloSettings()
MESSAGE_LIMIT = 2000
MAX_BUTTONS = 5
SIGNATURE_HEADER = "X-ZEvent-Signature"
TIMESTAMP_HEADER = "X-ZEvent-Timestamp"

# Expired/invalid access token. -201 is "invalid parameter" in general and only counts
# when Zalo's message says it is about the token.
TOKEN_ERRORS = {-216, -220}
# The user cannot be messaged: not following (-213), no interaction in 7 days (-230), ...
RECIPIENT_ERRORS = {-213, -227, -230, -232, -244}
RATE_LIMITED = -32
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


class ZaloAuthError(RuntimeError):
    """The OA access token could not be refreshed (the tokens need re-authorising)."""


# --- token storage -------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_at: _dt.datetime | None = None

    def __repr__(self) -> str:  # tokens must never end up in a log line or traceback
        return f"TokenPair(expires_at={self.expires_at!r})"


class ZaloTokenStore:
    """The OA's current token pair, shared by all replicas through the database."""

    def __init__(self, engine: Engine, app_id: str, seed: TokenPair | None = None) -> None:
        self._engine = engine
        self._app_id = app_id
        self._seed = seed
        ensure_schema(engine)

    def current(self) -> TokenPair:
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(_tokens).where(_tokens.c.app_id == self._app_id)).first()
        if row is not None:
            return TokenPair(row.access_token, row.refresh_token, row.expires_at)
        if self._seed is None or not (self._seed.access_token or self._seed.refresh_token):
            raise ZaloAuthError("no Zalo tokens: set ZALO_ACCESS_TOKEN and ZALO_REFRESH_TOKEN")
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    sa.insert(_tokens).values(
                        app_id=self._app_id,
                        access_token=self._seed.access_token,
                        refresh_token=self._seed.refresh_token,
                        expires_at=self._seed.expires_at,
                        updated_at=_dt.datetime.utcnow(),
                    )
                )
        except IntegrityError:
            pass  # another replica seeded first
        return self.current()

    def replace(self, old_refresh_token: str, new: TokenPair) -> bool:
        """Store `new` only if the stored refresh token is still `old_refresh_token`."""
        with self._engine.begin() as conn:
            changed = conn.execute(
                sa.update(_tokens)
                .where(_tokens.c.app_id == self._app_id, _tokens.c.refresh_token == old_refresh_token)
                .values(
                    access_token=new.access_token,
                    refresh_token=new.refresh_token,
                    expires_at=new.expires_at,
                    updated_at=_dt.datetime.utcnow(),
                )
            ).rowcount
        return changed == 1


# --- API client ------------------------------------------------------------------------------


@dataclass
class ZaloConfig:
    app_id: str
    oa_secret_key: str
    app_secret: str
    access_token: str = ""
    refresh_token: str = ""
    api_base_url: str = _DEFAULTS.api_base_url
    oauth_base_url: str = _DEFAULTS.oauth_base_url
    signature_window_seconds: int = _DEFAULTS.signature_window_seconds

    def __repr__(self) -> str:
        return f"ZaloConfig(app_id=..., api_base_url={self.api_base_url!r})"

    @classmethod
    def from_settings(cls, zalo: ZaloSettings) -> ZaloConfig:
        def secret(value: Any) -> str:
            return value.get_secret_value() if value is not None else ""

        return cls(
            app_id=str(zalo.app_id or ""),
            oa_secret_key=secret(zalo.oa_secret_key),
            app_secret=secret(zalo.app_secret),
            access_token=secret(zalo.access_token),
            refresh_token=secret(zalo.refresh_token),
            api_base_url=zalo.api_base_url,
            oauth_base_url=zalo.oauth_base_url,
            signature_window_seconds=zalo.signature_window_seconds,
        )


class ZaloClient:
    """Sends OA consultation messages and keeps the access token fresh."""

    def __init__(self, config: ZaloConfig, tokens: ZaloTokenStore, timeout: float = 10.0) -> None:
        self._config = config
        self._tokens = tokens
        self._timeout = timeout
        self._refresh_lock: asyncio.Lock | None = None
        self._http: httpx.AsyncClient | None = None
        self.problems: Counter[str] = Counter()  # error code -> times seen, for monitoring/tests

    def _client(self) -> httpx.AsyncClient:
        if self._http is None or self._http.is_closed:
            self._http = httpx.AsyncClient(timeout=self._timeout)
        return self._http

    async def _access_token(self) -> str:
        pair = await asyncio.to_thread(self._tokens.current)
        if pair.expires_at and pair.expires_at - _dt.timedelta(minutes=5) < _dt.datetime.utcnow():
            return await self.refresh(pair.access_token)
        return pair.access_token

    async def refresh(self, failed_access_token: str) -> str:
        """A fresh access token; refreshes unless someone already replaced `failed_access_token`."""
        if self._refresh_lock is None:
            self._refresh_lock = asyncio.Lock()
        async with self._refresh_lock:
            pair = await asyncio.to_thread(self._tokens.current)
            if pair.access_token != failed_access_token:
                return pair.access_token
            try:
                reply = await self._client().post(
                    f"{self._config.oauth_base_url.rstrip('/')}/v4/oa/access_token",
                    headers={"secret_key": self._config.app_secret},
                    data={
                        "refresh_token": pair.refresh_token,
                        "app_id": self._config.app_id,
                        "grant_type": "refresh_token",
                    },
                )
                body = reply.json()
            except (httpx.HTTPError, ValueError) as exc:
                self.problems["refresh_failed"] += 1
                logger.error("zalo token refresh failed: %s", type(exc).__name__)
                raise ZaloAuthError("token refresh failed") from exc
            if not isinstance(body, dict) or not body.get("access_token") or not body.get("refresh_token"):
                # Maybe another replica spent the single-use refresh token a moment ago.
                latest = await asyncio.to_thread(self._tokens.current)
                if latest.refresh_token != pair.refresh_token:
                    return latest.access_token
                self.problems["refresh_failed"] += 1
                code = body.get("error") if isinstance(body, dict) else None
                logger.error("zalo token refresh refused (error %s); re-authorise the OA", code)
                raise ZaloAuthError("token refresh refused")
            try:
                lifetime = int(body.get("expires_in") or 0)
            except (TypeError, ValueError):
                lifetime = 0
            new = TokenPair(
                str(body["access_token"]),
                str(body["refresh_token"]),
                _dt.datetime.utcnow() + _dt.timedelta(seconds=lifetime) if lifetime > 0 else None,
            )
            # Persist before use: the old refresh token is now spent, losing the new pair
            # would lock the OA out until someone re-authorises it by hand.
            stored = await asyncio.to_thread(self._tokens.replace, pair.refresh_token, new)
            if not stored:
                latest = await asyncio.to_thread(self._tokens.current)
                return latest.access_token
            self.problems["refreshed"] += 1
            logger.info("zalo access token refreshed")
            return new.access_token

    async def send(self, user_id: str, message: dict[str, Any]) -> bool:
        """Send one consultation message; True when Zalo accepted it."""
        url = f"{self._config.api_base_url.rstrip('/')}/v3.0/oa/message/cs"
        body = {"recipient": {"user_id": user_id}, "message": message}
        try:
            token = await self._access_token()
        except ZaloAuthError:
            return False
        refreshed = False
        rate_retries = 0
        while True:
            try:
                reply = await self._client().post(url, json=body, headers={"access_token": token})
                result = reply.json()
            except (httpx.HTTPError, ValueError) as exc:
                self.problems["http"] += 1
                logger.warning("zalo send failed: %s", type(exc).__name__)
                return False
            code = _error_code(result)
            if code == 0:
                return True
            if _is_token_error(code, result) and not refreshed:
                refreshed = True
                try:
                    token = await self.refresh(token)
                except ZaloAuthError:
                    return False
                continue
            if code == RATE_LIMITED and rate_retries < 2:
                rate_retries += 1
                await asyncio.sleep(1.0 * rate_retries)
                continue
            self.problems[str(code)] += 1
            reason = result.get("message") if isinstance(result, dict) else None
            if code in RECIPIENT_ERRORS:
                logger.warning("zalo refused delivery: error %s (%s)", code, _safe_reason(reason))
            else:
                logger.error("zalo send failed: error %s (%s)", code, _safe_reason(reason))
            return False

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()


def _error_code(result: Any) -> int:
    if not isinstance(result, dict):
        return -1
    try:
        return int(result.get("error", -1))
    except (TypeError, ValueError):
        return -1


def _is_token_error(code: int, result: dict[str, Any]) -> bool:
    if code in TOKEN_ERRORS:
        return True
    return code == -201 and "token" in str(result.get("message", "")).lower()


def _safe_reason(reason: Any) -> str:
    """Zalo's error text, trimmed; it names the problem, not the user or the token."""
    text = str(reason or "")[:80]
    return text if text.isascii() else "non-ASCII message"


# --- output ---------------------------------------------------------------------------------


class ZaloOutput(ButtonTextOutput):
    """Sends Rasa's replies to one Zalo user (or, for bot-initiated messages, by lookup)."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    async def _user(self, recipient_id: str) -> str | None:
        platform_id = await self._platform_recipient(recipient_id)
        return str(platform_id) if platform_id is not None else None

    async def _button_specs(
        self, recipient_id: str, buttons: Iterable[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        specs = []
        for button in buttons:
            title = to_plain(str(button.get("title") or "")).strip()
            if not title:
                continue
            url = button.get("url")
            if isinstance(url, str) and url.startswith("https://"):
                specs.append({"title": title, "type": "oa.open.url", "payload": {"url": url}})
                continue
            payload = str(button.get("payload") or title)
            # The tap sends the title back as the user's text; remember what it stands for.
            await self._channel.context.payloads.remember_reply(recipient_id, title, payload)
            specs.append({"title": title, "type": "oa.query.show", "payload": title})
        return specs

    async def _send(self, recipient_id: str, text: str, buttons: Iterable[dict[str, Any]] | None) -> None:
        user_id = await self._user(recipient_id)
        if user_id is None:
            logger.warning("zalo: no user for this sender (forgotten or unknown); reply dropped")
            return
        chunks = split_message(text or "", MESSAGE_LIMIT, to_plain)
        specs = await self._button_specs(recipient_id, buttons) if buttons else []
        if specs and not chunks:
            chunks = [t(self._lang, CHOOSE_OPTION)]
        client = self._channel.client
        for index, chunk in enumerate(chunks):
            message: dict[str, Any] = {"text": chunk}
            if index == len(chunks) - 1 and specs:
                message["attachment"] = _buttons_attachment(specs[:MAX_BUTTONS])
            if not await client.send(user_id, message):
                return
        for start in range(MAX_BUTTONS, len(specs), MAX_BUTTONS):
            more = {
                "text": t(self._lang, MORE_OPTIONS),
                "attachment": _buttons_attachment(specs[start : start + MAX_BUTTONS]),
            }
            if not await client.send(user_id, more):
                return


def _buttons_attachment(specs: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "template", "payload": {"buttons": specs}}


# --- input ----------------------------------------------------------------------------------


def signature(app_id: str, raw_body: bytes, timestamp: str, oa_secret_key: str) -> str:
    """Zalo's event MAC: hex SHA-256 of app id + raw body + timestamp + OA secret key."""
    material = app_id.encode("utf-8") + raw_body + timestamp.encode("utf-8") + oa_secret_key.encode("utf-8")
    return hashlib.sha256(material).hexdigest()


@dataclass
class ZaloEvent:
    """The part of a webhook event the bot acts on."""

    kind: str  # "text" | "follow" | "location" | "unsupported"
    user_id: str
    text: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _coordinates(data: dict[str, Any]) -> dict[str, Any]:
    """latitude/longitude of a user_send_location event (attachments[].payload.coordinates)."""
    message = data.get("message") if isinstance(data.get("message"), dict) else {}
    for attachment in message.get("attachments") or []:
        payload = attachment.get("payload") if isinstance(attachment, dict) else None
        coordinates = payload.get("coordinates") if isinstance(payload, dict) else None
        if isinstance(coordinates, dict):
            return {"latitude": coordinates.get("latitude"), "longitude": coordinates.get("longitude")}
    return {}


def _user_id(data: dict[str, Any], key: str) -> str | None:
    party = data.get(key)
    if isinstance(party, dict) and isinstance(party.get("id"), (str, int)) and str(party["id"]):
        return str(party["id"])
    return None


class ZaloInput(InputChannel):
    """The Zalo OA webhook; configured by `bot.channels.credentials.build_credentials`."""

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
        seed = TokenPair(config.access_token, config.refresh_token)
        self.client = ZaloClient(config, ZaloTokenStore(self.context.engine, config.app_id, seed))

    def get_output_channel(self) -> OutputChannel | None:
        """For bot-initiated messages: delivers by looking the pseudonym up."""
        return ZaloOutput(self)

    def _verify(self, request: Request, raw: bytes, timestamp: str) -> bool:
        presented = request.headers.get(SIGNATURE_HEADER, "").strip()
        if presented.lower().startswith("mac="):
            presented = presented[4:]
        expected = signature(self.config.app_id, raw, timestamp, self.config.oa_secret_key)
        return hmac.compare_digest(presented.lower().encode("utf-8", "replace"), expected.encode("ascii"))

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("zalo_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            raw = request.body or b""
            try:
                data = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                return response.json({"error": "body is not JSON"}, status=400)
            if not isinstance(data, dict):
                return response.json({"error": "not a Zalo event"}, status=400)
            if not data:
                return response.json({"status": "ok"})  # Zalo's unsigned probe when the URL is saved
            timestamp = str(data.get("timestamp") or request.headers.get(TIMESTAMP_HEADER, "")).strip()
            if not timestamp.isdigit():
                return response.json({"error": "missing timestamp"}, status=400)
            if not self._verify(request, raw, timestamp):
                logger.warning("zalo webhook: bad signature")
                return response.json({"error": "forbidden"}, status=403)
            if "app_id" in data and str(data["app_id"]) != self.config.app_id:
                logger.warning("zalo webhook: event for another app")
                return response.json({"error": "forbidden"}, status=403)
            age_ms = abs(time.time() * 1000 - int(timestamp))
            if age_ms > self.config.signature_window_seconds * 1000:
                logger.warning("zalo webhook: timestamp outside the accepted window")
                return response.json({"error": "forbidden"}, status=403)
            event_name = data.get("event_name")
            if not isinstance(event_name, str):
                return response.json({"error": "missing event_name"}, status=400)
            event = self._event(event_name, data)
            if event is None:
                return response.json({"status": "ignored"})
            if isinstance(event, str):
                return response.json({"error": event}, status=400)
            message = data.get("message") if isinstance(data.get("message"), dict) else {}
            msg_id = message.get("msg_id")
            if isinstance(msg_id, (str, int)) and str(msg_id):
                key = f"zalo:{self.config.app_id}:{msg_id}"
            else:
                material = f"{event_name}:{event.user_id}:{timestamp}".encode()
                key = f"zalo:{self.config.app_id}:{hashlib.sha256(material).hexdigest()[:40]}"
            try:
                first = await self.context.dedupe.claim(key)
            except DedupeUnavailable:
                return response.json({"error": "try again"}, status=503)
            if not first:
                return response.json({"status": "duplicate"})
            self.context.tasks.spawn(self._handle(event, on_new_message), "zalo turn")
            return response.json({"status": "ok"})

        return webhook

    @staticmethod
    def _event(event_name: str, data: dict[str, Any]) -> ZaloEvent | str | None:
        """The event to act on, None to ignore it, or a string saying which field is missing."""
        if event_name == "follow":
            user_id = _user_id(data, "follower")
            return ZaloEvent("follow", user_id) if user_id else "missing follower.id"
        if not event_name.startswith("user_send_"):
            return None  # oa_send_* echoes, receipts, unfollow, clicks, ...
        user_id = _user_id(data, "sender")
        if user_id is None:
            return "missing sender.id"
        if event_name == "user_send_text":
            message = data.get("message")
            text = message.get("text") if isinstance(message, dict) else None
            if not isinstance(text, str):
                return "missing message.text"
            return ZaloEvent("text", user_id, text)
        if event_name == "user_send_location":
            return ZaloEvent("location", user_id, extra=_coordinates(data))
        if event_name in UNSUPPORTED_EVENTS:
            return ZaloEvent("unsupported", user_id)
        return None

    async def _handle(
        self, event: ZaloEvent, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> None:
        sender_id = self.context.pseudonym(CHANNEL_NAME, event.user_id)
        # Zalo events carry no locale; Vietnamese is the default until the dialogue knows better.
        locale = None
        lang = language_from_locale(locale)
        output = ZaloOutput(self, event.user_id, sender_id, lang)
        async with self.context.sequencer.hold(sender_id):
            await self.context.remember(sender_id, CHANNEL_NAME, event.user_id)
            extra: dict[str, Any] = {}
            if event.kind == "unsupported":
                await output.send_text_message(sender_id, t(lang, TEXT_ONLY))
                return
            if event.kind == "follow":
                text = "/greet"
            elif event.kind == "location":
                text = location_payload(event.extra.get("latitude"), event.extra.get("longitude"))
                extra = {"shared_location": True}
            else:
                text = await self.context.payloads.reply_payload(sender_id, event.text) or text_to_rasa(
                    event.text
                )
                if not text:
                    return
            message = UserMessage(
                text,
                output,
                sender_id,
                input_channel=CHANNEL_NAME,
                metadata=rasa_metadata(CHANNEL_NAME, locale, **extra),
            )
            try:
                await on_new_message(message)
            except Exception as exc:  # noqa: BLE001 - the user must hear back even when Rasa fails
                logger.error("zalo turn failed: %s", type(exc).__name__)
                await output.send_text_message(sender_id, t(lang, ERROR_REPLY))
