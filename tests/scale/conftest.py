"""The channel tests' real-Sanic fixtures, reused for the turn-order and shutdown tests."""

from tests.channels.conftest import channel_db, context, serve  # noqa: F401 - pytest fixtures
