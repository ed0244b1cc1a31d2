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


def waiting_at(task: asyncio.Task[Any]) -> str:
    """Where a task is waiting: its chain of awaits, innermost first, as code locations only
    (file:line function), never values, so it can be logged. py-spy shows threads, not
    coroutines; this is how a turn stuck on a future shows up."""
    chain: list[str] = []
    coro: Any = task.get_coro()
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is not None:
            path = frame.f_code.co_filename.rsplit("site-packages/", 1)[-1]
            chain.append(f"{path}:{frame.f_lineno} {frame.f_code.co_name}")
        waited = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
        if waited is None:
            break
        if not hasattr(waited, "cr_frame") and not hasattr(waited, "gi_frame"):
            chain.append(f"waiting on {type(waited).__name__}")
            break
        coro = waited
    return " <- ".join(reversed(chain))


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

    def where(self) -> list[str]:
        """Where each task in flight is waiting (`waiting_at`; `log_where` on SIGUSR1)."""
        return [waiting_at(task) for task in list(self._tasks)]

    def log_where(self) -> None:
        for place in self.where():
            logger.warning("background task waiting at: %s", place)

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait for the work in flight (tests, graceful shutdown)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._tasks and loop.time() < deadline:
            await asyncio.wait(set(self._tasks), timeout=max(0.0, deadline - loop.time()))

    async def cancel_all(self, timeout: float = 2.0) -> None:
        """Cancel the work in flight and give it `timeout` seconds to unwind (shutdown)."""
        tasks = set(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)


class Typing:
    """Shows a "typing" indicator while a turn takes longer than `after` seconds.

    When the turn ends, the indicator is cancelled and given `unwind` seconds to stop, never
    more: a platform call cancelled mid-request can take for ever to unwind (an HTTP client's
    shielded clean-up), and waiting for it held the whole turn, and every later turn of its
    chat, for ever. This was the stall of the multi-replica runs (docs/deploy.md).
    """

    def __init__(
        self, send_action: Callable[[], Awaitable[Any]], after: float, every: float = 4.5, unwind: float = 1.0
    ) -> None:
        self._send_action = send_action
        self._after = after
        self._every = every
        self._unwind = unwind
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
            done, _ = await asyncio.wait({self._task}, timeout=self._unwind)
            if not done:
                logger.warning("typing indicator did not stop within %.0f s; left behind", self._unwind)
            elif not self._task.cancelled() and self._task.exception() is not None:
                logger.debug("typing indicator failed: %s", type(self._task.exception()).__name__)


class RunningTurns:
    """The turns running in this process, by update key (a redelivery joins its turn)."""

    def __init__(self) -> None:
        self._turns: dict[str, asyncio.Task[Any]] = {}
        self._replied: set[str] = set()
        self._written: set[str] = set()  # replied, and the store has it: no second write

    def get(self, key: str) -> asyncio.Task[Any] | None:
        return self._turns.get(key)

    def add(self, key: str, task: asyncio.Task[Any]) -> asyncio.Task[Any]:
        self._turns[key] = task

        def done(_: Any) -> None:
            self._turns.pop(key, None)
            self._replied.discard(key)
            self._written.discard(key)

        task.add_done_callback(done)
        return task

    def mark_replied(self, key: str) -> None:
        """The turn of `key` has delivered its reply (it may still be finishing)."""
        if key in self._turns:
            self._replied.add(key)

    def replied(self, key: str) -> bool:
        return key in self._replied

    def mark_written(self, key: str) -> None:
        """The dedupe store has recorded the update as handled."""
        if key in self._turns:
            self._written.add(key)

    def marked(self, key: str) -> bool:
        return key in self._written


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
