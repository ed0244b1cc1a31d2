"""The shape every messaging platform fits: a webhook that owns the turn, an output that
sends text plus buttons, and one policy for failed sends.

`WebhookInput` runs the turn for every platform, in this order: verify the request →
parse it into an `InboundEvent` → claim the chat for this replica (`bot.channels.chat_claims`:
503 when another replica still has turns of it) → claim the update (`DedupeStore.begin`) → run the turn as a
task → pseudonym → one turn at a time per chat → unsupported / location / button / text →
Rasa's `UserMessage` → `finish` the claim as soon as the platform accepted the first
message of the reply (else when the turn is over, or when it failed and the fallback was
sent).

Delivery semantics (at least once, exactly one reply; docs/reliability.md): the webhook
answers 2xx only when the turn is over (its reply sent, or the turn failed and the user
got the fallback reply), waiting at most `ack_within` seconds (the platform's own
deadline, less a margin); a turn still running then gets 503 + Retry-After, and the
redelivery waits for that same turn (`RunningTurns`) instead of running it twice. A
redelivery of a finished update is a duplicate (200, no reply). A turn cut short by a
shutdown gives its claim back, and one that died with its process (SIGKILL) leaves a
claim whose lease (TURN_LEASE_SECONDS) runs out, so Telegram's and Zalo's redelivery runs
it again. On shutdown, new updates get 503 (redelivered to the next process) while the
running turns are drained.

When something is down (`bot.degraded`): if the dedupe store cannot be asked, the update
is answered directly, without Rasa or the database (the urgent card for danger, else
"temporarily unavailable" with the urgent numbers), deduped in memory; a turn that fails
in Rasa or a store gets the same reply. Never silence.

A turn still running after `TURN_TIMEOUT_SECONDS` is cancelled and answered with the
fallback, so one stuck turn never holds its chat for ever. What the logs say about turns,
never with text or ids: a turn slower than `SLOW_TURN_SECONDS` with the phase its time went
to, a turn that ends without a reply, turns unfinished at shutdown, and, on SIGUSR1, where
every turn in flight is waiting (code locations).

A platform implements `verify`, `parse` and its output; a new platform is one file.

`ButtonTextOutput` sends every Rasa reply as text plus optional buttons, split under the
platform's size limit. Rasa's default renderings of images ("Image: url") and custom JSON
never reach users. Each message goes out under the one failure policy of
`bot.channels.delivery`; when one piece of a reply fails, the rest of that reply is
dropped: later pieces out of context would mislead.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, ClassVar, Protocol

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.commands import COMMAND_PAYLOADS, GREET_PAYLOAD, location_payload, text_to_rasa
from bot.channels.concurrency import waiting_at
from bot.channels.context import ChannelContext
from bot.channels.delivery import ON_ACCEPTED, Attempt, deliver
from bot.channels.events import InboundEvent, Kind
from bot.channels.limits import body_too_large, refusal
from bot.channels.stores import Claim, DedupeUnavailable
from bot.degraded import degraded_reply
from bot.i18n import gettext, supported
from bot.markup import split_message, to_plain
from bot.metrics import DEGRADED_REPLIES, MESSAGES, timed_turn

logger = logging.getLogger(__name__)

I18N_DOMAIN = "channels"

# The fixed channel replies (English msgids, catalog domain `channels`).
TEXT_ONLY = "Sorry, I can only read text messages. Please type your question in a few words."
ERROR_REPLY = "Sorry, something went wrong on my side. Please try again in a few minutes."
EXPIRED_BUTTON = "That button is no longer available. Please type your question in a few words."
CHOOSE_OPTION = "Please choose:"
MORE_OPTIONS = "More options:"
# fundletter: a finished complaint letter that could not be sent.
LETTER_KEY = "letter"
LETTER_GONE = 'Sorry, that letter is no longer available. Write "complaint letter" to make it again.'
LETTER_FAILED = (
    'Sorry, I could not send the letter file. Please try again in a few minutes: write "complaint letter".'
)

RETRY_AFTER_SECONDS = 5
# Accepted turns still running at shutdown get this long to finish (under `bot run`'s 45 s
# before it kills Rasa): a turn takes about a second, and tens of seconds, queued behind its
# chat's earlier turns, on a machine under heavy load.
DRAIN_SECONDS = 40.0
CANCEL_SECONDS = 2.0  # then, for the turns left to give their claims back
SLOW_TURN_SECONDS = 5.0
# A turn (Rasa, actions, replies) still running after this long is cancelled: the user gets
# the error reply and the chat's next turns go on (Rasa's own lock lifetime is 60 s too).
TURN_TIMEOUT_SECONDS = 60.0


class TurnTimeout(RuntimeError):
    """A turn did not finish within TURN_TIMEOUT_SECONDS."""


FORGET_PAYLOAD = COMMAND_PAYLOADS["forget"]
OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


def t(lang: str | None, msgid: str, **params: object) -> str:
    """A fixed channel reply in the user's language (catalog domain `channels`)."""
    return gettext(lang, msgid, domain=I18N_DOMAIN, **params)


