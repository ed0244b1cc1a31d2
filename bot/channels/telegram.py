"""Telegram as a Rasa custom channel, on python-telegram-bot v22 (replaces Rasa's built-in one).

Webhook `/webhooks/telegram/webhook`:
- 403 unless `X-Telegram-Bot-Api-Secret-Token` equals TELEGRAM_SECRET_TOKEN (constant time);
- 400 for a body that is not a Telegram Update (parsed with `Update.de_json`);
- a redelivered `update_id` is acknowledged and dropped (`dedupe.py`, >= 24 h);
- otherwise 200 at once; the turn runs in the background, one at a time per chat, so a
  slow turn never makes Telegram redeliver and replies to one chat stay in order.

Private chats only: text, commands (/start /help /menu /language /privacy /forget), button
taps (always answered with answerCallbackQuery first), a shared location (offers partners
nearby), anything else gets the polite "text only" reply. Group chats are ignored.

Replies are HTML (escaped, built from the card Markdown), split at 4096 UTF-16 units on
paragraph boundaries, with inline keyboards whose callback_data is the Rasa payload or,
above 64 bytes, a short id. A 429 is waited out (`retry_after`) and retried. The Bot is
built once and never calls getMe. The chat id is replaced by a pseudonym before Rasa.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import hmac
import html
import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.channels.common import (
    CHOOSE_OPTION,
    ERROR_REPLY,
    EXPIRED_BUTTON,
    TEXT_ONLY,
    ButtonTextOutput,
    ChannelContext,
    Typing,
    language_from_locale,
    location_payload,
    rasa_metadata,
    split_message,
    t,
    text_to_rasa,
    to_html,
    to_plain,
    utf16_length,
)
from bot.channels.dedupe import DedupeUnavailable
from bot.settings import (
    Settings,
    TelegramSettings,
    get_settings,
    library_defaults,
    valid_telegram_secret_token,
)

logger = logging.getLogger(__name__)

# httpx logs every request URL at INFO, and Telegram URLs contain the bot token; PTB logs
# request parameters (chat ids, message text) at DEBUG. Neither may reach our logs.
for _noisy in ("httpx", "httpcore", "telegram"):
    logging.getLogger(_noisy).setLevel(logging.WARNING)
# Opt in to PTB's future duration type (datetime.timedelta, handled by `_seconds`) instead
# of a deprecation warning on every flood-control reply.
library_defaults()

CHANNEL_NAME = "telegram"
DEFAULT_API_BASE_URL = TelegramSettings().api_base_url
MESSAGE_LIMIT = 4096
CALLBACK_DATA_BYTES = 64
ALLOWED_UPDATES = ["message", "callback_query"]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_UNSUPPORTED_MEDIA = (
    "photo",
    "sticker",
    "voice",
    "document",
    "video",
    "video_note",
    "audio",
    "animation",
    "contact",
    "poll",
    "dice",
    "game",
    "story",
)


def _secret_value(secret: Any) -> str:
    return secret.get_secret_value() if secret is not None else ""


def make_bot(token: str, api_base_url: str | None = None) -> Bot:
    """A Bot for `token`; `api_base_url` in PTB's form (the token is appended)."""
    return Bot(token, base_url=api_base_url or DEFAULT_API_BASE_URL)


def _seconds(retry_after: int | _dt.timedelta) -> float:
    return retry_after.total_seconds() if isinstance(retry_after, _dt.timedelta) else float(retry_after)


