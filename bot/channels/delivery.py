"""One failure policy for every platform call that sends something to a user.

Transient errors (flood control, rate limits, an access token that was just refreshed)
are waited out and retried a few times; anything else gives up at once. The reason is
logged as an error type or a platform code, never with an id, a token or message text.
Kept apart from the channels so that a platform client (`zalo_api`) can use it alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.metrics import SEND_FAILURES

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attempt:
    """The outcome of one platform call."""

    ok: bool
    retry_after: float | None = None  # transient: try again after this many seconds
    reason: str = ""  # for the log: an error type or platform code, never an id or text

    @classmethod
    def sent(cls) -> Attempt:
        return cls(True)

    @classmethod
    def transient(cls, reason: str, retry_after: float) -> Attempt:
        return cls(False, retry_after, reason)

    @classmethod
    def failed(cls, reason: str) -> Attempt:
        return cls(False, None, reason)


async def deliver(attempt: Callable[[], Awaitable[Attempt]], what: str, max_retries: int = 3) -> bool:
    """Run `attempt`, retrying transient failures up to `max_retries` times; True when sent."""
    for tries in range(max_retries + 1):
        result = await attempt()
        if result.ok:
            return True
        if result.retry_after is None or tries == max_retries:
            logger.warning("%s failed: %s", what, result.reason)
            SEND_FAILURES.labels(channel=what.split(" ", 1)[0]).inc()
            return False
        logger.warning("%s: %s; retrying in %.0f s", what, result.reason, result.retry_after)
        await asyncio.sleep(result.retry_after)
    return False
