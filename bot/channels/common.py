"""What every messaging channel shares: markup, splitting, buttons, commands, replies, ordering.

The answer cards are written in a small Markdown subset (paragraphs, **bold**, "1. " and
"- " lists, plain URLs). Telegram gets it as HTML (`to_html`), Zalo as plain text
(`to_plain`); both are split on paragraph boundaries under the platform's size limit
(`split_message`), each piece rendered on its own so no tag is ever cut in half.

Also here: the shared per-deployment state a channel needs (`ChannelContext`: database,
identity map, dedupe store, button payload ids, per-chat ordering, background tasks), the
command table, the language of a platform locale and the polite fixed replies.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as _dt
import hashlib
import html
import json
import logging
import re
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from rasa.core.channels.channel import OutputChannel
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.channels.dedupe import DedupeStore, build_dedupe_store
from bot.db import button_payloads as _payloads
from bot.db import ensure_schema, get_engine
from bot.i18n import gettext, supported
from bot.identity import IdentityStore, pseudonymize, sender_id_secret
from bot.settings import Settings

logger = logging.getLogger(__name__)

I18N_DOMAIN = "channels"

# --- markup -----------------------------------------------------------------------------

_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_BULLET = re.compile(r"^\s*[-*•]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*(\d{1,3})[.)]\s+(.*)$")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def _render_lines(text: str, inline: Callable[[str], str]) -> str:
    lines = []
    for line in text.split("\n"):
        bullet = _BULLET.match(line)
        numbered = _NUMBERED.match(line)
        if bullet:
            lines.append("• " + inline(bullet.group(1)))
        elif numbered:
            lines.append(f"{numbered.group(1)}. " + inline(numbered.group(2)))
        else:
            lines.append(inline(line.rstrip()))
    return "\n".join(lines)


def _html_inline(text: str) -> str:
    # Escape first: the only tags in the output are the ones added here, always balanced.
    return _BOLD.sub(r"<b>\1</b>", html.escape(text, quote=False))


def _plain_inline(text: str) -> str:
    return _BOLD.sub(r"\1", text)


def to_html(text: str) -> str:
    """Card Markdown -> Telegram HTML (escaped text, <b> for **bold**, "•" bullets)."""
    return _render_lines(text, _html_inline)


def to_plain(text: str) -> str:
    """Card Markdown -> plain text for platforms that show markup literally (Zalo)."""
    return _render_lines(text, _plain_inline)


def utf16_length(text: str) -> int:
    """Telegram counts message length in UTF-16 code units (an emoji counts twice)."""
    return len(text.encode("utf-16-le")) // 2


_SEPARATORS = ("\n\n", "\n", " ", "")


def _pack(text: str, level: int, fits: Callable[[str], bool]) -> list[str]:
    """Greedy packing of `text`'s units at one separator level; oversize units go a level down."""
    separator = _SEPARATORS[level]
    if separator == "\n\n":
        units = [p.strip("\n") for p in _PARAGRAPH_BREAK.split(text) if p.strip()]
    elif separator:
        units = [u for u in text.split(separator) if u]
    else:
        units = list(text)
    pieces: list[str] = []
    for unit in units:
        if fits(unit) or not separator:
            pieces.append(unit)
        else:
            pieces.extend(_pack(unit, level + 1, fits))
    chunks: list[str] = []
    current = ""
    for piece in pieces:
        candidate = f"{current}{separator}{piece}" if current else piece
        if current and not fits(candidate):
            chunks.append(current)
            current = piece
        else:
            current = candidate
    if current:
        chunks.append(current)
    return chunks


def split_message(
    text: str,
    limit: int,
    render: Callable[[str], str] = to_plain,
    measure: Callable[[str], int] = len,
) -> list[str]:
    """Render `text` and cut it into pieces of at most `limit` (as `measure`d after rendering).

    Cuts fall between paragraphs when possible, else between lines, then words, then
    characters. Each piece is rendered separately, so HTML pieces are each well formed.
    """
    if not text or not text.strip():
        return []

    def fits(chunk: str) -> bool:
        return measure(render(chunk)) <= limit

    return [render(chunk) for chunk in _pack(text.strip(), 0, fits)]


