"""`python -m bot.rasa_server rasa run …`: Rasa's `rasa run`, prepared for several workers.

`bot run` starts Rasa through this module instead of `python -m rasa`. With one worker
(RASA_WORKERS=1) it is `rasa run` and nothing else. With several, Sanic forks the workers
from Rasa's main process after binding the port, and each worker loads the model itself:
three copies of Rasa's imports (TensorFlow alone is 200 MB of private memory, which Rasa
imports whatever the model) and two of the model, measured 1.13 GB PSS for `bot run` with
two workers, over issue 13's 1 GB for all processes. Here the main process loads the agent
once before the fork (`_preload`), the workers take that copy (`rasa.core.agent.load_agent`
returns it once per process), and `gc.freeze()` keeps the garbage collector from touching,
and so copying, the shared pages.

Sanic 21.12 binds one socket in the main process and every worker accepts from it; each
worker's event loop then accepts every pending connection at once (up to the backlog), so a
burst of new keep-alive connections all lands on one worker (measured: one worker idle, the
other saturated, 0.7x the throughput of a single process). `_serve_multiple` is Sanic's
own, except that each worker binds its own socket with SO_REUSEPORT, and the kernel spreads
the connections over the workers.

The staff console swaps the served model through one HTTP request (`bot.live_model`), which
reaches one worker. That worker writes the archive's path to a file the workers share, and
every worker checks it every `FOLLOW_SECONDS` and loads that archive when it serves another
(`_follow_live_model`). Each worker notes what it serves in a file of its own
(`_mark_served`), and the swapping worker answers the console only once every other live
worker serves the new archive (`_wait_for_the_others`, at most `SWAP_WAIT_SECONDS`), so the
console never reads the old model back from another worker after a swap.

Once the workers are forked, the main process has nothing left to do but wait for them and
stop them on a signal, yet it held all of Rasa, and more of it than the workers: the pages
of TensorFlow's libraries that only its import touched (the workers never run TensorFlow
with this pipeline), and a copy of every page both workers have since written to. So it
replaces itself (`exec`, same process id: the workers stay its children, `bot run` watches
the same process) with `python -m bot.rasa_server --wait-for-workers`, a 6 MB waiter
(`wait_for_workers`): Rasa's processes together measured 100 to 130 MB less PSS idle and
160 MB less at peak under load (bot/load_bench.py, profile note 7).

What must not cross a fork does not: the lock store and the tracker store open their
connections lazily per process (`bot.lock_store`, `PrivacyTrackerStore`), and connections
the main process pooled before the fork are dropped in each child without closing the
parent's (`_after_fork_in_child`), as SQLAlchemy prescribes for forked processes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from typing import Any

# asyncio, functools, inspect and gc are imported where they are used: the main process,
# once it has forked the workers, runs this module again as a waiter (`wait_for_workers`),
# which needs none of them (5 MB less).

logger = logging.getLogger(__name__)

_PRELOADED: dict[str, Any] = {}
FOLLOW_SECONDS = 0.5
SWAP_WAIT_SECONDS = 150.0  # below the console's own timeout (bot.live_model.SWAP_TIMEOUT)
_FOLLOWING = threading.local()
_LIVE: dict[str, Any] = {}  # "file": the shared live-model file; "main": the main process id


def _after_fork_in_child() -> None:
    """Forget the parent's pooled database connections (SQLAlchemy: `dispose(close=False)`),
    and die with the main process: a worker whose main process was killed would otherwise
    keep serving the port, unseen by `bot run` (Sanic's workers are stopped only by a main
    process that is alive to do it)."""
    from bot import db

    _die_with_parent()
    for engine in list(getattr(db, "_ENGINES", {}).values()):
        engine.dispose(close=False)
    store = _PRELOADED.get("tracker_engine")
    if store is not None:
        store.dispose(close=False)


def _die_with_parent() -> None:
    """SIGKILL when the parent dies (Linux `prctl(PR_SET_PDEATHSIG)`; elsewhere nothing)."""
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return


def _preload() -> None:
    """Load the agent in the main process when Rasa will fork workers; each worker then
    receives it instead of loading its own (module docstring)."""
    import asyncio
    import functools
    import gc
    import inspect

    import rasa.core.agent
    import rasa.core.run

    original_load = rasa.core.agent.load_agent
    original_serve = rasa.core.run.serve_application

    async def load_agent(*args: Any, **kwargs: Any) -> Any:
        agent = _PRELOADED.pop("agent", None)  # each forked worker pops its own copy
        if agent is not None:
            return agent
        return await original_load(*args, **kwargs)

    @functools.wraps(original_serve)  # rasa.api filters its arguments by this signature
    def serve_application(*args: Any, **kwargs: Any) -> Any:
        bound = inspect.signature(original_serve).bind(*args, **kwargs)
        bound.apply_defaults()
        endpoints = bound.arguments.get("endpoints")
        if rasa.core.utils.number_of_sanic_workers(endpoints.lock_store if endpoints else None) > 1:
            agent = asyncio.run(
                original_load(
                    model_path=bound.arguments.get("model_path"),
                    remote_storage=bound.arguments.get("remote_storage"),
                    endpoints=endpoints,
                )
            )
            _PRELOADED["agent"] = agent
            tracker_store = getattr(agent, "tracker_store", None)
            inner = getattr(tracker_store, "_tracker_store", tracker_store)  # FailSafeTrackerStore
            engine = getattr(inner, "engine", None)
            if engine is not None:
                _PRELOADED["tracker_engine"] = engine
            gc.collect()
            gc.freeze()  # what is left is shared with the workers: keep the collector off it
        return original_serve(*args, **kwargs)

    rasa.core.agent.load_agent = load_agent
    rasa.core.run.serve_application = serve_application
    _share_model_swaps()

    import sanic.app

    sanic.app.serve_multiple = _serve_multiple  # Sanic's `run` calls it by this name


def _serve_multiple(server_settings: dict[str, Any], workers: int) -> None:
    """`sanic.server.runners.serve_multiple` (21.12) without the socket bound in the main
    process: each worker binds HOST:PORT itself with SO_REUSEPORT (module docstring). Once
    the workers are forked, this process becomes the small waiter `wait_for_workers`."""
    import asyncio
    import multiprocessing
    import signal

    from sanic.server.events import trigger_events
    from sanic.server.runners import serve

    if server_settings.get("sock") is not None or server_settings.get("unix"):
        raise RuntimeError("bot.rasa_server: several workers need HOST and PORT, not a socket")
    server_settings["reuse_port"] = True
    server_settings["run_multiple"] = True
    main_start = server_settings.pop("main_start", None)
    server_settings.pop("main_stop", None)  # Rasa and `bot` register none (nor could a waiter run one)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    trigger_events(main_start, loop)

    # SIGTERM or Ctrl+C from now until the waiter has its handlers stays pending (the mask is
    # kept across exec) instead of killing this process before it can stop the workers.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    from bot import connection_balance

    connection_balance.share(workers)  # keep-alive connections spread evenly (its docstring)
    app = server_settings.get("app")
    if app is not None:
        app.register_middleware(connection_balance.after_response, "response")
    context = multiprocessing.get_context("fork")
    pids = []
    for slot in range(workers):
        process = context.Process(target=_serve_worker, args=(serve, server_settings, slot))
        process.daemon = True
        process.start()
        assert process.pid is not None  # set by start()
        pids.append(process.pid)
    _become_waiter(pids)


def _serve_worker(serve: Any, server_settings: dict[str, Any], slot: int = 0) -> None:
    """A forked worker: Sanic's `serve`, with the signals the main process blocked to fork
    (see `_serve_multiple`) delivered again, as worker `slot` of `bot.connection_balance`."""
    import signal

    from bot import connection_balance

    connection_balance.join(slot)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    serve(**server_settings)


def _become_waiter(pids: list[int]) -> None:
    """Replace this process by `python -m bot.rasa_server --wait-for-workers FILE PIDS rasa
    run …` (never returns).

    After the fork the main process only waits for its workers and stops them on a signal,
    yet it held all of Rasa: its share of the pages the workers share with it (which the
    workers now hold between them), the pages only it still maps (TensorFlow's libraries,
    which it read to import them and the workers never touch: 120 to 180 MB of PSS,
    measured with /proc/<pid>/smaps), and every page both workers have since written to, a
    copy only it kept (it grows under load). `exec` keeps the process id, so the workers
    stay its children and `bot run` keeps watching the same process."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    live_file = _LIVE.get("file", "")
    workers = ",".join(map(str, pids))
    # The command it replaces follows (`rasa run --port …`, read only by people and `ps`).
    arguments = [sys.executable, "-m", "bot.rasa_server", WAIT_FLAG, live_file, workers, *sys.argv]
    os.execv(sys.executable, arguments)


