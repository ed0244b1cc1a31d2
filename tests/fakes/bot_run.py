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


@contextlib.contextmanager
def bot_run(
    tmp: Path,
    settings: Mapping[str, str] | None = None,
    drop: tuple[str, ...] = (),
    ready_path: str = "/webhooks/rest/",
) -> Iterator[BotRun]:
    """Start `python -m bot run` with `settings` (environment variables) on top of the test
    environment minus REDIS_URL and the variables starting with `drop`; wait until
    `ready_path` answers (up to 7 minutes: the model loads TensorFlow), yield, stop."""
    require_model()
    port, actions_port, staff_port = free_port(), free_port(), free_port()
    ours = {
        "RASA_TELEMETRY_ENABLED": "false",
        "PORT": str(port),
        "ACTIONS_PORT": str(actions_port),
        "STAFF_PORT": str(staff_port),
        "DATABASE_URL": f"sqlite:///{tmp / 'bot.db'}",
        "TRACKER_STORE_URL": f"sqlite:///{tmp / 'tracker.db'}",
        "SENDER_ID_SECRET": "e2e-secret",
        **(settings or {}),
    }
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL" and not (drop and k.startswith(drop))}
    env.update(ours)
    stdout, stderr = tmp / "stdout.log", tmp / "stderr.log"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
    try:
        try:
            wait_for_http(f"http://127.0.0.1:{port}{ready_path}", timeout=420, process=process)
        except ServiceError as error:
            pytest.fail(f"`python -m bot run` did not start ({error}):\n{stderr.read_text()[-3000:]}")
        # The staff console starts after Rasa, and only then does `bot run` print its banner
        # and handle SIGTERM (cleaning up its runtime files): wait for it, so that a short
        # test module does not stop the server half-started.
        deadline = time.monotonic() + 180
        while "Press Ctrl+C" not in stdout.read_text(encoding="utf-8", errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"`python -m bot run` did not finish starting:\n{stderr.read_text()[-3000:]}")
            time.sleep(0.5)
        yield BotRun(
            base=f"http://127.0.0.1:{port}",
            staff=f"http://127.0.0.1:{staff_port}/",
            env=ours,
            database_url=ours["DATABASE_URL"],
            tracker_db=Path(ours["TRACKER_STORE_URL"].split(":///", 1)[1]),
            stdout=stdout,
            stderr=stderr,
            process=process,
        )
    finally:
        # Our own child and its process group only (started in its own session above).
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGTERM)
