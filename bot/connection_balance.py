"""Keep-alive connections spread evenly over the Rasa workers.

With several workers (`RASA_WORKERS`, `bot.rasa_server`) each worker listens on the port
with SO_REUSEPORT, and the kernel gives each new connection to a worker by a hash of its
addresses: a coin toss per connection. A client that keeps its connection open (Telegram's
webhook connections, a proxy with keep-alive, the load of `make bench`) stays with the
worker it got, and the tosses rarely come out even: measured 13 and 7 of 20 connections,
and the users on the busier worker waited about twice as long as the others (20 users:
p50 195 ms, p95 378 ms).

Here the workers note how many connections each holds in a small table in memory they
share (made before the fork, one slot per worker, each written only by its worker). After
a response, a worker that holds at least two connections more than the least busy one
closes that connection (`Connection: close`); the client's next connection is tossed
again, and within a few requests the counts are even. A closed connection costs the
client a new TCP connection (a fraction of a millisecond on a local network or behind the
proxy of docs/deploy.md).
"""

from __future__ import annotations

import multiprocessing
from typing import Any

_TABLE: dict[str, Any] = {}  # "counts": the shared slots; "me": this worker's slot
MARGIN = 2  # connections more than the least busy worker before one is closed


def share(workers: int) -> None:
    """Make the table for `workers` workers (in the main process, before the fork)."""
    _TABLE["counts"] = multiprocessing.RawArray("i", workers)
    _TABLE.pop("me", None)


def join(slot: int) -> None:
    """This process is worker `slot` (in the worker, after the fork)."""
    _TABLE["me"] = slot


def should_close(mine: int, counts: Any, me: int) -> bool:
    """True when this worker holds `MARGIN` connections or more above the least busy other."""
    others = [count for slot, count in enumerate(counts) if slot != me]
    return bool(others) and mine >= min(others) + MARGIN


async def after_response(request: Any, _response: Any) -> None:
    """Sanic response middleware: note this worker's connections; close this one when it is
    the busier worker's (module docstring)."""
    counts, me = _TABLE.get("counts"), _TABLE.get("me")
    stream = getattr(request, "stream", None)
    protocol = getattr(stream, "protocol", None)
    connections = getattr(protocol, "connections", None)
    if counts is None or me is None or stream is None or connections is None:
        return
    mine = len(connections)
    counts[me] = mine
    if should_close(mine, counts, me):
        stream.keep_alive = False
        counts[me] = mine - 1