WAIT_FLAG = "--wait-for-workers"


def wait_for_workers(live_file: str, pids: list[int]) -> int:
    """The main process after `_become_waiter`: what Sanic's main process did after the
    fork. On SIGTERM or SIGINT, SIGTERM to each worker (each finishes the turns it accepted,
    `bot.ops`); once all have exited, remove the live-model files (`_share_model_swaps`)."""
    import signal
    import time

    def stop(signum: int, _frame: Any) -> None:
        stamp = time.strftime("[%Y-%m-%d %H:%M:%S %z]")
        name = signal.Signals(signum).name
        print(f"{stamp} [{os.getpid()}] [INFO] Received signal {name}. Shutting down.", flush=True)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    for pid in pids:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)  # retried after a signal handler (PEP 475)
    if live_file:
        _remove_live_file(live_file, os.getpid())
    return 0


def _share_model_swaps() -> None:
    """A model loaded by one worker (a swap from the console) is loaded by the others."""
    import functools
    import tempfile

    import rasa.core.run
    from rasa.core.agent import Agent

    descriptor, name = tempfile.mkstemp(prefix="bot-live-model-")  # 0600; made before the fork
    os.close(descriptor)
    _LIVE.update(file=name, main=os.getpid())
    import atexit

    atexit.register(_remove_live_file, name, os.getpid())
    original_load_model = Agent.load_model

    def load_model(self: Any, model_path: Any, fingerprint: Any = None) -> None:
        original_load_model(self, model_path, fingerprint)
        if os.getpid() == _LIVE["main"]:
            return  # the load before the fork
        _mark_served(str(model_path))
        if not getattr(_FOLLOWING, "active", False):
            _publish(str(model_path))
            _wait_for_the_others(str(model_path))  # in the swap's executor thread

    Agent.load_model = load_model
    original_configure = rasa.core.run.configure_app

    @functools.wraps(original_configure)
    def configure_app(*args: Any, **kwargs: Any) -> Any:
        app = original_configure(*args, **kwargs)
        app.register_listener(_start_following, "after_server_start")
        return app

    rasa.core.run.configure_app = configure_app