# --- language and fixed replies -----------------------------------------------------------


def language_from_locale(locale: str | None) -> str:
    """ "vi"/"en" for a platform locale tag; anything else gets the default (Vietnamese)."""
    return supported(locale)


def t(lang: str | None, msgid: str, **params: object) -> str:
    """A fixed channel reply in the user's language (catalog domain `channels`)."""
    return gettext(lang, msgid, domain=I18N_DOMAIN, **params)


TEXT_ONLY = "Sorry, I can only read text messages. Please type your question in a few words."
ERROR_REPLY = "Sorry, something went wrong on my side. Please try again in a few minutes."
EXPIRED_BUTTON = "That button is no longer available. Please type your question in a few words."
CHOOSE_OPTION = "Please choose:"
MORE_OPTIONS = "More options:"

# --- commands -----------------------------------------------------------------------------

# Slash commands -> the Rasa payloads of the dialogue's intents (bypass NLU).
COMMAND_PAYLOADS: dict[str, str] = {
    "start": "/greet",
    "help": "/help_menu",
    "menu": "/help_menu",
    "language": "/change_language",
    "privacy": "/privacy",
    "forget": "/forget_me",
}

# The menu Telegram shows for "/" (setMyCommands), English msgid -> translated per language.
COMMAND_DESCRIPTIONS: dict[str, str] = {
    "start": "Start and show the main menu",
    "menu": "Show the topics I can help with",
    "help": "How to use this assistant",
    "language": "Change language (Tiếng Việt / English)",
    "privacy": "What I keep about you",
    "forget": "Delete what I keep about you",
}

LOCATION_PAYLOAD = "/referral_partner"


def location_payload(latitude: Any, longitude: Any) -> str:
    """The partner look-up for a shared location: with the province around it when the
    point is in Viet Nam, else plain (the dialogue then asks where). The coordinates
    themselves are neither passed on nor stored."""
    from bot.vietnamese.locations import nearest_province

    try:
        province = nearest_province(float(latitude), float(longitude))
    except (TypeError, ValueError):
        province = None
    if province is None:
        return LOCATION_PAYLOAD
    return LOCATION_PAYLOAD + json.dumps({"province": province}, ensure_ascii=False)


_COMMAND = re.compile(r"^/([A-Za-z0-9_]+)(?:@\w+)?(?:\s.*)?$", re.DOTALL)


def text_to_rasa(text: str) -> str:
    """What to hand Rasa for a typed text: a known command's payload, else the text itself.

    A typed "/something" that is not one of our commands would otherwise be read by Rasa
    as an intent payload, letting anyone trigger any intent with any entities; its slashes
    are dropped so it goes through NLU like other text.
    """
    stripped = text.strip()
    match = _COMMAND.match(stripped)
    if match:
        payload = COMMAND_PAYLOADS.get(match.group(1).lower())
        if payload:
            return payload
    if stripped.startswith("/"):
        return stripped.lstrip("/").strip()
    return stripped


# --- button payload ids ---------------------------------------------------------------------

SHORT_ID_PREFIX = "p:"
REPLY_KEY_PREFIX = "z:"
REPLY_KEY_TTL = _dt.timedelta(hours=48)


