"""Turn ordering and background work for the webhooks.

Webhooks answer at once and run the turn in the background (`BackgroundTasks`), one turn
at a time per conversation in arrival order, with a "typing" indicator when a turn takes a
while (`Typing`).

Arrival order is kept by a sequencer. In one process, `ChatSequencer` (a FIFO lock per
chat) is enough. With several replicas (`REDIS_URL`), one chat's updates can reach two
processes, e.g. while one replica drains before a restart and its chats move to the other:
`RedisChatSequencer` hands out a numbered ticket per chat in Redis when the webhook accepts
the update (atomic INCR, so in arrival order across replicas) and a turn runs only after
every lower ticket has finished. Rasa's own Redis lock store cannot do this: its ticket is
taken later, when the turn enters Rasa, and issuing it is a read-modify-write that races
across servers (RasaHQ/rasa#9213).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

logger = logging.getLogger(__name__)


class SequencerUnavailable(RuntimeError):
    """No ticket could be issued; the webhook answers 503 so the platform retries."""


class ChatSequencer:
    """One turn at a time per conversation, in arrival order (asyncio.Lock is FIFO)."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: Counter[str] = Counter()

    async def ticket(self, key: str) -> int | None:
        """Taken when the webhook accepts an update; in one process the lock's FIFO suffices."""
        return None

    @contextlib.asynccontextmanager
    async def hold(self, key: str, ticket: int | None = None) -> AsyncIterator[None]:
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


# Atomic: the ticket, and its "alive" mark (the first ticket of a chat, or of a chat whose
# keys expired, starts a fresh count).
_TICKET_SCRIPT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('DEL', KEYS[2]) end
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[1])
redis.call('SET', KEYS[3] .. n, '1', 'EX', ARGV[2])
return n
"""
# "Finished up to ticket n" only ever grows (a turn skipped as dead may still end late).
_FINISH_SCRIPT = """
local done = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > done then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) end
redis.call('DEL', KEYS[2])
return 1
"""
# Skip ticket done+1 when nobody keeps it alive any more (its replica died), unless another
# waiter already moved on.
_SKIP_SCRIPT = """
local done = tonumber(redis.call('GET', KEYS[1]) or '0')
if done == tonumber(ARGV[1]) and redis.call('EXISTS', KEYS[2] .. (done + 1)) == 0 then
  redis.call('SET', KEYS[1], done + 1, 'EX', ARGV[2])
  return 1
end
return 0
"""


class RedisChatSequencer:
    """Arrival order per conversation across replicas, with numbered tickets in Redis.

    `ticket` runs in the webhook before it answers 200; `hold` waits until the chat's
    previous tickets have finished. While a turn waits or runs, its replica keeps its
    ticket "alive" (a key refreshed every `heartbeat` seconds, expiring after `alive_for`).
    A ticket nobody keeps alive (its replica was killed) is skipped after `alive_for`
    seconds at most; a slow turn on a live replica is never overtaken. Keys hold a hash of
    the pseudonym, never a platform id, and expire a day after the chat's last update.
    """

    def __init__(
        self,
        url: str,
        alive_for: int = 30,
        heartbeat: float = 10.0,
        ttl_seconds: int = 86_400,
        prefix: str = "bot:turns:",
        poll: tuple[float, float] = (0.01, 0.1),
    ) -> None:
        self._url = url
        self._alive_for = alive_for
        self._heartbeat = heartbeat
        self._ttl = ttl_seconds
        self._prefix = prefix
        self._poll = poll
        self._client: Any = None

    def _redis(self) -> Any:
        if self._client is None:
            import redis.asyncio as aioredis

            # Created lazily so it binds to the server's running event loop.
            self._client = aioredis.from_url(self._url)
        return self._client

    def _keys(self, key: str) -> tuple[str, str, str]:
        """(tickets issued, finished up to, prefix of the "alive" marks) for a chat."""
        base = self._prefix + hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
        return f"{base}:issued", f"{base}:done", f"{base}:alive:"

    async def ticket(self, key: str) -> int | None:
        from redis.exceptions import RedisError

        try:
            number = await self._redis().eval(_TICKET_SCRIPT, 3, *self._keys(key), self._ttl, self._alive_for)
        except (RedisError, OSError) as exc:
            raise SequencerUnavailable(type(exc).__name__) from exc
        return int(number)

    async def _keep_alive(self, alive_key: str, stopped: asyncio.Event) -> None:
        from redis.exceptions import RedisError

        # Stopped by an event, not by cancelling: redis-py may turn a cancellation in the
        # middle of a command into a connection error, which would keep this loop alive.
        while True:
            try:
                await asyncio.wait_for(stopped.wait(), self._heartbeat)
                return
            except asyncio.TimeoutError:
                pass
            try:
                await self._redis().set(alive_key, b"1", ex=self._alive_for)
            except (RedisError, OSError) as exc:
                logger.debug("turn order: heartbeat failed (%s)", type(exc).__name__)

    async def _wait_turn(self, done_key: str, alive_prefix: str, ticket: int) -> None:
        from redis.exceptions import RedisError

        delay, longest = self._poll
        while True:
            try:
                done = int(await self._redis().get(done_key) or 0)
                if done >= ticket - 1:
                    return
                skipped = await self._redis().eval(_SKIP_SCRIPT, 2, done_key, alive_prefix, done, self._ttl)
            except (RedisError, OSError) as exc:
                # Answering matters more than order: go on, and say so.
                logger.warning("turn order: Redis unavailable (%s); turn runs unordered", type(exc).__name__)
                return
            if skipped:
                logger.warning("turn order: skipped a turn whose replica stopped keeping it alive")
                continue
            await asyncio.sleep(delay)
            delay = min(delay * 2, longest)

    @contextlib.asynccontextmanager
    async def hold(self, key: str, ticket: int | None = None) -> AsyncIterator[None]:
        from redis.exceptions import RedisError

        if ticket is None:  # an update accepted without a ticket: nothing to wait for
            yield
            return
        _, done_key, alive_prefix = self._keys(key)
        alive_key = f"{alive_prefix}{ticket}"
        stopped = asyncio.Event()
        heartbeat = asyncio.get_running_loop().create_task(self._keep_alive(alive_key, stopped))
        try:
            await self._wait_turn(done_key, alive_prefix, ticket)
            yield
        finally:
            stopped.set()
            try:
                await self._redis().eval(_FINISH_SCRIPT, 2, done_key, alive_key, ticket, self._ttl)
            except (RedisError, OSError) as exc:
                logger.warning("turn order: could not record a finished turn (%s)", type(exc).__name__)
            await heartbeat


def build_sequencer(redis_url: str | None) -> ChatSequencer | RedisChatSequencer:
    """Tickets in Redis when a URL is configured (several replicas), else in-process order."""
    return RedisChatSequencer(redis_url) if redis_url else ChatSequencer()


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
