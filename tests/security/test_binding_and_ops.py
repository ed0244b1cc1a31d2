"""Loopback by default, REST only with a token on a public address, action server on
loopback; /health, /ready and /metrics."""

from __future__ import annotations

import httpx
import pytest
from sanic import Sanic

from bot import ops
from bot.cli.run import OPS_CLASS, REST_CLASS, banner, channel_credentials, rest_enabled
from bot.settings import Settings, load_settings


def test_the_server_and_the_action_server_listen_on_loopback_by_default():
    settings = load_settings({})
    assert settings.host == "127.0.0.1" and settings.actions_host == "127.0.0.1"
    assert settings.host_is_loopback


@pytest.mark.parametrize(
    ("host", "token", "rest_on"),
    [
        ("127.0.0.1", None, True),
        ("::1", None, True),
        ("localhost", None, True),
        ("0.0.0.0", None, False),
        ("192.168.1.5", None, False),
        ("0.0.0.0", "t0ken", True),
    ],
)
def test_rest_is_off_on_a_public_address_without_a_token(host, token, rest_on):
    settings = Settings(host=host, rest_token=token)
    assert rest_enabled(settings) is rest_on
    credentials = channel_credentials(settings)
    assert (REST_CLASS in credentials) is rest_on
    assert "rest" not in credentials  # Rasa's own, trusting REST channel is never started
    assert OPS_CLASS in credentials
    if not rest_on:
        assert "REST_TOKEN is unset" in banner(settings, 5005)


def test_the_action_server_and_rasa_get_the_listen_addresses(tmp_path):
    from pathlib import Path

    from bot.cli.run import children_environment, rasa_command

    default = Settings()
    env = children_environment(default, 7001, 7002)
    assert env["SANIC_HOST"] == "127.0.0.1" and env["ACTIONS_PORT"] == "7002" and env["PORT"] == "7001"
    command = rasa_command(Path("m.tar.gz"), default, 7001, tmp_path / "e.yml", tmp_path / "c.yml")
    assert command[command.index("--interface") + 1] == "127.0.0.1"
    public = Settings(host="0.0.0.0", actions_host="10.0.0.2")
    assert children_environment(public, 1, 2)["SANIC_HOST"] == "10.0.0.2"
    command = rasa_command(Path("m.tar.gz"), public, 1, tmp_path / "e.yml", tmp_path / "c.yml")
    assert command[command.index("--interface") + 1] == "0.0.0.0"


@pytest.fixture
async def ops_app(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bot.db'}")
    monkeypatch.setenv("TRACKER_STORE_URL", f"sqlite:///{tmp_path / 'tracker.db'}")
    monkeypatch.setenv("ACTIONS_PORT", "1")  # nothing listens: the action server is down
    monkeypatch.setenv("ACTIONS_IN_PROCESS", "false")  # so /ready checks it
    monkeypatch.setenv("MAX_BODY_BYTES", "5000")
    import socket
    import uuid

    Sanic.test_mode = True
    app = Sanic(f"ops_{uuid.uuid4().hex[:8]}")
    channel = ops.OpsInput.from_credentials(None)
    app.blueprint(channel.blueprint(None), url_prefix="/webhooks/ops")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(10)
    server = await app.create_server(sock=sock, return_asyncio_server=True, access_log=False)
    await server.startup()
    await server.start_serving()
    yield app, f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.close()
    await server.wait_closed()


async def test_health_ready_and_metrics_at_the_root(ops_app):
    app, base = ops_app
    assert app.config.REQUEST_MAX_SIZE == 5000
    async with httpx.AsyncClient() as client:
        assert (await client.get(base + "/health")).json() == {"status": "ok"}
        ready = await client.get(base + "/ready")
        assert ready.status_code == 503
        checks = ready.json()["checks"]
        assert checks["database"] == "ok" and checks["tracker_store"] == "ok"
        assert checks["action_server"] != "ok" and "redis" not in checks
        metrics = await client.get(base + "/metrics")
        assert metrics.status_code == 200
        for name in (
            "bot_messages_total",
            "bot_turn_seconds",
            "bot_fallbacks_total",
            "bot_handoffs_total",
            "bot_send_failures_total",
            "bot_turns_in_flight",
        ):
            assert name in metrics.text


async def test_ready_is_200_when_every_component_answers(monkeypatch):
    monkeypatch.setattr(
        ops, "readiness_checks", lambda settings: {"database": lambda: None, "redis": lambda: None}
    )
    assert await ops.readiness(Settings()) == {"database": "ok", "redis": "ok"}


async def test_ready_checks_redis_when_configured():
    checks = ops.readiness_checks(Settings(redis_url="redis://127.0.0.1:1/0", actions_in_process=False))
    assert set(checks) == {"database", "tracker_store", "action_server", "redis"}
    # Actions run in the Rasa process by default: there is no action server to check.
    assert "action_server" not in ops.readiness_checks(Settings())
    results = await ops.readiness(Settings(redis_url="redis://127.0.0.1:1/0", database_url="sqlite://"))
    assert results["redis"] != "ok"


def test_the_servers_are_reached_where_they_listen():
    from bot.services import endpoints
    from bot.settings import reachable_address

    assert reachable_address("0.0.0.0") == "127.0.0.1" and reachable_address("::") == "127.0.0.1"
    assert reachable_address("10.0.0.2") == "10.0.0.2" and reachable_address("::1") == "[::1]"
    assert endpoints(6000)["action_endpoint"] == {"url": "http://127.0.0.1:6000/webhook"}
    assert endpoints(6000, "10.0.0.2")["action_endpoint"] == {"url": "http://10.0.0.2:6000/webhook"}
