"""Turn ordering and background work for the webhooks.

Webhooks run the turn as a background task (`BackgroundTasks`, drained on shutdown), one
turn at a time per conversation in arrival order (`ChatSequencer`), with a "typing"
indicator when a turn takes a while (`Typing`). `RunningTurns` finds the turn of an update
still running in this process, so a redelivery waits for it instead of running it twice;
`RecentKeys` dedupes in memory while the shared dedupe store is down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

logger = logging.getLogger(__name__)


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

    def spawn(self, coro: Coroutine[Any, Any, Any], what: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(self._guard(coro, what))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def __len__(self) -> int:
        return len(self._tasks)

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
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._tasks and loop.time() < deadline:
            await asyncio.wait(set(self._tasks), timeout=max(0.0, deadline - loop.time()))


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


class RunningTurns:
    """The turns running in this process, by update key (a redelivery joins its turn)."""

    def __init__(self) -> None:
        self._turns: dict[str, asyncio.Task[Any]] = {}
        self._replied: set[str] = set()

    def get(self, key: str) -> asyncio.Task[Any] | None:
        return self._turns.get(key)

    def add(self, key: str, task: asyncio.Task[Any]) -> asyncio.Task[Any]:
        self._turns[key] = task

        def done(_: Any) -> None:
            self._turns.pop(key, None)
            self._replied.discard(key)

        task.add_done_callback(done)
        return task

    def mark_replied(self, key: str) -> None:
        """The turn of `key` has delivered its reply (it may still be finishing)."""
        if key in self._turns:
            self._replied.add(key)

    def replied(self, key: str) -> bool:
        return key in self._replied


class RecentKeys:
    """Keys seen in the last `ttl` seconds, in memory: dedupe while the shared store is down."""

    def __init__(self, ttl: float = 3600.0, limit: int = 100_000) -> None:
        self._ttl = ttl
        self._limit = limit
        self._seen: dict[str, float] = {}

    def first(self, key: str, now: float | None = None) -> bool:
        """True the first time `key` is seen within the TTL."""
        now = time.monotonic() if now is None else now
        if len(self._seen) >= self._limit:
            self._seen = {k: t for k, t in self._seen.items() if now - t < self._ttl}
        seen = self._seen.get(key)
        if seen is not None and now - seen < self._ttl:
            return False
        self._seen[key] = now
        return True
