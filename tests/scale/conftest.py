"""The channel tests' real-Sanic fixtures, reused for the turn-order and shutdown tests, and
the `scale` marker."""

from __future__ import annotations

import os

from tests.channels.conftest import channel_db, context, serve  # noqa: F401 - pytest fixtures


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "scale: replicas behind nginx under load (`make test-scale`)")


def pytest_collection_modifyitems(config, items) -> None:
    """The multi-replica load run takes minutes: `make test-scale` runs it, `make test` does not."""
    if os.environ.get("SCALE_TESTS") == "1":
        return
    deselected = [item for item in items if item.get_closest_marker("scale")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker("scale")]
