"""Fixtures for the channel tests: a channel mounted on a real Sanic server (127.0.0.1, free
port), its database and context. The platform fakes and the Rasa stub are in the root conftest.
The security tests use the same server (tests/security/conftest.py imports it)."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sanic import Sanic

from bot.channels.context import ChannelContext
from bot.settings import Settings


@pytest.fixture
def channel_db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'channels.db'}"


@pytest.fixture
def context(channel_db: str) -> ChannelContext:
    return ChannelContext.from_settings(Settings(database_url=channel_db, sender_id_secret="test-secret"))


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., Awaitable[str]]]:
    """`await serve(channel, handler)` -> the base URL of a Sanic server with the channel mounted."""
    servers: list[Any] = []

    # Lets several Sanic apps start in one process (Sanic re-patches its protocol per app).
    Sanic.test_mode = True

    async def start(channel: Any, handler: Callable[[Any], Awaitable[Any]]) -> str:
        app = Sanic(f"channels_test_{uuid.uuid4().hex[:10]}")
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
        context = getattr(channel, "context", None)  # the REST channel has none
        if context is not None:
            await context.tasks.drain(timeout=10)
        server.close()
        await server.wait_closed()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: end-to-end through a running Rasa server (slow, needs a model)")
