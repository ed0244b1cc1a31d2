"""Fixtures of the reliability tests: the handoff fixtures (database, settings pointing at
the platform fakes) and the channel tests' Sanic server."""

from tests.channels.conftest import channel_db, context, serve  # noqa: F401
from tests.handoff.conftest import db_url, engine, env  # noqa: F401


def pytest_configure(config) -> None:  # noqa: ANN001 - pytest's hook
    config.addinivalue_line("markers", "e2e: end-to-end through a running Rasa server (slow, needs a model)")
