"""Fixtures of the reliability tests: the handoff fixtures (database, settings pointing at
the platform fakes) and the channel tests' Sanic server."""

from tests.channels.conftest import channel_db, context, serve  # noqa: F401
from tests.handoff.conftest import db_url, engine, env  # noqa: F401
