"""Fixtures for the channel tests: the fake platform servers, and a channel mounted on a real
Sanic server (127.0.0.1, free port) with a stub in place of Rasa's message handler."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from channel_fakes import TELEGRAM_TOKEN, ZALO_APP_ID, ZALO_APP_SECRET, FakeTelegram, FakeZalo
from sanic import Sanic

from bot.channels.common import ChannelContext
from bot.settings import Settings


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegram]:
    fake = FakeTelegram(TELEGRAM_TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_zalo() -> Iterator[FakeZalo]:
    fake = FakeZalo(ZALO_APP_ID, ZALO_APP_SECRET, "access-0", "refresh-0").start()
    yield fake
    fake.stop()


@pytest.fixture
def redis_url() -> str:
    """Redis for one test; skipped when unreachable unless REQUIRE_SERVICES=1 (then it fails).

    Same rule as the repository-wide helpers in tests/conftest.py, which a test module in
    this directory cannot import by name (both files are called conftest)."""
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    parsed = urlparse(url)
    try:
        socket.create_connection((parsed.hostname, parsed.port or 6379), timeout=1).close()
    except OSError:
        reason = f"Redis not reachable at {url}"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"{reason}, and REQUIRE_SERVICES=1 forbids skipping")
        pytest.skip(reason)
    return url


@pytest.fixture
def channel_db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'channels.db'}"


@pytest.fixture
def context(channel_db: str) -> ChannelContext:
    return ChannelContext.from_settings(Settings(database_url=channel_db, sender_id_secret="test-secret"))


class StubRasa:
    """Stands in for `agent.handle_message`: records messages, replies with `respond`."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.respond: Callable[[Any], Awaitable[None]] | None = None

    async def __call__(self, message: Any) -> None:
        self.messages.append(message)
        if self.respond is not None:
            await self.respond(message)
        else:
            await message.output_channel.send_text_message(message.sender_id, f"echo {len(self.messages)}")


@pytest.fixture
def stub_rasa() -> StubRasa:
    return StubRasa()


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
        await channel.context.tasks.drain(timeout=10)
        server.close()
        await server.wait_closed()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: end-to-end through a running Rasa server (slow, needs a model)")
