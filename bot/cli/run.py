"""`python -m bot run`: the assistant with its action server, directory and channels.

Embedded defaults so that a fresh clone runs with no set-up: SQLite files under var/ for
the tracker store and the directory, the REST webhook and the local web chat page always
on, Telegram and Zalo when their variables are set. Ports from PORT and ACTIONS_PORT.

Start-up is quiet: the libraries' deprecation warnings are dropped until the banner
(`bot.logs.pass_stderr_quietly`); errors and everything after the start pass through.

Before starting, the database is migrated (`bot.db`) and the directory loaded. Rasa gets
the committed endpoints.yml (with the action server's port) and the channels that are on;
both files are written to a private temporary directory that is removed on exit, and
neither holds a secret: the stores and channels read theirs from `bot.settings`.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import yaml

from bot.logs import pass_stderr_quietly
from bot.services import (
    REPO_ROOT,
    ServiceError,
    endpoints,
    newest_model,
    start_action_server,
    wait_for_http,
)
from bot.settings import Settings, child_environment, get_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="start the assistant (Rasa server + action server + channels)",
        description=(
            "Start the assistant on embedded defaults. Environment: PORT (5005), "
            "ACTIONS_PORT (5055), DATABASE_URL, TRACKER_STORE_URL, REDIS_URL, MODEL, "
            "SENDER_ID_SECRET, TELEGRAM_* and ZALO_* (see README)."
        ),
    )
    parser.add_argument("--port", type=int, default=None, help="default: PORT (5005)")
    parser.add_argument("--actions-port", type=int, default=None, help="default: ACTIONS_PORT (5055)")
    parser.set_defaults(func=run_server)


def channel_credentials(settings: Settings) -> dict:
    """REST and the web chat always; Telegram/Zalo when configured (class names only)."""
    from bot.channels.credentials import WEBCHAT_CLASS, build_credentials

    return {"rest": None, WEBCHAT_CLASS: None, **build_credentials(settings)}


def _write_private(path: Path, data: dict) -> None:
    """Readable by this user only (the files hold no secret, but paths and ports are nobody's business)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        yaml.safe_dump(data, handle)


def banner(settings: Settings, port: int) -> str:
    channels = ", ".join(["web chat", "REST", *(name.capitalize() for name in settings.enabled_channels())])
    off = [name.capitalize() for name in ("telegram", "zalo") if name not in settings.enabled_channels()]
    lines = [
        "",
        "The assistant is running.",
        f"  Channels on:   {channels}" + (f" (off: {', '.join(off)}; see README, Channels)" if off else ""),
        f"  Web chat:      http://localhost:{port}/webhooks/webchat/",
        f"  REST webhook:  http://localhost:{port}/webhooks/rest/webhook",
        "Press Ctrl+C to stop.",
        "",
    ]
    return "\n".join(lines)


def _stop(process: subprocess.Popen | None) -> None:
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)  # Rasa first finishes the turns it accepted (DRAIN_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()


def run_server(args: argparse.Namespace) -> int:
    settings = get_settings()
    port = args.port or settings.port
    actions_port = args.actions_port or settings.actions_port
    env = child_environment({"LOG_LEVEL": settings.log_level}, quiet=True)
    started = threading.Event()  # until then, library deprecation warnings are dropped
    try:
        model = newest_model(settings=settings)
        from bot import db
        from bot.directory import ensure_loaded_or_warn

        db.upgrade(db.get_engine(settings.database_url))
        print(f"Directory: {ensure_loaded_or_warn(settings.database_url)}", flush=True)
    except ServiceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1

    actions = rasa = None
    with tempfile.TemporaryDirectory(prefix="bot-run-") as runtime:
        endpoints_file = Path(runtime) / "endpoints.yml"
        credentials_file = Path(runtime) / "credentials.yml"
        _write_private(endpoints_file, endpoints(actions_port))
        _write_private(credentials_file, channel_credentials(settings))
        try:
            actions = start_action_server(actions_port, env, stderr=subprocess.PIPE)
            pass_stderr_quietly(actions.stderr, sys.stderr, started)
            wait_for_http(f"http://127.0.0.1:{actions_port}/health", 120, actions)
            rasa = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "rasa",
                    "run",
                    "--model",
                    str(model),
                    "--port",
                    str(port),
                    "--endpoints",
                    str(endpoints_file),
                    "--credentials",
                    str(credentials_file),
                ],
                cwd=REPO_ROOT,
                env=env,
                stderr=subprocess.PIPE,
            )
            pass_stderr_quietly(rasa.stderr, sys.stderr, started)
            wait_for_http(f"http://127.0.0.1:{port}/", 300, rasa)
            started.set()
            print(banner(settings, port), flush=True)
            signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
            rasa.wait()
            return rasa.returncode or 0
        except KeyboardInterrupt:
            return 0
        except ServiceError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        finally:
            _stop(rasa)
            _stop(actions)
