"""`python -m bot run` started for an end-to-end test, and stopped after it: one helper for
every e2e module (channels, conversations, handoff, staff console), so the start, the wait,
the skip without a model and the clean stop are written once.

The server runs in its own session on free ports with SQLite files in the test's directory;
only the process group it started is stopped. Without a trained model in models/ the test is
skipped, unless REQUIRE_SERVICES=1, which makes that a failure.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.services import ServiceError, free_port, wait_for_http

REPO_ROOT = Path(__file__).resolve().parents[2]


def require_model() -> None:
    """Skip (or, with REQUIRE_SERVICES=1, fail) when no model has been trained."""
    if not list((REPO_ROOT / "models").glob("*.tar.gz")):
        reason = "no trained model in models/ (run `make train`)"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"{reason}, and REQUIRE_SERVICES=1 forbids skipping")
        pytest.skip(reason)


@dataclass
class BotRun:
    base: str  # the Rasa server, e.g. http://127.0.0.1:PORT
    staff: str  # the staff console, with a trailing "/"
    env: dict[str, str]  # the variables set for this run (the settings a test may share)
    database_url: str
    tracker_db: Path
    stdout: Path
    stderr: Path
    process: subprocess.Popen = field(repr=False)


def environment(
    tmp: Path, settings: Mapping[str, str] | None = None, drop: tuple[str, ...] = (), port: int = 0
) -> tuple[dict[str, str], dict[str, str]]:
    """The environment of a `bot run` on free ports (Rasa on `port` when given) with SQLite
    files in `tmp`: the test environment minus REDIS_URL and the variables starting with
    `drop`, then `settings` on top. Returns it and the variables set here."""
    ours = {
        "RASA_TELEMETRY_ENABLED": "false",
        "PORT": str(port or free_port()),
        "ACTIONS_PORT": str(free_port()),
        "STAFF_PORT": str(free_port()),
        "DATABASE_URL": f"sqlite:///{tmp / 'bot.db'}",
        "TRACKER_STORE_URL": f"sqlite:///{tmp / 'tracker.db'}",
        "SENDER_ID_SECRET": "e2e-secret",
        **(settings or {}),
    }
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL" and not (drop and k.startswith(drop))}
    env.update(ours)
    return env, ours


def start(
    env: Mapping[str, str], stdout: Path, stderr: Path, ready_url: str, timeout: float = 420
) -> subprocess.Popen:
    """`python -m bot run` in its own session, logging to `stdout` and `stderr`, once
    `ready_url` answers (up to 7 minutes: the model loads TensorFlow); a failure to start
    fails the test with the end of its log."""
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=REPO_ROOT,
            env=dict(env),
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
    try:
        wait_for_http(ready_url, timeout=timeout, process=process)
    except ServiceError as error:
        stop(process)
        pytest.fail(f"`python -m bot run` did not start ({error}):\n{stderr.read_text()[-3000:]}")
    return process


def stop(process: subprocess.Popen, timeout: float = 30, group_signal: int = signal.SIGTERM) -> None:
    """SIGTERM (as systemd does), SIGKILL after `timeout`; then `group_signal` to what is
    left of its process group: our own child's only (started in its own session)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, group_signal)


@contextlib.contextmanager
def bot_run(
    tmp: Path,
    settings: Mapping[str, str] | None = None,
    drop: tuple[str, ...] = (),
    ready_path: str = "/webhooks/rest/",
) -> Iterator[BotRun]:
    """Start `python -m bot run` with `settings` (environment variables) on top of the test
    environment minus REDIS_URL and the variables starting with `drop`; wait until
    `ready_path` answers and the whole of `bot run` has started, yield, stop."""
    require_model()
    env, ours = environment(tmp, settings, drop)
    stdout, stderr = tmp / "stdout.log", tmp / "stderr.log"
    process = start(env, stdout, stderr, f"http://127.0.0.1:{ours['PORT']}{ready_path}")
    try:
        # The staff console starts after Rasa, and only then does `bot run` print its banner:
        # wait for it, so that a short test module does not stop the server half-started.
        deadline = time.monotonic() + 180
        while "Press Ctrl+C" not in stdout.read_text(encoding="utf-8", errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"`python -m bot run` did not finish starting:\n{stderr.read_text()[-3000:]}")
            time.sleep(0.5)
        yield BotRun(
            base=f"http://127.0.0.1:{ours['PORT']}",
            staff=f"http://127.0.0.1:{ours['STAFF_PORT']}/",
            env=ours,
            database_url=ours["DATABASE_URL"],
            tracker_db=Path(ours["TRACKER_STORE_URL"].split(":///", 1)[1]),
            stdout=stdout,
            stderr=stderr,
            process=process,
        )
    finally:
        stop(process)
