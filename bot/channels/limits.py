"""What one request and one sender may cost: body size, message length, messages a minute.

Every entrance (Telegram, Zalo, web chat, REST) applies the same three limits, before any
text processing, so no single request can hold the server for long:
- a body over the route's limit gets 413 before it is parsed (`body_too_large`);
- a message over MAX_MESSAGE_CHARS characters (or 4 bytes a character) is not read: the
  sender gets a polite reply asking for a shorter message (`over_length`);
- a sender over RATE_LIMIT_PER_MINUTE messages in the last minute gets a polite reply
  instead of a turn (`RateLimiter`), an emergency included only after the limit: the
  limit is high enough for a person and low enough to stop a script.

Replies are in the `channels` catalog. The rate limiter is per process (each replica
counts its own), which bounds what one sender costs each replica.
"""

from __future__ import annotations

import time
from collections import deque

from sanic.request import Request

TOO_LONG = "Your message is too long for me. Please send your question in a few sentences."
TOO_MANY = "You are sending messages very fast. Please wait a minute, then send your question again."
BYTES_PER_CHAR = 4  # UTF-8 never needs more for one character


def body_too_large(request: Request, limit: int) -> bool:
    """True when the request body exceeds `limit` bytes (as declared or as received)."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and len(declared) < 20 and int(declared) > limit:
        return True
    return len(request.body or b"") > limit


def over_length(text: str, max_chars: int) -> bool:
    """True when a message is longer than the bot reads (characters, or its UTF-8 bytes)."""
    if len(text) > max_chars:
        return True
    return len(text.encode("utf-8", "surrogatepass")) > max_chars * BYTES_PER_CHAR


def refusal(limiter: RateLimiter, sender_id: str, text: str, max_chars: int) -> str | None:
    """The polite reply (msgid) instead of a turn, or None to run it: TOO_LONG for a message
    over the length limit, TOO_MANY for a sender over the rate limit unless the message is
    about danger (an emergency is always answered; the text is bounded, the check linear)."""
    if over_length(text, max_chars):
        return TOO_LONG
    if limiter.allow(sender_id):
        return None
    from bot.emergency import detect_danger

    if detect_danger(text) is not None:
        return None
    from bot.metrics import RATE_LIMITED

    RATE_LIMITED.inc()
    return TOO_MANY


class RateLimiter:
    """At most `per_minute` messages per sender in any 60 s window (sliding, in memory)."""

    def __init__(self, per_minute: int, window: float = 60.0, max_senders: int = 100_000) -> None:
        self.per_minute = per_minute
        self.window = window
        self._max_senders = max_senders
        self._seen: dict[str, deque[float]] = {}

    def allow(self, sender_id: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        times = self._seen.get(sender_id)
        if times is None:
            if len(self._seen) >= self._max_senders:
                self._forget_idle(now)
            times = self._seen[sender_id] = deque()
        while times and now - times[0] >= self.window:
            times.popleft()
        if len(times) >= self.per_minute:
            return False
        times.append(now)
        return True

    def _forget_idle(self, now: float) -> None:
        for sender in [s for s, t in self._seen.items() if not t or now - t[-1] >= self.window]:
            del self._seen[sender]
