"""Fixtures for the security tests: an input channel mounted on a real Sanic server, the
channel tests' own (`serve`, tests/channels/conftest.py), under the name these tests use."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from tests.channels.conftest import pytest_configure, serve  # noqa: F401 - a hook and a fixture

Serve = Callable[..., Awaitable[str]]


@pytest.fixture
def serve_channel(serve: Serve) -> Serve:  # noqa: F811 - `serve` is the fixture imported above
    """`await serve_channel(channel, handler)` -> base URL of a Sanic server with the channel
    mounted as Rasa mounts it (`/webhooks/<name>/`)."""
    return serve
