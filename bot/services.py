"""Starting the pieces of a running assistant: paths, the model, the action server.

Shared by `python -m bot run` (the servers) and `python -m bot ask` (one process that
answers a list of questions), so both run the same configuration.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path

import yaml

from bot.settings import REPO_ROOT, Settings, child_environment, get_settings, reachable_address

MODELS_DIR = REPO_ROOT / "models"


class ServiceError(RuntimeError):
    """A service could not start; the message says what to do."""


def newest_model(models_dir: Path | None = None, settings: Settings | None = None) -> Path:
    """MODEL when set (it must exist), else the newest archive in `models_dir` (MODELS_DIR)."""
    settings = settings or get_settings()
    models_dir = models_dir or settings.models_dir
    configured = settings.model
    if configured is not None:
        if not configured.exists():
            raise ServiceError(f"MODEL={configured} does not exist")
        return configured
    models = sorted(models_dir.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise ServiceError(f"No trained model in {models_dir}: run `make train` first.")
    return models[-1]


def endpoints(action_port: int, action_host: str = "127.0.0.1") -> dict:
    """Rasa's endpoints for `bot run`: the committed endpoints.yml with the action server's
    address. The stores read their URLs from the settings, so this holds no password."""
    config = yaml.safe_load((REPO_ROOT / "endpoints.yml").read_text(encoding="utf-8"))
    config["action_endpoint"] = {"url": f"http://{reachable_address(action_host)}:{action_port}/webhook"}
    return config


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, timeout: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise ServiceError(f"process for {url} exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise ServiceError(f"{url} did not answer within {timeout:.0f} s")


def start_action_server(
    port: int, env: Mapping[str, str] | None = None, quiet: bool = False, stderr: int | None = None
) -> subprocess.Popen:
    """The rasa-sdk action server serving `actions/`, answering on /health when ready.

    It listens on ACTIONS_HOST (loopback by default: it has no authentication); rasa_sdk
    reads its address from SANIC_HOST only."""
    child_env = child_environment({"SANIC_HOST": get_settings().actions_host, **(env or {})})
    process = subprocess.Popen(
        [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)],
        cwd=REPO_ROOT,
        env=child_env,
        stdout=subprocess.DEVNULL if quiet else None,
        stderr=subprocess.DEVNULL if quiet else stderr,
    )
    return process


def staff_console_url(settings: Settings) -> str:
    """Where staff open the console on this machine (a wildcard address means localhost)."""
    host = settings.staff_host
    if host in ("0.0.0.0", "::", ""):
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.staff_port}/"


@contextlib.contextmanager
def running_action_server(port: int | None = None, quiet: bool = True) -> Iterator[int]:
    """An action server for the duration of the block; yields its port."""
    port = port or free_port()
    process = start_action_server(port, quiet=quiet)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health", timeout=90, process=process)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
