"""Telegram as a Rasa custom channel, on python-telegram-bot v22 (replaces Rasa's built-in one).

Webhook `/webhooks/telegram/webhook` (the turn itself is `bot.channels.base.WebhookInput`'s):
- 403 unless `X-Telegram-Bot-Api-Secret-Token` equals TELEGRAM_SECRET_TOKEN (constant time);
- 400 for a body that is not a Telegram Update (parsed with `Update.de_json`);
- a redelivered `update_id` is acknowledged and dropped (>= 24 h);
- otherwise 200 at once; the turn runs in the background, one at a time per chat, so a
  slow turn never makes Telegram redeliver and replies to one chat stay in order.

Private chats only: text, commands (/start /help /menu /language /privacy /forget), button
taps (always answered with answerCallbackQuery first), a shared location (offers partners
nearby), anything else gets the polite "text only" reply. Group chats are ignored.

Replies are HTML (escaped, built from the card Markdown), split at Telegram's message
limit (UTF-16 units) on paragraph boundaries, with inline keyboards whose callback_data is
the Rasa payload or, above Telegram's callback_data limit, a short id. A 429 (waited out
per `retry_after`), a 5xx, a network error or a timeout is retried with backoff within
SEND_RETRY_SECONDS (`bot.channels.delivery`). The Bot is built once and never calls getMe. The chat id
is replaced by a pseudonym before Rasa.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import hmac
import html
import logging
import re
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from pydantic import SecretStr
from sanic.request import Request
from sanic.response import HTTPResponse
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, LinkPreviewOptions, Update
from telegram.constants import (
    ChatAction,
    ChatType,
    InlineKeyboardButtonLimit,
    MessageLimit,
    ParseMode,
    UpdateType,
)
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData

from bot.channels.base import Attempt, ButtonTextOutput, WebhookInput, deliver, error
from bot.channels.concurrency import Typing
from bot.channels.context import ChannelContext
from bot.channels.delivery import DEFAULT_BUDGET_SECONDS, ON_ACCEPTED
from bot.channels.events import InboundEvent, Kind
from bot.channels.stores import DedupeUnavailable
from bot.markup import to_html, utf16_length
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
MESSAGE_LIMIT = int(MessageLimit.MAX_TEXT_LENGTH)
CALLBACK_DATA_BYTES = int(InlineKeyboardButtonLimit.MAX_CALLBACK_DATA)
ALLOWED_UPDATES = [UpdateType.MESSAGE.value, UpdateType.CALLBACK_QUERY.value]
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


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


class MarkingRequest(HTTPXRequest):
    """PTB's HTTP layer, except for a sendMessage of a turn whose update is not marked
    handled yet (`ON_ACCEPTED` set): that one goes out on a thread of its own, which calls
    `ON_ACCEPTED` as soon as Telegram answered 200, before handing the answer back to the
    event loop. Under load the loop hears of an answer a quarter of a second late (other
    turns' predictions run on it), and a crash in that time made the redelivery answer the
    update twice. Everything else (other methods, replies outside a turn, the errors PTB
    makes of a status) is PTB's own."""

    # One thread per first message in flight: as many as the turns that may wait on a slow
    # Telegram at once, without queueing one chat's reply behind another's.
    _SENDS = ThreadPoolExecutor(max_workers=32, thread_name_prefix="telegram-send")
    _TIMEOUT = httpx.Timeout(connect=5.0, read=5.0, write=5.0, pool=1.0)  # HTTPXRequest's

    def __init__(self) -> None:
        super().__init__()
        self._blocking: httpx.Client | None = None
        self._blocking_lock = threading.Lock()  # the sending threads create it once

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        accepted = ON_ACCEPTED.get()
        if accepted is None or not url.endswith("/sendMessage") or request_data is None:
            return await super().do_request(
                url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
            )
        data = request_data.json_parameters
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._SENDS, self._send_and_report, url, method, data, accepted)

    def _send_and_report(
        self, url: str, method: str, data: dict[str, str], accepted: Callable[[], None]
    ) -> tuple[int, bytes]:
        with self._blocking_lock:
            if self._blocking is None:
                self._blocking = httpx.Client(timeout=self._TIMEOUT)
            client = self._blocking
        try:
            answer = client.request(method, url, headers={"User-Agent": self.USER_AGENT}, data=data)
        except httpx.TimeoutException as exc:  # as HTTPXRequest maps them
            raise TimedOut from exc
        except httpx.HTTPError as exc:
            raise NetworkError(f"httpx.{exc.__class__.__name__}: {exc}") from exc
        if answer.status_code == 200:
            accepted()
        return answer.status_code, answer.content

    async def shutdown(self) -> None:
        if self._blocking is not None:
            self._blocking.close()
            self._blocking = None
        await super().shutdown()