class PayloadStore:
    """Maps button payloads to short ids (Telegram's 64-byte callback_data) and back.

    The id is a hash of the payload, so the same payload always gets the same id and the
    table only grows with distinct payloads (topics x entities), never per user. It also
    keeps, for 48 hours, which payload a visible button title stood for in one
    conversation (`remember_reply`), for platforms whose buttons send their title back.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._puts = 0
        ensure_schema(engine)

    @staticmethod
    def short_id(payload: str) -> str:
        digest = hashlib.sha256(payload.encode("utf-8")).digest()[:12]
        return SHORT_ID_PREFIX + base64.urlsafe_b64encode(digest).decode("ascii")

    def _put(self, key: str, payload: str) -> None:
        now = _dt.datetime.utcnow()
        with self._engine.begin() as conn:
            updated = conn.execute(
                sa.update(_payloads).where(_payloads.c.key == key).values(payload=payload, created_at=now)
            ).rowcount
            if not updated:
                try:
                    with conn.begin_nested():
                        conn.execute(sa.insert(_payloads).values(key=key, payload=payload, created_at=now))
                except IntegrityError:
                    pass  # inserted concurrently with the same content
            self._puts += 1
            if self._puts % 200 == 1:
                conn.execute(
                    sa.delete(_payloads).where(
                        _payloads.c.key.like(REPLY_KEY_PREFIX + "%"),
                        _payloads.c.created_at < now - REPLY_KEY_TTL,
                    )
                )

    def _get(self, key: str) -> str | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(_payloads.c.payload, _payloads.c.created_at).where(_payloads.c.key == key)
            ).first()
        if row is None:
            return None
        if key.startswith(REPLY_KEY_PREFIX) and row.created_at < _dt.datetime.utcnow() - REPLY_KEY_TTL:
            return None
        return row.payload

    async def encode(self, payload: str, max_bytes: int) -> str:
        """`payload` itself when it fits in `max_bytes`, else its stored short id."""
        if len(payload.encode("utf-8")) <= max_bytes and not payload.startswith(SHORT_ID_PREFIX):
            return payload
        key = self.short_id(payload)
        await asyncio.to_thread(self._put, key, payload)
        return key

    async def decode(self, data: str) -> str | None:
        """The payload behind button data; None for a short id we do not know."""
        if not data.startswith(SHORT_ID_PREFIX):
            return data
        return await asyncio.to_thread(self._get, data)

    @staticmethod
    def _reply_key(sender_id: str, title: str) -> str:
        material = f"{sender_id}\n{' '.join(title.split()).casefold()}".encode()
        return REPLY_KEY_PREFIX + hashlib.sha256(material).hexdigest()[:40]

    async def remember_reply(self, sender_id: str, title: str, payload: str) -> None:
        """A button titled `title` was offered to `sender_id` and stands for `payload`."""
        await asyncio.to_thread(self._put, self._reply_key(sender_id, title), payload)

    async def reply_payload(self, sender_id: str, text: str) -> str | None:
        """The payload of a button recently offered to `sender_id` whose title is `text`."""
        return await asyncio.to_thread(self._get, self._reply_key(sender_id, text))


# --- per-chat ordering and background work ----------------------------------------------------


class ChatSequencer:
    """One turn at a time per conversation, in arrival order (asyncio.Lock is FIFO)."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: Counter[str] = Counter()

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] += 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if self._users[key] <= 0:
                del self._users[key]
                self._locks.pop(key, None)


