"""The channel fixtures (a database, a channel context, a Sanic server per channel) for the
letter delivery tests: the same as the channel tests use."""

from tests.channels.conftest import channel_db, context, serve  # noqa: F401 - fixtures