def make_bot(token: str, api_base_url: str | None = None) -> Bot:
    """A Bot for `token`; `api_base_url` in PTB's form (the token is appended)."""
    return Bot(token, base_url=api_base_url or DEFAULT_API_BASE_URL, request=MarkingRequest())


def _seconds(retry_after: int | _dt.timedelta) -> float:
    return retry_after.total_seconds() if isinstance(retry_after, _dt.timedelta) else float(retry_after)


class TelegramSender:
    """Bot API calls under the channels' failure policy; failures are logged by type, never raised."""

    def __init__(self, bot: Bot, retry_seconds: float = DEFAULT_BUDGET_SECONDS) -> None:
        self.bot = bot
        self._budget = retry_seconds

    @staticmethod
    def _failure(exc: TelegramError) -> Attempt:
        """How the channels' failure policy treats a Bot API error: 429 (`retry_after`
        honoured), 5xx (PTB raises NetworkError with the status), network errors and
        timeouts are transient; the rest is final."""
        if isinstance(exc, RetryAfter):
            return Attempt.transient("flood control (429)", _seconds(exc.retry_after), kind="429")
        if isinstance(exc, Forbidden):
            return Attempt.failed("the user has blocked the bot")
        if isinstance(exc, TimedOut):
            return Attempt.transient("TimedOut", kind="timeout")
        if isinstance(exc, NetworkError) and not isinstance(exc, BadRequest):
            # PTB raises NetworkError("httpx.<Error>: ...") when no reply came, and a
            # NetworkError with the server's description for a 5xx reply.
            no_reply = str(exc).startswith(("httpx.", "Unknown error in HTTP implementation"))
            kind = "network" if no_reply else "5xx"
            return Attempt.transient(f"{type(exc).__name__} ({kind})", kind=kind)
        return Attempt.failed(type(exc).__name__)

    async def _call(self, call: Callable[[], Awaitable[Any]]) -> Attempt:
        try:
            await call()
            return Attempt.sent()
        except TelegramError as exc:
            return self._failure(exc)

    async def send_text(
        self, chat_id: int, html_text: str, keyboard: InlineKeyboardMarkup | None = None
    ) -> bool:
        """Send one HTML message; falls back to plain text if Telegram rejects the markup."""
        kwargs: dict[str, Any] = {
            "reply_markup": keyboard,
            "link_preview_options": LinkPreviewOptions(is_disabled=True),
        }
        markup_rejected = False

        async def as_html() -> Attempt:
            nonlocal markup_rejected
            try:
                await self.bot.send_message(chat_id, html_text, parse_mode=ParseMode.HTML, **kwargs)
                return Attempt.sent()
            except BadRequest as exc:
                markup_rejected = "pars" in str(exc).lower()
                return Attempt.failed("Telegram rejected our HTML" if markup_rejected else "BadRequest")
            except TelegramError as exc:
                return self._failure(exc)

        if await deliver(as_html, "telegram sendMessage", self._budget):
            return True
        if not markup_rejected:
            return False
        plain = html.unescape(re.sub(r"</?b>", "", html_text))
        return await deliver(
            lambda: self._call(lambda: self.bot.send_message(chat_id, plain, **kwargs)),
            "telegram sendMessage (plain text)",
            self._budget,
        )

    async def send_document(self, chat_id: int, filename: str, data: bytes) -> bool:
        """sendDocument (multipart upload) of one file, e.g. a complaint letter (PDF)."""
        return await deliver(
            lambda: self._call(
                lambda: self.bot.send_document(chat_id, InputFile(data, filename=filename), filename=filename)
            ),
            "telegram sendDocument",
            self._budget,
        )

    async def typing(self, chat_id: int) -> None:
        await self.bot.send_chat_action(chat_id, ChatAction.TYPING)

    async def answer_callback(self, query_id: str) -> None:
        # A failure is usually "query is too old": nothing to do, the spinner stops by itself.
        await deliver(
            lambda: self._call(lambda: self.bot.answer_callback_query(query_id)),
            "telegram answerCallbackQuery",
            min(self._budget, 10.0),  # the query expires within seconds anyway
        )


