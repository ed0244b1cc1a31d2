"""Fixtures for the security tests: an input channel mounted on a real Sanic server."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from sanic import Sanic


@pytest.fixture
async def serve_channel() -> AsyncIterator[Callable[..., Awaitable[str]]]:
    """`await serve_channel(channel, handler)` -> base URL of a Sanic server with the channel
    mounted as Rasa mounts it (`/webhooks/<name>/`)."""
    servers: list[Any] = []
    Sanic.test_mode = True

    async def start(channel: Any, handler: Callable[[Any], Awaitable[Any]]) -> str:
        app = Sanic(f"security_test_{uuid.uuid4().hex[:10]}")
        app.config.ACCESS_LOG = False
        app.blueprint(channel.blueprint(handler), url_prefix=f"/webhooks/{channel.name()}")
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(100)
        server = await app.create_server(sock=sock, return_asyncio_server=True, access_log=False)
        await server.startup()
        await server.start_serving()
        servers.append((server, channel))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"

    yield start
    for server, channel in servers:
        context = getattr(channel, "context", None)
        if context is not None:
            await context.tasks.drain(timeout=10)
        server.close()
        await server.wait_closed()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: end-to-end through a running Rasa server (slow, needs a model)")