class TelegramSender:
    """Bot API calls with flood-control retries; failures are logged by type, never raised."""

    def __init__(self, bot: Bot, max_retries: int = 3) -> None:
        self.bot = bot
        self._max_retries = max_retries

    async def _call(self, factory: Callable[[], Awaitable[Any]]) -> Any:
        for attempt in range(self._max_retries + 1):
            try:
                return await factory()
            except RetryAfter as exc:
                if attempt == self._max_retries:
                    raise
                wait = _seconds(exc.retry_after)
                logger.warning("telegram flood control: retrying in %.0f s", wait)
                await asyncio.sleep(wait)
        return None

    async def send_text(
        self, chat_id: int, html_text: str, keyboard: InlineKeyboardMarkup | None = None
    ) -> bool:
        """Send one HTML message; falls back to plain text if Telegram rejects the markup."""
        kwargs: dict[str, Any] = {
            "reply_markup": keyboard,
            "link_preview_options": LinkPreviewOptions(is_disabled=True),
        }
        try:
            await self._call(
                lambda: self.bot.send_message(chat_id, html_text, parse_mode=ParseMode.HTML, **kwargs)
            )
            return True
        except BadRequest as exc:
            if "pars" not in str(exc).lower():
                logger.warning("telegram sendMessage rejected: BadRequest")
                return False
            logger.warning("telegram rejected our HTML; resending as plain text")
            plain = html.unescape(re.sub(r"</?b>", "", html_text))
            try:
                await self._call(lambda: self.bot.send_message(chat_id, plain, **kwargs))
                return True
            except TelegramError as retry_exc:
                logger.warning("telegram sendMessage failed: %s", type(retry_exc).__name__)
                return False
        except Forbidden:
            logger.info("telegram: the user has blocked the bot; reply dropped")
            return False
        except TelegramError as exc:
            logger.warning("telegram sendMessage failed: %s", type(exc).__name__)
            return False

    async def typing(self, chat_id: int) -> None:
        await self.bot.send_chat_action(chat_id, "typing")

    async def answer_callback(self, query_id: str) -> None:
        try:
            await self._call(lambda: self.bot.answer_callback_query(query_id))
        except TelegramError as exc:
            # Usually "query is too old": nothing to do, the spinner stops by itself.
            logger.info("telegram answerCallbackQuery failed: %s", type(exc).__name__)


@dataclass
class Inbound:
    """The part of an update the bot acts on."""

    chat_id: int
    kind: str  # "text" | "button" | "location" | "unsupported"
    locale: str | None = None
    text: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def classify(update: Update) -> Inbound | None:
    """What to do with an update, or None to acknowledge and ignore it."""
    query = update.callback_query
    if query is not None:
        if query.data is None:
            return None
        chat = query.message.chat if query.message is not None else None
        if chat is not None and chat.type != "private":
            return None
        chat_id = chat.id if chat is not None else query.from_user.id
        return Inbound(chat_id, "button", query.from_user.language_code, query.data)
    message = update.message
    if message is None or message.chat.type != "private":
        return None  # edits, channel posts, group chats, membership changes, ...
    locale = message.from_user.language_code if message.from_user else None
    if message.text:
        return Inbound(message.chat.id, "text", locale, message.text)
    if message.location is not None:
        where = {"latitude": message.location.latitude, "longitude": message.location.longitude}
        return Inbound(message.chat.id, "location", locale, extra=where)
    if any(getattr(message, attr, None) for attr in _UNSUPPORTED_MEDIA):
        return Inbound(message.chat.id, "unsupported", locale)
    return None