# --- output -------------------------------------------------------------------------------------


class HasContext(Protocol):
    """What an output needs from its input channel."""

    context: ChannelContext


class ButtonTextOutput(OutputChannel, ABC):
    """An output channel that sends every reply as text plus optional buttons.

    It is built for one conversation (the platform's user or chat id, the pseudonymous
    sender id Rasa knows, the language) or, for bot-initiated messages, for the channel
    alone, in which case the platform id is looked up from the pseudonym.

    A platform sets `limit` (and `measure`, `render`), `buttons_per_message`, and
    implements `_deliver` (one message) and the button hooks.
    """

    limit: ClassVar[int]
    buttons_per_message: ClassVar[int | None] = None  # None: all on the last message

    def __init__(
        self,
        channel: HasContext,
        platform_id: str | int | None = None,
        sender_id: str | None = None,
        lang: str | None = None,
    ) -> None:
        self._channel = channel
        self._platform_id = platform_id
        self._sender_id = sender_id
        self._lang = lang
        self.delivered = 0  # messages sent (a turn that sends none is logged by the webhook)
        # Called once, after the first message of the turn's reply was delivered: the
        # webhook marks the update handled then (a crash later cannot make it answer twice).
        self.on_delivered: Callable[[], Awaitable[None]] | None = None

    @staticmethod
    def render(text: str) -> str:
        """Card Markdown -> what the platform shows."""
        return to_plain(text)

    @staticmethod
    def measure(text: str) -> int:
        return len(text)

    @abstractmethod
    async def _deliver(self, platform_id: str, text: str, buttons: Any | None) -> bool:
        """Send one rendered message with an optional group of buttons; True when sent."""

    @abstractmethod
    def _url_button(self, title: str, url: str) -> Any:
        """A button that opens an https:// address."""

    @abstractmethod
    async def _payload_button(self, recipient_id: str, title: str, payload: str) -> Any:
        """A button that sends `payload` back to the bot."""

    @abstractmethod
    def _group(self, buttons: list[Any]) -> Any:
        """The platform's markup for buttons shown under one message."""

    async def _platform_recipient(self, recipient_id: str) -> str | None:
        """The platform's id for Rasa's (pseudonymous) recipient id."""
        if self._platform_id is not None and recipient_id == self._sender_id:
            return str(self._platform_id)
        return await self._channel.context.platform_user(recipient_id, self.name())

    async def _button_groups(self, recipient_id: str, buttons: Iterable[dict[str, Any]]) -> list[Any]:
        made = []
        for button in buttons:
            title = to_plain(str(button.get("title") or "")).strip()
            if not title:
                continue
            url = button.get("url")
            if isinstance(url, str) and url.startswith("https://"):
                made.append(self._url_button(title, url))
            else:
                made.append(
                    await self._payload_button(recipient_id, title, str(button.get("payload") or title))
                )
        size = self.buttons_per_message or len(made) or 1
        return [self._group(made[start : start + size]) for start in range(0, len(made), size)]

    async def deliver_reply(
        self, recipient_id: str, text: str, buttons: Iterable[dict[str, Any]] | None = None
    ) -> bool:
        """Send one reply (text and buttons, in the bot's own markup) outside a Rasa turn,
        e.g. a card from the staff console; True when every message of it was sent."""
        return await self._send(recipient_id, text, list(buttons or []))

    async def _send(self, recipient_id: str, text: str, buttons: Iterable[dict[str, Any]] | None) -> bool:
        platform_id = await self._platform_recipient(recipient_id)
        if platform_id is None:
            logger.warning(
                "%s: no recipient for this sender (forgotten or unknown); reply dropped", self.name()
            )
            return False
        chunks = split_message(text or "", self.limit, self.render, self.measure)
        groups = await self._button_groups(recipient_id, buttons) if buttons else []
        if groups and not chunks:
            chunks = [self.render(t(self._lang, CHOOSE_OPTION))]
        messages = [(chunk, None) for chunk in chunks]
        if groups:
            messages[-1] = (messages[-1][0], groups[0])
            messages += [(self.render(t(self._lang, MORE_OPTIONS)), group) for group in groups[1:]]
        for index, (chunk, group) in enumerate(messages):
            if not await self._deliver(platform_id, chunk, group):
                if index + 1 < len(messages):
                    logger.warning("%s: rest of the reply dropped after a failed message", self.name())
                return False
            self.delivered += 1
            if self.on_delivered is not None:
                delivered, self.on_delivered = self.on_delivered, None
                await delivered()
        return True

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
        letter = json_message.get(LETTER_KEY) if isinstance(json_message, dict) else None
        if isinstance(letter, dict):
            await self._send_letter(recipient_id, letter)
            return
        logger.debug("%s: custom payload not supported, skipped", self.name())

    # --- fundletter: a finished complaint letter (bot/tools/letter_store.py) ---

    async def _deliver_document(self, platform_id: str, filename: str, data: bytes) -> bool:
        """Send one file; True when sent. A platform that cannot send files keeps False."""
        return False

    async def _send_letter(self, recipient_id: str, letter: dict[str, Any]) -> None:
        """Take the letter's PDF (once, only for this recipient) and send it as a document."""
        from bot.tools.letter_store import take_file

        platform_id = await self._platform_recipient(recipient_id)
        if platform_id is None:
            logger.warning("%s: no recipient for a letter (forgotten or unknown); dropped", self.name())
            return
        taken = await asyncio.to_thread(
            take_file, self._channel.context.engine, str(letter.get("token") or ""), recipient_id
        )
        if taken is None:
            await self._send(recipient_id, t(self._lang, LETTER_GONE), None)
            return
        if not await self._deliver_document(platform_id, taken.filename, taken.pdf):
            logger.warning("%s: a letter could not be sent", self.name())
            await self._send(recipient_id, t(self._lang, LETTER_FAILED), None)

    async def send_elements(
        self, recipient_id: str, elements: Iterable[dict[str, Any]], **kwargs: Any
    ) -> None:
        logger.debug("%s: elements not supported, skipped", self.name())


