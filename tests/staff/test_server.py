"""The console served from a thread of `bot run` (bot/staff/server.py): it answers, it
stops, a taken port is an error `bot run` can report, and it reads the settings `bot run`
made for this start (the ports, the model-swap token)."""

from __future__ import annotations

import os
import socket
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sanic import Sanic

from bot.cli.run import children_environment, share_with_console
from bot.services import free_port
from bot.settings import Settings, get_settings, load_settings
from bot.staff.server import ConsoleError, start_in_thread


def _settings(tmp_path: Path, port: int) -> Settings:
    return load_settings({"DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}", "STAFF_PORT": str(port)})


def test_serves_in_a_thread_until_stopped(tmp_path: Path) -> None:
    Sanic.test_mode = True  # a second app in one test process (tests/staff/server.py)
    port = free_port()
    console = start_in_thread(_settings(tmp_path, port))
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as reply:
            assert reply.status == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=10) as reply:
            assert b'name="csrf"' in reply.read()
    finally:
        console.stop()
    assert not console.thread.is_alive()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5)


def test_a_taken_port_is_an_error_not_a_crash(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConsoleError, match=f"cannot listen on 127.0.0.1:{port}"):
            start_in_thread(_settings(tmp_path, port))


def test_the_console_reads_what_bot_run_made_for_this_start(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PORT", "ACTIONS_PORT", "MODEL_SWAP_TOKEN"):
        monkeypatch.setenv(name, os.environ.get(name, ""))  # restored after the test
    monkeypatch.delenv("MODEL_SWAP_TOKEN")
    env = children_environment(get_settings(), 6105, 6155)
    share_with_console(env)
    settings = get_settings()
    assert (settings.port, settings.actions_port) == (6105, 6155)
    assert settings.model_swap_token is not None
    assert settings.model_swap_token.get_secret_value() == env["MODEL_SWAP_TOKEN"]
