"""bot/connection_balance.py: the busier worker closes a keep-alive connection after its
response, until the workers hold about as many connections each."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from bot import connection_balance


def _request(open_connections: int) -> SimpleNamespace:
    protocol = SimpleNamespace(connections=set(range(open_connections)))
    return SimpleNamespace(stream=SimpleNamespace(protocol=protocol, keep_alive=True))


def test_only_a_worker_two_connections_above_the_least_busy_closes_one():
    assert connection_balance.should_close(12, [12, 10], 0)
    assert not connection_balance.should_close(11, [11, 10], 0)
    assert not connection_balance.should_close(10, [10, 12], 0)
    assert connection_balance.should_close(9, [4, 9, 7], 1)  # three workers: the least busy counts
    assert not connection_balance.should_close(30, [30], 0)  # alone: nothing to balance


def test_the_response_middleware_notes_the_count_and_closes_on_the_busier_worker():
    connection_balance.share(2)
    try:
        connection_balance.join(1)
        connection_balance._TABLE["counts"][0] = 7
        busy = _request(10)
        asyncio.run(connection_balance.after_response(busy, None))
        assert busy.stream.keep_alive is False
        assert connection_balance._TABLE["counts"][1] == 9  # the one closing is counted out
        even = _request(8)
        asyncio.run(connection_balance.after_response(even, None))
        assert even.stream.keep_alive is True and connection_balance._TABLE["counts"][1] == 8
    finally:
        connection_balance._TABLE.clear()
    alone = _request(50)  # one worker (no table): never closes
    asyncio.run(connection_balance.after_response(alone, None))
    assert alone.stream.keep_alive is True