def _remove_live_file(name: str, pid: int) -> None:
    if os.getpid() == pid:
        import glob

        for path in [name, *glob.glob(f"{glob.escape(name)}.served.*")]:
            with contextlib.suppress(OSError):
                os.unlink(path)


def _mark_served(model_path: str) -> None:
    """Note, for the swapping worker, which archive this worker serves now."""
    served = f"{_LIVE['file']}.served.{os.getpid()}"
    with open(f"{served}.tmp", "w", encoding="utf-8") as handle:
        handle.write(os.path.realpath(model_path))
    os.replace(f"{served}.tmp", served)


def _wait_for_the_others(model_path: str, timeout: float = SWAP_WAIT_SECONDS) -> None:
    """Until every other live worker serves `model_path` (or `timeout`, then say so)."""
    import glob
    import time

    wanted, deadline = os.path.realpath(model_path), time.monotonic() + timeout
    prefix = f"{_LIVE['file']}.served."
    while time.monotonic() < deadline:
        behind = 0
        for served in glob.glob(f"{glob.escape(prefix)}*"):
            pid = served[len(prefix) :]
            if not pid.isdigit() or int(pid) == os.getpid() or not _alive(int(pid)):
                continue
            try:
                with open(served, encoding="utf-8") as handle:
                    behind += handle.read().strip() != wanted
            except OSError:
                continue
        if not behind:
            return
        time.sleep(0.1)
    logger.warning("A worker did not load the swapped-in model within %.0f s.", timeout)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _publish(model_path: str) -> None:
    """Write the swapped-in archive's path for the other workers (atomically: rename)."""
    temporary = f"{_LIVE['file']}.{os.getpid()}"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(model_path)
    os.replace(temporary, _LIVE["file"])


async def _start_following(app: Any, _loop: Any) -> None:
    agent = getattr(app.ctx, "agent", None)
    serving = getattr(getattr(agent, "processor", None), "model_path", None)
    if serving:
        _mark_served(str(serving))
    app.add_task(_follow_live_model(app))


async def _follow_live_model(app: Any, every: float = FOLLOW_SECONDS) -> None:
    """Load the archive another worker swapped in, when this worker serves another one."""
    import asyncio

    seen = ""
    while True:
        await asyncio.sleep(every)
        try:
            with open(_LIVE["file"], encoding="utf-8") as handle:
                wanted = handle.read().strip()
        except OSError:
            continue
        agent = getattr(app.ctx, "agent", None)
        serving = str(getattr(getattr(agent, "processor", None), "model_path", "") or "")
        if not wanted or wanted == seen or agent is None:
            continue
        seen = wanted
        if os.path.realpath(wanted) == os.path.realpath(serving):
            continue
        try:
            await asyncio.get_running_loop().run_in_executor(None, _load_following, agent, wanted)
            logger.info("Loaded the model another worker swapped in.")
        except Exception as error:  # noqa: BLE001 - keep serving the old model; say so
            logger.warning("Could not load the model another worker swapped in (%s).", type(error).__name__)


def _load_following(agent: Any, model_path: str) -> None:
    """`agent.load_model` without publishing it again (it came from another worker)."""
    _FOLLOWING.active = True
    try:
        agent.load_model(model_path)
    finally:
        _FOLLOWING.active = False


def main(argv: list[str]) -> None:
    if argv[:1] == [WAIT_FLAG]:
        sys.exit(wait_for_workers(argv[1], [int(pid) for pid in argv[2].split(",")]))
    import rasa.core.utils  # noqa: F401  (used by the wrapper above)

    from bot.settings import sanic_workers

    if sanic_workers() > 1:
        os.register_at_fork(after_in_child=_after_fork_in_child)
        _preload()
    from rasa.__main__ import main as rasa_main

    sys.argv = argv if argv[:1] == ["rasa"] else ["rasa", *argv]  # `rasa run …` as typed
    rasa_main()


if __name__ == "__main__":
    main(sys.argv[1:])
