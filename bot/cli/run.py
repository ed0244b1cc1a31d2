"""`python -m bot run`: the assistant with its action server, directory and channels.

Embedded defaults so that a fresh clone runs with no set-up: SQLite files under var/ for
the tracker store and the directory, the local web chat page, Telegram and Zalo when their
variables are set. Both servers listen on 127.0.0.1 unless HOST / ACTIONS_HOST say
otherwise; the REST webhook is on for a loopback HOST, or anywhere with REST_TOKEN (then
it needs the bearer token), and off otherwise, with a warning. The operations routes
(/health, /ready, /metrics: `bot.ops`) are always on. A thread runs the daily privacy
purge (`bot.privacy.PurgeScheduler`), another sends deadline reminders
(`bot.reminders.ReminderScheduler`). The NGO staff console (`bot staff`) runs on
STAFF_HOST:STAFF_PORT, served by a thread of this process with its own event loop
(`bot.staff.server`): as a child Python of its own it took 120 MB of PSS, 35 to 45 MB of
them for what this process has loaded anyway (issue 13: all processes together under
1 GB). It reads its settings from
this process's environment, given the ports and the model-swap token of this start
(`share_with_console`); a console that cannot start (its port taken) is reported and the
assistant runs on. SIGTERM and Ctrl+C stop the console, then Rasa.

Start-up is quiet: the libraries' deprecation warnings are dropped until the banner
(`bot.logs.pass_stderr_quietly`); errors and everything after the start pass through.

Before starting, the database is migrated (`bot.db`) and the directory loaded; when the
database is unreachable, `bot run` says so and starts anyway (emergencies need no
database), retrying in the background. The custom actions run inside the Rasa server
(`bot.action_runner`) unless ACTIONS_IN_PROCESS=false, which starts the action server. Rasa gets
the committed endpoints.yml (with the action server's port) and the channels that are on;
both files are written to a private temporary directory that is removed on exit, and
neither holds a secret: the stores and channels read theirs from `bot.settings`.

Rasa runs as RASA_WORKERS worker processes on PORT (1 by default; 2 use a second core),
started through `bot.rasa_server` (the model loaded once before the fork, a socket per
worker; with several, the process that forked them then becomes a small waiter with the
same process id, which this process watches and stops); the workers share their locks,
chat claims and rate limits through SQLite files without Redis (`bot.lock_store`,
`bot.worker_state`).
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from bot.logs import pass_stderr_quietly
from bot.privacy import PurgeScheduler
from bot.reminders import ReminderScheduler
from bot.services import (
    REPO_ROOT,
    ServiceError,
    endpoints,
    newest_model,
    staff_console_url,
    start_action_server,
    wait_for_http,
)
from bot.settings import (
    Settings,
    child_environment,
    get_settings,
    reachable_address,
    set_in_this_process,
)

if TYPE_CHECKING:
    from bot.staff.server import ConsoleThread


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="start the assistant (Rasa server + action server + channels)",
        description=(
            "Start the assistant on embedded defaults. Environment: HOST (127.0.0.1), PORT (5005), "
            "ACTIONS_PORT (5055), RASA_WORKERS, REST_TOKEN, RETENTION_DAYS, DATABASE_URL, TRACKER_STORE_URL, REDIS_URL, MODEL, "
            "SENDER_ID_SECRET, TELEGRAM_* and ZALO_* (see README)."
        ),
    )
    parser.add_argument("--port", type=int, default=None, help="default: PORT (5005)")
    parser.add_argument("--actions-port", type=int, default=None, help="default: ACTIONS_PORT (5055)")
    parser.set_defaults(func=run_server)


REST_CLASS = "bot.channels.rest.RestInput"
OPS_CLASS = "bot.ops.OpsInput"
MODEL_CLASS = "bot.live_model.ModelInput"  # the console's live model swap (answers 404 without a token)


def rest_enabled(settings: Settings) -> bool:
    """REST is served on a loopback HOST, or anywhere with a REST_TOKEN; else it is off."""
    return settings.host_is_loopback or bool(settings.rest_secret)


def channel_credentials(settings: Settings) -> dict:
    """The operations and model routes and the web chat always, REST when `rest_enabled`,
    Telegram/Zalo when configured (class names only)."""
    from bot.channels.credentials import WEBCHAT_CLASS, build_credentials

    rest = {REST_CLASS: None} if rest_enabled(settings) else {}
    return {OPS_CLASS: None, MODEL_CLASS: None, WEBCHAT_CLASS: None, **rest, **build_credentials(settings)}


def _write_private(path: Path, data: dict) -> None:
    """Readable by this user only (the files hold no secret, but paths and ports are nobody's business)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        yaml.safe_dump(data, handle)


def banner(settings: Settings, port: int, staff: bool = True) -> str:
    rest = ["REST"] if rest_enabled(settings) else []
    channels = ", ".join(["web chat", *rest, *(name.capitalize() for name in settings.enabled_channels())])
    off = [name.capitalize() for name in ("telegram", "zalo") if name not in settings.enabled_channels()]
    lines = [
        "",
        "The assistant is running.",
        f"  Channels on:   {channels}" + (f" (off: {', '.join(off)}; see README, Channels)" if off else ""),
        f"  Web chat:      http://localhost:{port}/webhooks/webchat/",
        f"  REST webhook:  http://localhost:{port}/webhooks/rest/webhook"
        + ("" if rest else " (off: HOST is not loopback and REST_TOKEN is unset)"),
        f"  Listening on:  {settings.host}:{port}; health /health, /ready, /metrics",
        f"  Staff console: {staff_console_url(settings)}"
        if staff
        else "  Staff console: did not start (see the error above)",
        "Press Ctrl+C to stop.",
        "",
    ]
    return "\n".join(lines)


def children_environment(settings: Settings, port: int, actions_port: int) -> dict[str, str]:
    """The environment of Rasa and the action server (and, through `share_with_console`, of
    the console in this process). They read their settings too, so the ports chosen on the
    command line are passed on; rasa_sdk takes its listen address from SANIC_HOST (it has no
    option for it), here ACTIONS_HOST, loopback by default. MODEL_SWAP_TOKEN
    (`bot.live_model`) is made here for this start unless one is set: only Rasa, a child of
    this process, and the console in it know it."""
    swap_token = settings.model_swap_token
    return child_environment(
        {
            "LOG_LEVEL": settings.log_level,
            "PORT": str(port),
            "ACTIONS_PORT": str(actions_port),
            "SANIC_HOST": settings.actions_host,
            "MODEL_SWAP_TOKEN": swap_token.get_secret_value() if swap_token else secrets.token_urlsafe(32),
        },
        quiet=True,
    )


def rasa_environment(env: dict[str, str], settings: Settings) -> dict[str, str]:
    """The Rasa server's environment: `env` with SANIC_WORKERS from RASA_WORKERS (one
    worker per core by default, `Settings.workers`). Rasa starts that many Sanic workers on
    one port; with several and no REDIS_URL, `bot.tracker_store.ConfiguredLockStore` gives
    them a shared SQLite lock store (`bot.lock_store`). Only Rasa gets it: the action
    server and the console read other variables or none."""
    return {**env, "SANIC_WORKERS": str(settings.workers())}


def rasa_command(
    model: Path, settings: Settings, port: int, endpoints_file: Path, credentials_file: Path
) -> list[str]:
    """`rasa run` on HOST (loopback by default) with our endpoints and channels."""
    return [
        sys.executable, "-m", "bot.rasa_server", "rasa", "run",
        "--model", str(model),
        "--port", str(port),
        "--interface", settings.host,
        "--endpoints", str(endpoints_file),
        "--credentials", str(credentials_file),
    ]  # fmt: skip


def _stop(*processes: subprocess.Popen | None) -> None:
    """SIGTERM to all at once, then wait; SIGKILL to any still running after 45 s (Rasa
    first finishes the turns it accepted: DRAIN_SECONDS)."""
    running = [process for process in processes if process is not None and process.poll() is None]
    for process in running:
        process.terminate()
    deadline = time.monotonic() + 45
    for process in running:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()


def _stop_on_sigterm(*_: Any) -> None:
    """The first SIGTERM stops everything (`run_server`'s `finally`); a second one during
    that stop (a supervisor, `timeout` and `kill` together) is ignored instead of cutting
    the stop short with a traceback."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def _start_staff_console() -> ConsoleThread | None:
    """The staff console, served by a thread of this process (`bot.staff.server`). If it
    cannot start (its port is taken, say), the assistant keeps serving migrants and the
    banner says so."""
    import warnings

    from bot.staff.server import ConsoleError, start_in_thread

    try:
        with warnings.catch_warnings():  # the libraries' import-time notices (`started`)
            warnings.simplefilter("ignore", DeprecationWarning)
            return start_in_thread(get_settings())
    except ConsoleError as error:
        print(f"error: staff console: {error}", file=sys.stderr)
        return None


def share_with_console(env: dict[str, str]) -> None:
    """The console reads its settings from this process's environment, as it read them from
    its own when it was a child: the ports chosen on the command line and the model-swap
    token made for this start (`children_environment`)."""
    set_in_this_process({name: env[name] for name in ("PORT", "ACTIONS_PORT", "MODEL_SWAP_TOKEN")})


def prepare_database(engine: Any, settings: Settings) -> bool:
    """Migrate the database; False (after saying so) when it cannot be reached.

    The assistant still starts: emergencies and the "temporarily unavailable" reply need no
    database (`bot.degraded`), the stores create their tables when it is back
    (`bot.db.ensure_schema`), and a thread retries the migration and the directory load."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot import db

    try:
        db.upgrade(engine)
        return True
    except SQLAlchemyError as error:
        print(
            f"warning: the database (DATABASE_URL) is unreachable ({type(error).__name__}): starting "
            "anyway; danger messages get the urgent card and other messages a 'temporarily "
            "unavailable' reply until it is back (retried every "
            f"{DATABASE_RETRY_SECONDS:.0f} s).",
            file=sys.stderr,
            flush=True,
        )
        threading.Thread(target=_retry_database, args=(engine, settings), daemon=True).start()
        return False


DATABASE_RETRY_SECONDS = 10.0


def _retry_database(engine: Any, settings: Settings, every: float = DATABASE_RETRY_SECONDS) -> None:
    """Migrate and load the directory as soon as the database answers again."""
    import time

    from sqlalchemy.exc import SQLAlchemyError

    from bot import db
    from bot.directory import ensure_loaded_or_warn

    while True:
        time.sleep(every)
        try:
            db.upgrade(engine)
            print(
                f"The database is back. Directory: {ensure_loaded_or_warn(settings.database_url)}", flush=True
            )
            return
        except SQLAlchemyError:
            continue


def run_server(args: argparse.Namespace) -> int:
    settings = get_settings()
    port = args.port or settings.port
    actions_port = args.actions_port or settings.actions_port
    env = children_environment(settings, port, actions_port)
    share_with_console(env)
    if not rest_enabled(settings):
        print(
            f"warning: HOST={settings.host} is reachable from other machines and REST_TOKEN is unset: "
            "the REST webhook is off (set REST_TOKEN to serve it with a bearer token).",
            file=sys.stderr,
        )
    started = threading.Event()  # until then, library deprecation warnings are dropped
    try:
        model = newest_model(settings=settings)
        from bot import db
        from bot.directory import ensure_loaded_or_warn
        from bot.identity import sender_id_secret

        engine = db.get_engine(settings.database_url)
        if prepare_database(engine, settings):
            sender_id_secret(engine, settings.sender_secret)  # SettingsError: required with a server DB
            print(f"Directory: {ensure_loaded_or_warn(settings.database_url)}", flush=True)
    except ServiceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1

    actions = rasa = None
    staff: ConsoleThread | None = None
    purge: PurgeScheduler | None = None
    reminders: ReminderScheduler | None = None
    with tempfile.TemporaryDirectory(prefix="bot-run-") as runtime:
        endpoints_file = Path(runtime) / "endpoints.yml"
        credentials_file = Path(runtime) / "credentials.yml"
        _write_private(endpoints_file, endpoints(actions_port, settings.actions_host))
        _write_private(credentials_file, channel_credentials(settings))
        try:
            # From the first child on, SIGTERM (systemd, a supervisor) stops them all
            # gracefully (`finally`): it used to be handled only once everything had
            # started, and a SIGTERM before that killed `bot run` alone, its children left.
            signal.signal(signal.SIGTERM, _stop_on_sigterm)
            if not settings.actions_in_process:
                actions = start_action_server(actions_port, env, stderr=subprocess.PIPE)
                pass_stderr_quietly(actions.stderr, sys.stderr, started)
                wait_for_http(
                    f"http://{reachable_address(settings.actions_host)}:{actions_port}/health", 120, actions
                )
            rasa = subprocess.Popen(
                rasa_command(model, settings, port, endpoints_file, credentials_file),
                cwd=REPO_ROOT,
                env=rasa_environment(env, settings),
                stderr=subprocess.PIPE,
            )
            pass_stderr_quietly(rasa.stderr, sys.stderr, started)
            wait_for_http(f"http://{reachable_address(settings.host)}:{port}/", 300, rasa)
            staff = _start_staff_console()
            started.set()
            print(banner(settings, port, staff=staff is not None), flush=True)
            purge = PurgeScheduler(  # daemon thread; ends with the process
                settings.database_url, settings.tracker_store_url, settings.retention_days
            ).start()
            # Deadline reminders (issue 14): one replica at a time, each reminder once.
            reminders = ReminderScheduler(settings.database_url, settings.tracker_store_url).start()
            rasa.wait()
            return rasa.returncode or 0
        except KeyboardInterrupt:
            return 0
        except ServiceError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        finally:
            # Rasa's drain starts at once (it used to wait for the staff console to stop);
            # the console thread stops while Rasa drains.
            if rasa is not None and rasa.poll() is None:
                rasa.terminate()
            if staff is not None:
                staff.stop()
            if purge is not None:
                purge.stop()
            if reminders is not None:
                reminders.stop()
            _stop(rasa)
            _stop(actions)  # after Rasa: its last turns may still call actions
