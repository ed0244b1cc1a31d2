"""One failure policy for every platform call that sends something to a user.

Transient errors are retried with exponential backoff, within a bounded total time
(SEND_RETRY_SECONDS, 30 s by default): flood control and rate limits (Telegram's 429 with
`retry_after`, which is honoured; Zalo's -32 and HTTP 429), server errors (5xx), network
errors and timeouts, an access token that was just refreshed. Anything else (the user
blocked the bot, a bad request) gives up at once. Every retry is counted in
`bot_send_retries_total{channel, reason}` and every reply given up in
`bot_send_failures_total`; the log names the reason as an error type or a platform code,
never with an id, a token or message text. Kept apart from the channels so that a
platform client (`zalo_api`) can use it alone.

A timeout is retried although the platform may have delivered the first attempt: a rare
duplicate is better than losing the reply of someone who may be in danger.

`ON_ACCEPTED` is how a platform client reports, from its own thread and before the event
loop hears of it, that the platform accepted a message of a turn: the webhook marks the
update handled there and then (`bot.channels.base`), so that a crash right after the reply
went out finds it marked (docs/reliability.md, "Measured").
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass

from bot.metrics import SEND_FAILURES, SEND_RETRIES

logger = logging.getLogger(__name__)

DEFAULT_BUDGET_SECONDS = 30.0
FIRST_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 8.0
MAX_ATTEMPTS = 12

# Set by a webhook's turn until its update is marked handled: call it (any thread, never
# raises) as soon as the platform answered 2xx to a message of the turn's reply.
ON_ACCEPTED: ContextVar[Callable[[], None] | None] = ContextVar("on_accepted", default=None)


@dataclass(frozen=True)
class Attempt:
    """The outcome of one platform call."""

    ok: bool
    retry_after: float | None = None  # transient: try again after at least this many seconds
    reason: str = ""  # for the log: an error type or platform code, never an id or text
    kind: str = "other"  # for the retry counter: 429, 5xx, network, timeout, rate_limited, token

    @classmethod
    def sent(cls) -> Attempt:
        return cls(True)

    @classmethod
    def transient(cls, reason: str, retry_after: float = 0.0, kind: str = "other") -> Attempt:
        return cls(False, retry_after, reason, kind)

    @classmethod
    def failed(cls, reason: str) -> Attempt:
        return cls(False, None, reason)


def backoff(retry: int) -> float:
    """The wait before retry number `retry` (0-based): 0.5, 1, 2, 4, 8, 8, ... seconds."""
    return min(MAX_BACKOFF_SECONDS, FIRST_BACKOFF_SECONDS * 2**retry)


async def deliver(
    attempt: Callable[[], Awaitable[Attempt]],
    what: str,
    budget: float = DEFAULT_BUDGET_SECONDS,
    max_attempts: int = MAX_ATTEMPTS,
) -> bool:
    """Run `attempt`, retrying transient failures while the next try starts within `budget`
    seconds of the first; True when sent."""
    channel = what.split(" ", 1)[0]
    started = time.monotonic()
    for tries in range(max_attempts):
        result = await attempt()
        if result.ok:
            return True
        if result.retry_after is None:
            return _give_up(what, channel, result.reason)
        wait = max(result.retry_after, backoff(tries)) if result.kind != "token" else 0.0
        if tries + 1 >= max_attempts or time.monotonic() - started + wait > budget:
            return _give_up(what, channel, f"{result.reason}, retries exhausted")
        SEND_RETRIES.labels(channel=channel, reason=result.kind).inc()
        logger.warning("%s: %s; retrying in %.1f s", what, result.reason, wait)
        await asyncio.sleep(wait)
    return False


def _give_up(what: str, channel: str, reason: str) -> bool:
    logger.warning("%s failed: %s", what, reason)
    SEND_FAILURES.labels(channel=channel).inc()
    return False
