"""The assistant's Prometheus metrics, defined once; every module increments these.

Only counts and durations, labelled by channel at most: never a sender, a text or an id.
They live in the Rasa server process (the channels' turns, the tracker store's saves) and
are served by `bot.ops` on `/metrics`. Counters other modules may increment later
(handoffs) are defined here so the names stay stable.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator

from prometheus_client import Counter, Gauge, Histogram

MESSAGES = Counter("bot_messages_total", "Messages that reached a turn, by channel", ["channel"])
TURN_SECONDS = Histogram(
    "bot_turn_seconds",
    "Time from the start of a turn to its last reply, by channel",
    ["channel"],
    buckets=(0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30),
)
FALLBACKS = Counter("bot_fallbacks_total", "Turns that ended in the fallback")
HANDOFFS = Counter("bot_handoffs_total", "Conversations handed to staff")
SEND_FAILURES = Counter(
    "bot_send_failures_total", "Replies a platform did not accept, by channel", ["channel"]
)
RATE_LIMITED = Counter("bot_rate_limited_total", "Messages refused by the per-sender rate limit")
QUEUE_DEPTH = Gauge("bot_turns_in_flight", "Turns accepted by a webhook and not finished (queue depth)")
# --- reliability (branch reliab) ---
SEND_RETRIES = Counter(
    "bot_send_retries_total",
    "Platform calls retried after a transient error, by channel and reason (5xx, network, 429, ...)",
    ["channel", "reason"],
)
ACTION_FAILURES = Counter(
    "bot_action_failures_total", "Custom actions that failed and were answered with the fallback reply"
)
DEGRADED_REPLIES = Counter(
    "bot_degraded_replies_total",
    "Turns answered without the dialogue because a store or Rasa failed, by channel and kind",
    ["channel", "kind"],
)


@contextlib.asynccontextmanager
async def timed_turn(channel: str) -> AsyncIterator[None]:
    """Count the turn in flight and observe its duration."""
    started = time.perf_counter()
    QUEUE_DEPTH.inc()
    try:
        yield
    finally:
        QUEUE_DEPTH.dec()
        TURN_SECONDS.labels(channel=channel).observe(time.perf_counter() - started)
