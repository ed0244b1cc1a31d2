"""`python -m bot run`: the assistant with its action server, directory and channels.

Embedded defaults so that a fresh clone runs with no set-up: SQLite files under var/ for
the tracker store and the directory, the REST webhook and the local web chat page always
on, Telegram and Zalo when their variables are set. Ports from PORT and ACTIONS_PORT.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

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
    """REST and the web chat always; Telegram/Zalo when configured."""
    from bot.channels.credentials import build_credentials

    return {"rest": {}, "bot.channels.webchat.WebChatInput": {}, **build_credentials(settings)}


def run_server(args: argparse.Namespace) -> int:
    settings = get_settings()
    args.port = args.port or settings.port
    args.actions_port = args.actions_port or settings.actions_port
    env = child_environment({"DATABASE_URL": settings.database_url})
    try:
        model = newest_model(settings=settings)
        from bot import db
        from bot.directory import ensure_loaded_or_warn

        db.upgrade(db.get_engine(settings.database_url))

        print(f"Directory: {ensure_loaded_or_warn(settings.database_url)}", flush=True)
    except ServiceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1

    runtime = Path(tempfile.mkdtemp(prefix="bot-run-"))
    endpoints_file = runtime / "endpoints.yml"
    credentials_file = runtime / "credentials.yml"
    endpoints_file.write_text(yaml.safe_dump(endpoints(args.actions_port, settings)))
    credentials_file.write_text(yaml.safe_dump(channel_credentials(settings)))

    actions = start_action_server(args.actions_port, env)
    rasa = None
    try:
        wait_for_http(f"http://127.0.0.1:{args.actions_port}/health", 120, actions)
        rasa = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rasa",
                "run",
                "--model",
                str(model),
                "--port",
                str(args.port),
                "--endpoints",
                str(endpoints_file),
                "--credentials",
                str(credentials_file),
            ],
            cwd=REPO_ROOT,
            env=env,
        )
        wait_for_http(f"http://127.0.0.1:{args.port}/", 300, rasa)
        print(
            f"\nThe assistant is running.\n"
            f"  Web chat:      http://localhost:{args.port}/webhooks/webchat/\n"
            f"  REST webhook:  http://localhost:{args.port}/webhooks/rest/webhook\n"
            f"Press Ctrl+C to stop.\n",
            flush=True,
        )
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        rasa.wait()
        return rasa.returncode or 0
    except KeyboardInterrupt:
        return 0
    except ServiceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        for process in (rasa, actions):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