def classify(update: Update, key: str) -> InboundEvent | None:
    """What to do with an update (`key`: its dedupe key), or None to acknowledge and ignore it."""
    query = update.callback_query
    if query is not None:
        if query.data is None:
            return None
        chat = query.message.chat if query.message is not None else None
        if chat is not None and chat.type != ChatType.PRIVATE:
            return None
        button_chat = chat.id if chat is not None else query.from_user.id
        return InboundEvent(
            Kind.BUTTON, str(button_chat), key, query.data, query.from_user.language_code, ack_id=query.id
        )
    message = update.message
    if message is None or message.chat.type != ChatType.PRIVATE:
        return None  # edits, channel posts, group chats, membership changes, ...
    locale = message.from_user.language_code if message.from_user else None
    chat_id = str(message.chat.id)
    if message.text:
        return InboundEvent(Kind.TEXT, chat_id, key, message.text, locale)
    if message.location is not None:
        where = message.location
        return InboundEvent(
            Kind.LOCATION, chat_id, key, locale=locale, latitude=where.latitude, longitude=where.longitude
        )
    if any(getattr(message, attr, None) for attr in _UNSUPPORTED_MEDIA):
        return InboundEvent(Kind.UNSUPPORTED, chat_id, key, locale=locale)
    return None


def _typed(value: Any, key: str, kind: type | tuple[type, ...]) -> bool:
    """True when `value[key]` is absent or of `kind` (bool is not an int here)."""
    if not isinstance(value, dict) or key not in value:
        return True
    field = value[key]
    return isinstance(field, kind) and not isinstance(field, bool)


def well_typed(data: dict[str, Any]) -> bool:
    """The fields a turn uses have the Bot API's types: PTB accepts e.g. a number as text
    or a string as chat id, and the turn would then fail after the 200 (review T14, T15)."""
    message = data.get("message")
    query = data.get("callback_query")
    chat = message.get("chat") if isinstance(message, dict) else None
    sender = query.get("from") if isinstance(query, dict) else None
    return (
        _typed(message, "text", str)
        and _typed(chat, "id", int)
        and _typed(query, "data", str)
        and _typed(sender, "id", int)
    )


class TelegramOutput(ButtonTextOutput):
    """Sends Rasa's replies to one Telegram chat (or, for bot-initiated messages, by lookup)."""

    limit = MESSAGE_LIMIT
    _channel: TelegramInput

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    @staticmethod
    def render(text: str) -> str:
        return to_html(text)

    @staticmethod
    def measure(text: str) -> int:
        return utf16_length(text)

    def _url_button(self, title: str, url: str) -> Any:
        return [InlineKeyboardButton(title, url=url)]

    async def _payload_button(self, recipient_id: str, title: str, payload: str) -> Any:
        data = await self._channel.context.payloads.encode(payload, CALLBACK_DATA_BYTES)
        return [InlineKeyboardButton(title, callback_data=data)]

    def _group(self, buttons: list[Any]) -> Any:
        return InlineKeyboardMarkup(buttons)

    async def _deliver(self, platform_id: str, text: str, buttons: Any | None) -> bool:
        return await self._channel.sender.send_text(int(platform_id), text, buttons)

    async def _deliver_document(self, platform_id: str, filename: str, data: bytes) -> bool:
        return await self._channel.sender.send_document(int(platform_id), filename, data)


