"""The staff console served on a free local port from a background thread, so that tests
can use in-memory fakes (a subprocess could not share them) over real HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator

from sanic import Sanic

from bot.services import free_port, wait_for_http


@contextlib.contextmanager
def serving(app: Sanic) -> Iterator[str]:
    """Serve `app` until the block ends; yields its base URL."""
    # Sanic rewrites some of its own methods at each start ("touch-up"); a second app in
    # the same process can only do that in test mode, which keeps the originals.
    Sanic.test_mode = True
    port = free_port()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    state: dict = {}

    async def start() -> None:
        server = await app.create_server(
            host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False
        )
        assert server is not None
        await server.startup()
        await server.before_start()
        await server.after_start()
        state["server"] = server
        ready.set()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(30), "the staff console did not start"
    base = f"http://127.0.0.1:{port}"
    wait_for_http(f"{base}/healthz", 30)
    try:
        yield base
    finally:

        async def stop() -> None:
            server = state["server"]
            await server.before_stop()
            await server.close()
            await server.after_stop()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
