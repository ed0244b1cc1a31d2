"""One chat on one replica at a time: the rule that keeps a chat's replies in order behind
several Rasa replicas, and that keeps Rasa's Redis lock store out of its cross-server race.

nginx routes every update of a chat to the same replica (a hash of the chat id in the
webhook body, deploy/nginx.conf.template), and inside a replica `ChatSequencer` runs the
chat's turns one at a time in arrival order. A chat moves to another replica only when its
replica stops (SIGTERM, a crash) and moves back when it returns; those moves are where
order could break and where two replicas could work on one conversation at once.

Rasa's own lock store does not make that safe: `RedisLockStore` reads, changes and writes
back a JSON list of tickets without any atomicity, so two servers working on one
conversation can lose a ticket, or write back a lock another server has just deleted. A
turn then waits for a ticket that will never be served, silently (Rasa logs it at DEBUG)
and for ever (`tests/scale/test_chat_claims.py` replays that interleaving). Rather than
fix Rasa's lock, the webhook never lets two replicas hold one chat: it takes a claim
before it acknowledges an update.

`ChatClaims.take` runs before the webhook answers 200 and the turn releases the claim when
it has finished (reply sent). Across replicas the claims live in one Redis hash per chat
(field: replica, value: turns in hand), changed by Lua scripts so that checking and taking
are one step. An update is refused (the webhook answers 503, nginx passes it to the next
replica, a platform retries later) when another replica still has turns of that chat, or
when this replica is stopping: a stopping replica takes nothing new and finishes what it
has, and its chats move once their last turn here has finished (until then the other
replicas refuse them too, so a chat's later update never overtakes an earlier one). A replica killed mid-turn leaves its
claim behind until the key expires (`ttl_seconds`), so its chats wait at most that long.
Keys hold a hash of the pseudonym, never a platform id. Without Redis (one process) only
the stopping rule applies. Redis failing must not silence the bot: the update is then
taken, unordered across replicas, and a warning logged.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections import Counter
from typing import Any

logger = logging.getLogger(__name__)

# KEYS[1]: the chat's hash; ARGV: this replica, ttl. 1 taken, 0 refused.
_TAKE = """
local mine = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if mine <= 0 then
  local fields = redis.call('HGETALL', KEYS[1])
  for i = 1, #fields, 2 do
    if fields[i] ~= ARGV[1] and tonumber(fields[i + 1]) > 0 then return 0 end
  end
end
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""
_RELEASE = """
local left = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
if left <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
return left
"""
_RELEASE_ALL = """
for _, key in ipairs(KEYS) do redis.call('HDEL', key, ARGV[1]) end
return #KEYS
"""


class ChatClaims:
    """Claims on chats, per replica; see the module docstring."""

    def __init__(
        self, redis_url: str | None = None, ttl_seconds: int = 120, prefix: str = "bot:chat-claims:"
    ) -> None:
        self._url = redis_url
        self._ttl = ttl_seconds
        self._prefix = prefix
        self._client: Any = None
        self.replica = uuid.uuid4().hex[:12]
        self.local: Counter[str] = Counter()
        self.stopping = False

    def _redis(self) -> Any:
        if self._client is None:
            import redis.asyncio as aioredis

            # Created lazily, so that it binds to the server's running event loop.
            self._client = aioredis.from_url(self._url, socket_timeout=5.0, socket_connect_timeout=2.0)
        return self._client

    def _key(self, chat: str) -> str:
        return self._prefix + hashlib.sha256(chat.encode("utf-8")).hexdigest()[:32]

    def in_hand(self, chat: str) -> bool:
        """True while this replica has accepted turns of `chat` that have not finished."""
        return self.local[chat] > 0

    async def take(self, chat: str) -> bool:
        """Claim one turn of `chat` for this replica; False when the update must be refused."""
        if self.stopping:
            return False
        if self._url:
            from redis.exceptions import RedisError

            try:
                taken = await self._redis().eval(_TAKE, 1, self._key(chat), self.replica, self._ttl)
            except (RedisError, OSError) as exc:
                logger.warning(
                    "chat claims: Redis unavailable (%s); turn taken unordered", type(exc).__name__
                )
                taken = 1
            if not int(taken):
                return False
        self.local[chat] += 1
        return True

    async def release_all(self) -> None:
        """Give up every claim of this replica (it stops with turns unfinished: they are lost
        either way, and their chats must not wait for the claims to expire)."""
        chats, self.local = list(self.local), Counter()
        if not self._url or not chats:
            return
        from redis.exceptions import RedisError

        try:
            await self._redis().eval(_RELEASE_ALL, len(chats), *map(self._key, chats), self.replica)
        except (RedisError, OSError) as exc:
            logger.warning("chat claims: could not give up the claims (%s)", type(exc).__name__)

    async def release(self, chat: str) -> None:
        """The turn claimed by `take` has finished."""
        if chat not in self.local:
            return  # given up by `release_all`
        self.local[chat] -= 1
        if self.local[chat] <= 0:
            del self.local[chat]
        if not self._url:
            return
        from redis.exceptions import RedisError

        try:
            await self._redis().eval(_RELEASE, 1, self._key(chat), self.replica)
        except (RedisError, OSError) as exc:
            # The claim expires by itself (`ttl_seconds`).
            logger.warning("chat claims: could not release a claim (%s)", type(exc).__name__)