class BackgroundTasks:
    """Work that runs after the webhook has answered; failures are logged, never raised."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], what: str) -> None:
        task = asyncio.get_running_loop().create_task(self._guard(coro, what))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _guard(coro: Awaitable[Any], what: str) -> None:
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a background failure must not vanish silently
            # The type only: exception messages may quote user text or ids.
            logger.error("channel background task %s failed: %s", what, type(exc).__name__)

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait for the work in flight (tests, graceful shutdown)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self._tasks and asyncio.get_running_loop().time() < deadline:
            await asyncio.wait(
                set(self._tasks), timeout=max(0.0, deadline - asyncio.get_running_loop().time())
            )


class Typing:
    """Shows a "typing" indicator while a turn takes longer than `after` seconds."""

    def __init__(self, send_action: Callable[[], Awaitable[Any]], after: float, every: float = 4.5) -> None:
        self._send_action = send_action
        self._after = after
        self._every = every
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        await asyncio.sleep(self._after)
        while True:
            try:
                await self._send_action()
            except Exception as exc:  # noqa: BLE001 - the indicator is cosmetic
                logger.debug("typing indicator failed: %s", type(exc).__name__)
            await asyncio.sleep(self._every)

    async def __aenter__(self) -> Typing:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


# --- shared per-deployment state -------------------------------------------------------------


@dataclass
class ChannelContext:
    """The stores one deployment's channels share (one instance per channel is fine too)."""

    engine: Engine
    identities: IdentityStore
    payloads: PayloadStore
    dedupe: DedupeStore
    secret: str
    sequencer: ChatSequencer
    tasks: BackgroundTasks

    @classmethod
    def from_settings(cls, settings: Settings) -> ChannelContext:
        """Built from DATABASE_URL, REDIS_URL and SENDER_ID_SECRET."""
        engine = get_engine(settings.database_url)
        secret = sender_id_secret(engine, {"SENDER_ID_SECRET": settings.sender_secret})
        return cls(
            engine=engine,
            identities=IdentityStore(engine),
            payloads=PayloadStore(engine),
            dedupe=build_dedupe_store(engine, settings.redis_url),
            secret=secret,
            sequencer=ChatSequencer(),
            tasks=BackgroundTasks(),
        )

    def pseudonym(self, platform: str, platform_user_id: str | int) -> str:
        return pseudonymize(platform, platform_user_id, self.secret)

    async def remember(self, sender_id: str, platform: str, platform_user_id: str | int) -> None:
        await asyncio.to_thread(self.identities.remember, sender_id, platform, platform_user_id)

    async def platform_user(self, sender_id: str, platform: str) -> str | None:
        """The platform id to deliver to for `sender_id`, if it is ours and not forgotten."""
        identity = await asyncio.to_thread(self.identities.lookup, sender_id)
        if identity is None or identity.platform != platform:
            return None
        return identity.platform_user_id


class ButtonTextOutput(OutputChannel):
    """An output channel that sends every reply as text plus optional buttons.

    Each platform implements `_send(recipient_id, text, buttons)`; images and attachments go
    out as their URL, and Rasa's custom JSON and elements (which our answers never use)
    are skipped instead of being shown raw.

    It is built for one conversation (the platform's user or chat id, the pseudonymous
    sender id Rasa knows, the language) or, for bot-initiated messages, for the channel
    alone, in which case the platform id is looked up from the pseudonym.
    """

    def __init__(
        self,
        channel: Any,
        platform_id: str | int | None = None,
        sender_id: str | None = None,
        lang: str | None = None,
    ) -> None:
        self._channel = channel
        self._platform_id = platform_id
        self._sender_id = sender_id
        self._lang = lang

    async def _platform_recipient(self, recipient_id: str) -> str | int | None:
        """The platform's id for Rasa's (pseudonymous) recipient id."""
        if self._platform_id is not None and recipient_id == self._sender_id:
            return self._platform_id
        return await self._channel.context.platform_user(recipient_id, self.name())

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._send(recipient_id, text, None)

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        await self._send(recipient_id, text, buttons)

    async def send_quick_replies(
        self, recipient_id: str, text: str, quick_replies: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        await self._send(recipient_id, text, quick_replies)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self._send(recipient_id, image, None)

    async def send_attachment(self, recipient_id: str, attachment: str, **kwargs: Any) -> None:
        await self._send(recipient_id, attachment, None)

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any) -> None:
        logger.debug("%s: custom payload not supported, skipped", self.name())

    async def send_elements(
        self, recipient_id: str, elements: Iterable[dict[str, Any]], **kwargs: Any
    ) -> None:
        logger.debug("%s: elements not supported, skipped", self.name())


def rasa_metadata(channel: str, locale: str | None, **extra: Any) -> dict[str, Any]:
    """The metadata every channel attaches to a user message (read by the actions)."""
    return {"channel": channel, "locale": locale, **extra}