# --- input --------------------------------------------------------------------------------------


def error(message: str, status: int = 400) -> HTTPResponse:
    return response.json({"error": message}, status=status)


class WebhookInput(InputChannel, ABC):
    """A platform webhook whose turn is run here; see the module docstring for the order."""

    context: ChannelContext
    # Platforms whose buttons send their title back as text (Zalo): map it to the payload.
    echoes_button_titles: ClassVar[bool] = False
    # How long the webhook waits for the turn before answering 503 (the platform's deadline
    # for an answer, less a margin): Telegram waits 60 s, Zalo about 2 s.
    ack_within: ClassVar[float] = 50.0

    @abstractmethod
    async def verify(self, request: Request) -> HTTPResponse | None:
        """None for an authentic request, else the response to give (403, 400, a probe's 200)."""

    @abstractmethod
    def parse(self, data: Any) -> InboundEvent | HTTPResponse | None:
        """The event in a verified JSON body, None to acknowledge and ignore it, or a 400."""

    @abstractmethod
    def output(self, event: InboundEvent, sender_id: str, lang: str) -> ButtonTextOutput:
        """The output channel for the conversation of `event`."""

    async def acknowledge(self, event: InboundEvent) -> None:
        """Acknowledge `event.ack_id` at once, outside the chat's queue (Telegram's button taps)."""

    def typing(self, event: InboundEvent) -> contextlib.AbstractAsyncContextManager[Any]:
        """Shown while the turn runs; none by default."""
        return contextlib.nullcontext()

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        webhook = Blueprint(f"{self.name()}_webhook", __name__)

        @webhook.listener("after_server_start")
        async def where_on_sigusr1(_: Any, loop: Any) -> None:
            # `kill -USR1 <pid>`: log where every turn in flight is waiting (no values). Signal
            # handlers can be set only from the main thread (tests run servers in others).
            if threading.current_thread() is threading.main_thread():
                loop.add_signal_handler(signal.SIGUSR1, self.context.tasks.log_where)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            return await self.receive(request, on_new_message)

        @webhook.listener("before_server_stop")
        async def drain(*_: Any) -> None:
            await self.drain()

        return webhook

    async def drain(self, timeout: float = DRAIN_SECONDS) -> None:
        """Shutdown: refuse new updates (503: nginx passes them to another replica, a platform
        redelivers them) and let the running turns finish; then give back this replica's
        chat claims."""
        self.context.stopping = True
        self.context.claims.stopping = True
        running = len(self.context.tasks)
        await self.context.tasks.drain(timeout)
        logger.info("%s: drained %d running turn(s), %d left", self.name(), running, len(self.context.tasks))
        if self.context.tasks:
            for clock in list(TurnClock.running):
                logger.warning("unfinished turn: %s", clock.summary(running=True))
            self.context.tasks.log_where()
            # The process exits next, and its event loop would drop these turns as they
            # stand: cancelled, each gives its claim back (`handle`), so the next process
            # runs its redelivery at once instead of after the lease. A reply already on
            # its way is marked by its sending thread, which the exit waits for.
            await self.context.tasks.cancel_all(CANCEL_SECONDS)
        await self.context.claims.release_all()

    async def receive(self, request: Request, on_new_message: OnNewMessage) -> HTTPResponse:
        if body_too_large(request, self.context.max_body_bytes):
            return error("request body too large", 413)
        rejected = await self.verify(request)
        if rejected is not None:
            return rejected
        data = parse_json(request.body)
        if data is None:
            return error("body is not JSON")
        event = self.parse(data)
        if isinstance(event, HTTPResponse):
            return event
        if event is None:
            return response.json({"status": "ignored"})
        turn = self.context.turns.get(event.dedupe_key)
        if turn is not None and self.context.turns.replied(event.dedupe_key):
            return response.json({"status": "duplicate"})  # answered; the turn is finishing
        if turn is None:
            if self.context.stopping:
                return try_again()
            chat = self._sender_or_empty(event)
            if chat and not await self.context.claims.take(chat):
                return try_again()  # another replica has turns of this chat, or this one stops
            try:
                claim = await self.context.dedupe.begin(event.dedupe_key, self.context.turn_lease)
            except DedupeUnavailable:
                await self.context.claims.release(chat)
                return await self._without_store(event)
            if claim is not Claim.NEW:
                await self.context.claims.release(chat)
                if claim is Claim.DONE:
                    return response.json({"status": "duplicate"})
                return try_again()
            if self.context.stopping:
                # The shutdown began while the claim was being written: the drain may be
                # over already, and a turn started now would be cut off mid-reply by the
                # exit. Give the claim back; the next process answers the redelivery.
                with contextlib.suppress(DedupeUnavailable):
                    await self.context.dedupe.abandon(event.dedupe_key)
                await self.context.claims.release(chat)
                return try_again()
            if event.ack_id is not None:
                self.context.tasks.spawn(self.acknowledge(event), f"{self.name()} acknowledgement")
            turn = self.context.turns.add(
                event.dedupe_key,
                self.context.tasks.spawn(
                    self._claimed_turn(event, on_new_message, chat), f"{self.name()} turn"
                ),
            )
        return await self._when_done(turn)

    async def _when_done(self, turn: asyncio.Task[Any]) -> HTTPResponse:
        """200 once the turn is over; 503 if it outlasts `ack_within` (the redelivery joins it)."""
        await asyncio.wait({turn}, timeout=self.ack_within)
        if not turn.done():
            return try_again()
        return response.json({"status": "ok"})

    async def _without_store(self, event: InboundEvent) -> HTTPResponse:
        """The dedupe store is down: answer directly (bot.degraded), deduped in memory."""
        if not self.context.recent.first(event.dedupe_key):
            return response.json({"status": "duplicate"})
        logger.warning("%s: dedupe store unavailable; answering without the dialogue", self.name())
        if event.ack_id is not None:
            self.context.tasks.spawn(self.acknowledge(event), f"{self.name()} acknowledgement")
        turn = self.context.tasks.spawn(self.answer_degraded(event), f"{self.name()} degraded reply")
        return await self._when_done(turn)

    async def _claimed_turn(self, event: InboundEvent, on_new_message: OnNewMessage, chat: str) -> None:
        try:
            await self.handle(event, on_new_message)
        finally:
            await self.context.claims.release(chat)

    async def answer_degraded(self, event: InboundEvent, sender_id: str = "") -> None:
        """The reply of `bot.degraded` sent straight to the platform id (no pseudonym map,
        no stored button payloads: text only, so nothing here needs the database)."""
        lang = supported(event.locale)
        text = event.text if event.kind is Kind.TEXT else None
        reply = degraded_reply(text, lang)
        kind = "urgent" if reply.get("urgent") else "unavailable"
        DEGRADED_REPLIES.labels(channel=self.name(), kind=kind).inc()
        recipient = sender_id or "degraded"
        await self.output(event, recipient, lang).send_text_message(recipient, reply["text"])

    async def _rasa_text(self, event: InboundEvent, sender_id: str) -> tuple[str | None, dict[str, Any]]:
        """What Rasa gets for the event, with extra metadata; None for an unknown button."""
        if event.kind is Kind.FOLLOW:
            return GREET_PAYLOAD, {}
        if event.kind is Kind.LOCATION:
            return location_payload(event.latitude, event.longitude), {"shared_location": True}
        if event.kind is Kind.BUTTON:
            return await self.context.payloads.decode(event.text), {}
        if self.echoes_button_titles:
            payload = await self.context.payloads.reply_payload(sender_id, event.text)
            if payload:
                return payload, {}
        return text_to_rasa(event.text), {}

    async def _held(self, event: InboundEvent, sender_id: str, output: ButtonTextOutput) -> bool:
        """True when a person holds this conversation (`bot.handoff`): the message was kept
        for staff and the bot stays silent, except for the urgent card on danger. "Forget me"
        still reaches the dialogue."""
        if event.kind is not Kind.TEXT or text_to_rasa(event.text) == FORGET_PAYLOAD:
            return False
        from bot.handoff import hold_turn

        try:
            held = await hold_turn(self.context.engine, sender_id, event.text, event.locale)
        except Exception as exc:  # noqa: BLE001 - the database down must not silence the bot
            logger.error("%s: handoff check failed (%s); the bot answers", self.name(), type(exc).__name__)
            return False
        if held is None:
            return False
        for reply in held.replies:
            await output.send_text_with_buttons(sender_id, reply.get("text", ""), reply.get("buttons") or [])
        return True

    async def handle(self, event: InboundEvent, on_new_message: OnNewMessage) -> None:
        """The turn of a claimed update, then its claim finished (or given back if cut short)."""
        try:
            await self.turn(event, on_new_message)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await self.context.dedupe.abandon(event.dedupe_key)
            raise
        except Exception as exc:  # noqa: BLE001 - a store or the platform failed: never silence
            logger.error("%s turn failed: %s", self.name(), type(exc).__name__)
            try:
                await self.answer_degraded(event, self._sender_or_empty(event))
            except Exception as again:  # noqa: BLE001
                logger.error("%s fallback reply failed: %s", self.name(), type(again).__name__)
        if not self.context.turns.marked(event.dedupe_key):
            await self._finish(event)

    async def _finish(self, event: InboundEvent, written: Callable[[], bool] = lambda: False) -> None:
        """Mark the update handled: when the platform accepted the first reply message
        (`written()`: already done on the platform client's thread, see `turn`), else once
        the turn is over (no message went out, or that write failed).

        Called straight from the send that returned, with nothing awaited in between: the
        store's write starts before this coroutine first yields (`SqlDedupeStore.finish`)."""
        self.context.turns.mark_replied(event.dedupe_key)
        ON_ACCEPTED.set(None)  # the turn's later messages take the platform client's usual way
        if not written():
            try:
                await self.context.dedupe.finish(event.dedupe_key)
            except DedupeUnavailable as exc:
                logger.warning("%s: could not mark an update handled (%s)", self.name(), exc)
                return
        self.context.turns.mark_written(event.dedupe_key)

    def _sender_or_empty(self, event: InboundEvent) -> str:
        try:
            return self.context.pseudonym(self.name(), event.user_id)
        except Exception:  # noqa: BLE001 - no key: the reply goes to the platform id anyway
            return ""

    async def turn(self, event: InboundEvent, on_new_message: OnNewMessage) -> None:
        """The turn itself; the reply is sent when it returns."""
        platform = self.name()
        sender_id = self.context.pseudonym(platform, event.user_id)
        lang = supported(event.locale)
        output = self.output(event, sender_id, lang)
        # The mark is written on the platform client's thread the moment the platform
        # answered 2xx (`ON_ACCEPTED`), when the client and the store can: the event loop,
        # busy with other turns' predictions, took 0.25 s (median, measured under load) to
        # hear of that answer, and a crash in between answered the update twice.
        written: list[bool] = []

        def accepted() -> None:
            if written:
                return
            written.append(False)
            try:
                written[0] = self.context.dedupe.finish_now(event.dedupe_key)
            except Exception:  # noqa: BLE001 - never fail the send; `_finish` writes it instead
                written[0] = False

        output.on_delivered = lambda: self._finish(event, lambda: bool(written and written[0]))
        token = ON_ACCEPTED.set(accepted)
        clock = TurnClock()
        TurnClock.running.add(clock)
        try:
            await self._turn(event, on_new_message, sender_id, lang, output, clock)
        finally:
            TurnClock.running.discard(clock)
            ON_ACCEPTED.reset(token)

    async def _turn(
        self,
        event: InboundEvent,
        on_new_message: OnNewMessage,
        sender_id: str,
        lang: str,
        output: ButtonTextOutput,
        clock: TurnClock,
    ) -> None:
        platform = self.name()
        async with self.context.sequencer.hold(sender_id):
            clock.mark("waiting for the chat's earlier turns")
            await self.context.remember(sender_id, platform, event.user_id)
            clock.mark("pseudonym map")
            if event.kind is Kind.UNSUPPORTED:
                await output.send_text_message(sender_id, t(lang, TEXT_ONLY))
                return
            text, extra = await self._rasa_text(event, sender_id)
            if text is None:
                await output.send_text_message(sender_id, t(lang, EXPIRED_BUTTON))
                return
            if not text:
                return
            refusal = self.refusal(event, sender_id, text)
            if refusal is not None:
                await output.send_text_message(sender_id, t(lang, refusal))
                return
            MESSAGES.labels(channel=platform).inc()
            if await self._held(event, sender_id, output):
                logger.info("%s turn held by a handoff: for staff, the bot stays silent", platform)
                return
            clock.mark("handoff check")
            before = output.delivered
            metadata = {"channel": platform, "locale": event.locale, **extra}
            message = UserMessage(text, output, sender_id, input_channel=platform, metadata=metadata)
            try:
                async with self.typing(event), timed_turn(platform):
                    await self._bounded(on_new_message(message))
            except Exception as exc:  # noqa: BLE001 - the user must hear back even when Rasa fails
                logger.error("%s turn failed in Rasa: %s", platform, type(exc).__name__)
                await self.answer_degraded(event, sender_id)
            clock.mark("Rasa and the replies")
            clock.report(platform)
            if output.delivered == before:
                logger.warning("%s turn ended without a reply (%s)", platform, clock.summary())

    async def _bounded(self, turn: Awaitable[Any]) -> None:
        """Rasa's turn, cancelled after `timeout`: a turn that never finishes would otherwise
        hold its chat for ever (later turns queue behind it) with nothing logged. Where it was
        waiting is logged first (code locations only), then the user gets the error reply."""
        timeout = TURN_TIMEOUT_SECONDS
        task = asyncio.ensure_future(turn)
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if not done:
            logger.error(
                "%s turn did not finish in %.0f s, cancelled; it was waiting at: %s",
                self.name(),
                timeout,
                waiting_at(task),
            )
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            raise TurnTimeout
        task.result()

    def refusal(self, event: InboundEvent, sender_id: str, text: str) -> str | None:
        """The polite reply (msgid) instead of a turn (`bot.channels.limits.refusal`): a
        typed message over the length limit or a sender over the rate limit; else None."""
        limit = self.context.max_message_chars if event.kind is Kind.TEXT else len(text)
        return refusal(self.context.rate_limiter, sender_id, text, limit)


