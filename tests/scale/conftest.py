"""The channel tests' real-Sanic fixtures, reused for the chat-claim and shutdown tests, and
the `scale` marker: the multi-replica load run takes minutes, so `make test-scale` runs it
and `make test` does not."""

from __future__ import annotations

import os

from tests.channels.conftest import channel_db, context, serve  # noqa: F401 - pytest fixtures


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "scale: replicas behind nginx under load (`make test-scale`)")


def pytest_collection_modifyitems(config, items) -> None:
    if os.environ.get("SCALE_TESTS") == "1":
        return
    deselected = [item for item in items if item.get_closest_marker("scale")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker("scale")]
