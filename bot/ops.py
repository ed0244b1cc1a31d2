"""Operations endpoints on the Rasa server: `/health`, `/ready`, `/metrics`, and its limits.

Rasa mounts channels under `/webhooks/<name>/`; these belong at the root, where load
balancers and Prometheus look. `OpsInput` is a channel that receives no messages: `bot run`
always registers it, and its blueprint (`OpsBlueprint`), when Rasa registers it, adds the
three routes to the app and sets Sanic's request size limit to MAX_BODY_BYTES (Sanic's
default is 100 MB; every channel also checks its own, smaller, limit per route).

- `/health`: liveness, 200 while the process serves requests; it touches nothing else.
- `/ready`: readiness, 200 when the database, the tracker store, Redis (when REDIS_URL is
  set) and the action server (unless the actions run in-process) answer, else 503; each
  check names only the component.

Once the model is loaded, the blueprint also puts `bot.action_runner` on the agent.
- `/metrics`: Prometheus text format (`bot.metrics`).
"""

from __future__ import annotations

import asyncio
import urllib.request
from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

import bot.metrics  # noqa: F401 - registers the assistant's metrics, even before any turn
from bot.settings import Settings, get_settings, reachable_address

CHECK_TIMEOUT = 2.0


def _database(url: str) -> None:
    from bot.db import get_engine

    with get_engine(url).connect() as conn:
        conn.execute(sa.text("SELECT 1"))


def _redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=CHECK_TIMEOUT, socket_connect_timeout=CHECK_TIMEOUT)
    try:
        client.ping()
    finally:
        client.close()


def _action_server(host: str, port: int) -> None:
    with urllib.request.urlopen(f"http://{reachable_address(host)}:{port}/health", timeout=CHECK_TIMEOUT):
        pass


def readiness_checks(settings: Settings) -> dict[str, Callable[[], None]]:
    """The components a turn needs, each a call that raises when it is unavailable."""
    checks: dict[str, Callable[[], None]] = {
        "database": lambda: _database(settings.database_url),
        "tracker_store": lambda: _database(settings.tracker_store_url),
    }
    if not settings.actions_in_process:  # in-process actions (bot.action_runner) need no server
        checks["action_server"] = lambda: _action_server(settings.actions_host, settings.actions_port)
    if settings.redis_url:
        checks["redis"] = lambda: _redis(settings.redis_url or "")
    return checks


async def readiness(settings: Settings) -> dict[str, str]:
    """ "ok" or the error type per component, checked concurrently with a timeout."""

    async def run(check: Callable[[], None]) -> str:
        try:
            await asyncio.wait_for(asyncio.to_thread(check), CHECK_TIMEOUT + 1)
            return "ok"
        except Exception as exc:  # noqa: BLE001 - any failure means not ready; the type says why
            return type(exc).__name__

    checks = readiness_checks(settings)
    results = await asyncio.gather(*(run(check) for check in checks.values()))
    return dict(zip(checks, results, strict=True))


async def health(_: Request) -> HTTPResponse:
    return response.json({"status": "ok"})


async def ready(_: Request) -> HTTPResponse:
    checks = await readiness(get_settings())
    ok = all(result == "ok" for result in checks.values())
    return response.json(
        {"status": "ready" if ok else "not ready", "checks": checks}, status=200 if ok else 503
    )


async def metrics(_: Request) -> HTTPResponse:
    return response.raw(generate_latest(), content_type=CONTENT_TYPE_LATEST)


class OpsBlueprint(Blueprint):
    """A blueprint that, once registered on the app, adds the root operations routes."""

    def register(self, app: Any, options: Any) -> None:
        super().register(app, options)
        app.config.REQUEST_MAX_SIZE = get_settings().max_body_bytes
        for path, handler in (("/health", health), ("/ready", ready), ("/metrics", metrics)):
            app.add_route(handler, path, methods=["GET"], name=f"ops_{path.strip('/')}")
        app.register_listener(install_action_runner, "after_server_start")


async def install_action_runner(app: Any, _loop: Any) -> None:
    """Once Rasa has loaded the model (`before_server_start`), run the custom actions
    in-process or behind the never-silent wrapper (`bot.action_runner`)."""
    from bot.action_runner import install

    install(getattr(app.ctx, "agent", None), get_settings().actions_in_process)


class OpsInput(InputChannel):
    """Not a messaging channel: it carries the operations routes (see the module docstring)."""

    @classmethod
    def name(cls) -> str:
        return "ops"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> OpsInput:
        """Built by Rasa at start, after it configured logging: install our redaction
        (and JSON lines when LOG_FORMAT=json) on the server's log handlers."""
        from bot.logs import install_redaction

        install_redaction(json_lines=get_settings().log_format == "json")
        return cls()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        return OpsBlueprint("ops", __name__)