class TelegramInput(WebhookInput):
    """The Telegram webhook; on when TELEGRAM_TOKEN and TELEGRAM_SECRET_TOKEN are set (`bot.settings`)."""

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
            token=_secret(telegram.token),
            secret_token=_secret(telegram.secret_token),
            api_base_url=telegram.api_base_url,
            context=ChannelContext.from_settings(settings),
            staff_chat_id=settings.staff_telegram_chat_id,
        )

    def __init__(
        self,
        token: str,
        secret_token: str,
        api_base_url: str | None = None,
        context: ChannelContext | None = None,
        typing_after: float = 1.0,
        bot: Bot | None = None,
        staff_chat_id: int | None = None,
    ) -> None:
        if not valid_telegram_secret_token(secret_token):
            raise ValueError("TELEGRAM_SECRET_TOKEN must be 1-256 characters of A-Z a-z 0-9 _ -")
        self._secret = secret_token.encode("ascii")
        self._bot_id = token.split(":", 1)[0]
        self.context = context or ChannelContext.from_settings(get_settings())
        self.sender = TelegramSender(bot or make_bot(token, api_base_url), self.context.send_retry_seconds)
        self.typing_after = typing_after
        self.staff_chat_id = staff_chat_id  # the staff group (bot.channels.staff_group), if any

    def get_output_channel(self) -> TelegramOutput:
        """For bot-initiated messages: delivers by looking the pseudonym up."""
        return TelegramOutput(self)

    def output(self, event: InboundEvent, sender_id: str, lang: str) -> TelegramOutput:
        return TelegramOutput(self, event.user_id, sender_id, lang)

    async def verify(self, request: Request) -> HTTPResponse | None:
        presented = request.headers.get(SECRET_HEADER, "")
        if hmac.compare_digest(presented.encode("utf-8", "replace"), self._secret):
            return None
        logger.warning("telegram webhook: wrong or missing secret token")
        return error("forbidden", 403)

    def parse(self, data: Any) -> InboundEvent | HTTPResponse | None:
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return error("not a Telegram update")
        if not well_typed(data):
            return error("not a Telegram update")
        try:
            update = Update.de_json(data, self.sender.bot)
            event = classify(update, f"telegram:{self._bot_id}:{update.update_id}")
        except Exception as exc:  # noqa: BLE001 - any malformed field means a bad request
            logger.info("telegram webhook: unparsable update (%s)", type(exc).__name__)
            return error("not a Telegram update")
        if event is None:
            self._staff_group(update)
            if update.callback_query is not None:
                # A tap we ignore still gets its spinner stopped.
                self.context.tasks.spawn(self.sender.answer_callback(update.callback_query.id), "answer")
            return None
        return event

    def _staff_group(self, update: Update) -> None:
        """A message in a topic of the staff group goes to the handoff of that topic; any
        other group, and the group's general topic, stay ignored."""
        message = update.message
        if (
            self.staff_chat_id is None
            or message is None
            or message.chat.id != self.staff_chat_id
            or not message.text
            or not message.message_thread_id
            or (message.from_user is not None and message.from_user.is_bot)
        ):
            return
        self.context.tasks.spawn(
            self._staff_message(
                f"telegram:{self._bot_id}:{update.update_id}", message.message_thread_id, message.text
            ),
            "telegram staff group",
        )

    async def _staff_message(self, dedupe_key: str, thread_id: int, text: str) -> None:
        from bot.channels.staff_group import staff_message

        try:
            first = await self.context.dedupe.claim(dedupe_key)
        except DedupeUnavailable:
            first = True  # a rare double reply beats a lost one
        if first:  # a redelivered update must not send the staff reply twice
            await staff_message(self.context.engine, int(thread_id), text)

    async def acknowledge(self, event: InboundEvent) -> None:
        # Answered at once and outside the chat's queue: the client shows a spinner until
        # then, and the query expires after a few seconds.
        if event.ack_id is not None:
            await self.sender.answer_callback(event.ack_id)

    def typing(self, event: InboundEvent) -> contextlib.AbstractAsyncContextManager[Any]:
        return Typing(lambda: self.sender.typing(int(event.user_id)), after=self.typing_after)
