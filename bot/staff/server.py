"""Serving the staff console: alone (`python -m bot staff serve`) or inside `bot run`.

`bot run` used to start the console as a child process (`python -m bot staff serve`): a
second Python (120 MB of PSS idle) with a second copy of the interpreter, SQLAlchemy, the
settings and the database code that `bot run` has loaded anyway. Issue 13 asks for every
process of the assistant together to stay under 1 GB, so `bot run` now serves the console
from its own process (`start_in_thread`), measured 35 to 45 MB less for the two together,
idle and under load. A thread with its own event loop: the console's requests never wait
for, nor hold up, the supervisor's work (waiting on Rasa, copying its stderr). Migrants'
messages never pass through this process: Rasa answers them.

The socket is bound before the thread starts, so a port that is taken is an error at once
(`ConsoleError`), which `bot run` reports without stopping the assistant; Sanic would only
log it from inside the thread. The thread gets no signal handlers (only the main thread
can have them): `bot run` handles SIGTERM and Ctrl+C and then calls `ConsoleThread.stop`,
which lets Sanic finish the requests in flight, as it does on a signal.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from typing import TYPE_CHECKING, Any

from bot.settings import Settings

if TYPE_CHECKING:  # Sanic is imported when a console is served, not for the account commands
    from sanic import Sanic

START_SECONDS = 60.0
STOP_SECONDS = 20.0  # Sanic's GRACEFUL_SHUTDOWN_TIMEOUT is 15 s
BACKLOG = 100  # Sanic's default


class ConsoleError(RuntimeError):
    """The console could not start (the message says why; no secret in it)."""


def console_engine(settings: Settings | None = None) -> Any:
    """The database of the console (DATABASE_URL), with its tables created when missing."""
    from bot import db

    engine = db.get_engine(settings.database_url if settings else None)
    db.ensure_schema(engine)
    return engine


def serve_forever(settings: Settings) -> None:
    """`python -m bot staff serve`: the console in this process's main thread until a signal."""
    from bot.staff.app import build_app

    app = build_app(console_engine(settings), settings=settings)
    app.run(host=settings.staff_host, port=settings.staff_port, access_log=False, motd=False, workers=1)


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket listening on `host`:`port` (the first address `host` resolves to), as
    asyncio binds one: SO_REUSEADDR, and IPv6 only on an IPv6 address."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as error:
        raise ConsoleError(f"STAFF_HOST={host} cannot be resolved ({error.strerror})") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError as error:
        sock.close()
        raise ConsoleError(f"cannot listen on {host}:{port} ({error.strerror or error})") from None
    return sock


class ConsoleThread:
    """The console's Sanic app served by a daemon thread with its own event loop."""

    def __init__(self, app: Sanic, sock: socket.socket) -> None:
        self.app, self.sock = app, sock
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._serve, name="staff-console", daemon=True)
        self.ready = threading.Event()
        app.register_listener(self._started, "after_server_start")

    async def _started(self, _app: Sanic, _loop: Any) -> None:
        self.ready.set()

    def _serve(self) -> None:
        from sanic.server.runners import serve

        asyncio.set_event_loop(self.loop)
        self.app.is_running, self.app.is_stopping = True, False  # as `Sanic.run` sets them
        try:
            # Sanic's own single-process server loop (`Sanic.run` calls it), minus the
            # signal handlers.
            serve(
                host=None,
                port=None,
                app=self.app,
                sock=self.sock,
                loop=self.loop,
                backlog=BACKLOG,
                register_sys_signals=False,
            )
        finally:
            self.app.is_running = False
            self.loop.close()
            self.sock.close()

    def start(self, timeout: float = START_SECONDS) -> ConsoleThread:
        """Start the thread and return once the console serves (`ConsoleError` if it does not)."""
        self.thread.start()
        while not self.ready.wait(0.05):
            timeout -= 0.05
            if not self.thread.is_alive() or timeout <= 0:
                self.stop()
                raise ConsoleError("the console did not start (see the error above)")
        return self

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        """Stop serving (requests in flight finish, up to Sanic's graceful timeout)."""
        if self.thread.is_alive():
            try:
                self.loop.call_soon_threadsafe(self.app.stop)
            except RuntimeError:  # the loop closed in the meantime
                pass
            self.thread.join(timeout)


def start_in_thread(settings: Settings) -> ConsoleThread:
    """The console on STAFF_HOST:STAFF_PORT, served by a thread of this process (`bot run`).

    Raises `ConsoleError` when the port is taken or the database cannot be prepared."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.staff.app import build_app

    try:
        engine = console_engine(settings)
    except SQLAlchemyError as error:
        raise ConsoleError(f"the database (DATABASE_URL) is unreachable ({type(error).__name__})") from None
    sock = listening_socket(settings.staff_host, settings.staff_port)
    try:
        app = build_app(engine, settings=settings)
    except BaseException:
        sock.close()
        raise
    app.config.ACCESS_LOG = False
    app.config.MOTD = False
    # "Starting worker [pid]" and the like went to the child's /dev/null; errors (sanic.error,
    # on stderr) still show.
    logging.getLogger("sanic.root").setLevel(logging.WARNING)
    return ConsoleThread(app, sock).start()