class TelegramOutput(ButtonTextOutput):
    """Sends Rasa's replies to one Telegram chat (or, for bot-initiated messages, by lookup)."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    async def _chat(self, recipient_id: str) -> int | None:
        platform_id = await self._platform_recipient(recipient_id)
        return int(platform_id) if platform_id is not None else None

    async def _keyboard(self, buttons: Iterable[dict[str, Any]]) -> InlineKeyboardMarkup | None:
        rows: list[list[InlineKeyboardButton]] = []
        for button in buttons:
            title = to_plain(str(button.get("title") or "")).strip()
            if not title:
                continue
            url = button.get("url")
            if isinstance(url, str) and url.startswith("https://"):
                rows.append([InlineKeyboardButton(title, url=url)])
                continue
            payload = str(button.get("payload") or title)
            data = await self._channel.context.payloads.encode(payload, CALLBACK_DATA_BYTES)
            rows.append([InlineKeyboardButton(title, callback_data=data)])
        return InlineKeyboardMarkup(rows) if rows else None

    async def _send(self, recipient_id: str, text: str, buttons: Iterable[dict[str, Any]] | None) -> None:
        chat_id = await self._chat(recipient_id)
        if chat_id is None:
            logger.warning("telegram: no chat for this sender (forgotten or unknown); reply dropped")
            return
        chunks = split_message(text or "", MESSAGE_LIMIT, to_html, utf16_length)
        keyboard = await self._keyboard(buttons) if buttons else None
        if keyboard is not None and not chunks:
            chunks = [html.escape(t(self._lang, CHOOSE_OPTION), quote=False)]
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            await self._channel.sender.send_text(chat_id, chunk, keyboard if last else None)


class TelegramInput(InputChannel):
    """The Telegram webhook; configured by `bot.channels.credentials.build_credentials`."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> TelegramInput:
        """Rasa's constructor: the secrets come from `bot.settings`, never from credentials.yml."""
        return cls.from_settings(get_settings())

    @classmethod
    def from_settings(cls, settings: Settings) -> TelegramInput:
        telegram = settings.telegram
        if not telegram.enabled:
            cls.raise_missing_credentials_exception()  # Rasa's own message for an unconfigured channel
        return cls(
            token=_secret_value(telegram.token),
            secret_token=_secret_value(telegram.secret_token),
            api_base_url=telegram.api_base_url,
            context=ChannelContext.from_settings(settings),
        )

    def __init__(
        self,
        token: str,
        secret_token: str,
        api_base_url: str | None = None,
        context: ChannelContext | None = None,
        typing_after: float = 1.0,
        bot: Bot | None = None,
    ) -> None:
        if not valid_telegram_secret_token(secret_token):
            raise ValueError("TELEGRAM_SECRET_TOKEN must be 1-256 characters of A-Z a-z 0-9 _ -")
        self._secret = secret_token.encode("ascii")
        self._bot_id = token.split(":", 1)[0]
        self.sender = TelegramSender(bot or make_bot(token, api_base_url))
        self.context = context or ChannelContext.from_settings(get_settings())
        self.typing_after = typing_after

    def _authentic(self, request: Request) -> bool:
        presented = request.headers.get(SECRET_HEADER, "")
        return hmac.compare_digest(presented.encode("utf-8", "replace"), self._secret)

    def get_output_channel(self) -> OutputChannel | None:
        """For bot-initiated messages: delivers by looking the pseudonym up."""
        return TelegramOutput(self)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("telegram_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self._authentic(request):
                logger.warning("telegram webhook: wrong or missing secret token")
                return response.json({"error": "forbidden"}, status=403)
            try:
                data = json.loads(request.body or b"")
            except (ValueError, UnicodeDecodeError):
                return response.json({"error": "body is not JSON"}, status=400)
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                return response.json({"error": "not a Telegram update"}, status=400)
            try:
                update = Update.de_json(data, self.sender.bot)
                inbound = classify(update)
            except Exception as exc:  # noqa: BLE001 - any malformed field means a bad request
                logger.info("telegram webhook: unparsable update (%s)", type(exc).__name__)
                return response.json({"error": "not a Telegram update"}, status=400)
            if inbound is None:
                if update.callback_query is not None:
                    self.context.tasks.spawn(self.sender.answer_callback(update.callback_query.id), "answer")
                return response.json({"status": "ignored"})
            try:
                first = await self.context.dedupe.claim(f"telegram:{self._bot_id}:{update.update_id}")
            except DedupeUnavailable:
                return response.json({"error": "try again"}, status=503, headers={"Retry-After": "5"})
            if not first:
                return response.json({"status": "duplicate"})
            if update.callback_query is not None:
                # Answered at once and outside the chat's queue: the client shows a spinner
                # until then, and the query expires after a few seconds.
                self.context.tasks.spawn(self.sender.answer_callback(update.callback_query.id), "answer")
            self.context.tasks.spawn(self._handle(inbound, on_new_message), "telegram turn")
            return response.json({"status": "ok"})

        return webhook

    async def _handle(
        self, inbound: Inbound, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> None:
        sender_id = self.context.pseudonym(CHANNEL_NAME, inbound.chat_id)
        lang = language_from_locale(inbound.locale)
        output = TelegramOutput(self, inbound.chat_id, sender_id, lang)
        async with self.context.sequencer.hold(sender_id):
            await self.context.remember(sender_id, CHANNEL_NAME, inbound.chat_id)
            extra: dict[str, Any] = {}
            if inbound.kind == "unsupported":
                await output.send_text_message(sender_id, t(lang, TEXT_ONLY))
                return
            if inbound.kind == "button":
                payload = await self.context.payloads.decode(inbound.text)
                if payload is None:
                    await output.send_text_message(sender_id, t(lang, EXPIRED_BUTTON))
                    return
                text = payload
            elif inbound.kind == "location":
                text = location_payload(inbound.extra.get("latitude"), inbound.extra.get("longitude"))
                extra = {"shared_location": True}
            else:
                text = text_to_rasa(inbound.text)
                if not text:
                    return
            message = UserMessage(
                text,
                output,
                sender_id,
                input_channel=CHANNEL_NAME,
                metadata=rasa_metadata(CHANNEL_NAME, inbound.locale, **extra),
            )
            try:
                async with Typing(lambda: self.sender.typing(inbound.chat_id), after=self.typing_after):
                    await on_new_message(message)
            except Exception as exc:  # noqa: BLE001 - the user must hear back even when Rasa fails
                logger.error("telegram turn failed: %s", type(exc).__name__)
                await output.send_text_message(sender_id, t(lang, ERROR_REPLY))