def try_again() -> HTTPResponse:
    """503 with Retry-After: the platform redelivers the update later."""
    return response.json(
        {"error": "try again"}, status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
    )


class TurnClock:
    """Where a turn's time went, logged only for a slow turn: phase names and seconds."""

    running: ClassVar[set[TurnClock]] = set()  # turns in progress, for the shutdown log

    def __init__(self) -> None:
        self._last = time.monotonic()
        self._phases: list[tuple[str, float]] = []

    def mark(self, phase: str) -> None:
        now = time.monotonic()
        self._phases.append((phase, now - self._last))
        self._last = now

    def summary(self, running: bool = False) -> str:
        phases = [f"{phase} {seconds:.1f} s" for phase, seconds in self._phases]
        if running:
            phases.append(f"then {time.monotonic() - self._last:.1f} s in the next phase, not finished")
        return ", ".join(phases)

    def report(self, platform: str, slow: float = SLOW_TURN_SECONDS) -> None:
        total = sum(seconds for _, seconds in self._phases)
        if total >= slow:
            logger.warning("%s turn took %.1f s: %s", platform, total, self.summary())


def parse_json(body: bytes | None) -> Any | None:
    """The JSON in a body, or None when it is not JSON (including nesting too deep to parse)."""
    try:
        return json.loads(body or b"")
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


__all__ = ["Attempt", "ButtonTextOutput", "WebhookInput", "deliver", "t"]
