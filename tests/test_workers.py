"""Several Rasa workers on one machine (RASA_WORKERS): the shared SQLite lock store, the
per-process tracker cache that another process's writes invalidate, and `bot run` starting
the workers (bot/lock_store.py, bot/tracker_store.py, bot/rasa_server.py, bot/cli/run.py)."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
from pathlib import Path

import pytest
from rasa.core.lock_store import InMemoryLockStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.lock_store import SQLiteLockStore, lock_file_for
from bot.settings import Settings
from bot.tracker_store import ConfiguredLockStore, PrivacyTrackerStore

# -- lock store -------------------------------------------------------------------------------


def test_two_stores_on_one_file_serve_tickets_in_order(tmp_path):
    """Two processes see one lock: the second ticket waits until the first is cleaned up,
    and the lock survives that cleanup while someone still waits."""
    first, second = SQLiteLockStore(tmp_path / "locks"), SQLiteLockStore(tmp_path / "locks")
    ticket_a = first.issue_ticket("chat")
    ticket_b = second.issue_ticket("chat")
    assert ticket_b == ticket_a + 1
    assert second.get_lock("chat").is_locked(ticket_b)
    first.cleanup("chat", ticket_a)
    lock = second.get_lock("chat")
    assert lock is not None and not lock.is_locked(ticket_b)
    second.cleanup("chat", ticket_b)
    assert first.get_lock("chat") is None  # nobody waits: deleted


def _locked_increments(path: str, counter: str, rounds: int) -> None:
    async def run() -> None:
        store = SQLiteLockStore(path)
        for _ in range(rounds):
            async with store.lock("chat", wait_time_in_seconds=0.01):
                value = int(Path(counter).read_text())
                await asyncio.sleep(0.005)  # another process would overwrite in between
                Path(counter).write_text(str(value + 1))

    asyncio.run(run())


def test_turns_of_one_conversation_never_overlap_across_processes(tmp_path):
    """Four processes each run 15 read-sleep-write turns on one conversation; only a lock
    that holds across processes keeps every increment (Rasa's in-memory one keeps ~1/4)."""
    counter = tmp_path / "counter"
    counter.write_text("0")
    context = multiprocessing.get_context("fork")
    workers = [
        context.Process(target=_locked_increments, args=(str(tmp_path / "locks"), str(counter), 15))
        for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    assert int(counter.read_text()) == 60


def test_a_connection_is_not_reused_across_a_fork(tmp_path):
    store = SQLiteLockStore(tmp_path / "locks")
    store.issue_ticket("chat")
    parent = store._connection
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        ok = store._db() is not parent and store.get_lock("chat") is not None
        os.write(writer, b"1" if ok else b"0")
        os._exit(0)
    os.waitpid(child, 0)
    assert os.read(reader, 1) == b"1"
    assert store._db() is parent


def test_configured_lock_store_follows_the_workers(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKER_STORE_URL", f"sqlite:///{tmp_path / 'tracker.db'}")
    monkeypatch.delenv("REDIS_URL", raising=False)  # settings are re-read when a variable changes
    monkeypatch.setenv("SANIC_WORKERS", "1")
    assert isinstance(ConfiguredLockStore()._store, InMemoryLockStore)
    monkeypatch.setenv("SANIC_WORKERS", "2")
    store = ConfiguredLockStore()._store
    assert isinstance(store, SQLiteLockStore)
    assert store.path == tmp_path / "tracker.db-locks"


def test_lock_file_sits_next_to_a_sqlite_tracker_store(tmp_path):
    assert lock_file_for(f"sqlite:///{tmp_path}/t.db", tmp_path / "var") == Path(f"{tmp_path}/t.db-locks")
    assert lock_file_for("postgresql://u@h/db", tmp_path / "var") == tmp_path / "var" / "rasa-locks.db"


# -- tracker cache ----------------------------------------------------------------------------


def _store(path: Path) -> PrivacyTrackerStore:
    return PrivacyTrackerStore(domain=Domain.empty(), dialect="sqlite", db=str(path))


def _texts(tracker: DialogueStateTracker | None) -> list[str]:
    return [e.text for e in tracker.events if isinstance(e, UserUttered)] if tracker else []


def _turn(tracker: DialogueStateTracker, text: str) -> None:
    tracker.update(UserUttered(text))
    tracker.update(ActionExecuted("utter_x"))
    tracker.update(BotUttered("ok"))
    tracker.update(ActionExecuted("action_listen"))


async def test_a_write_by_another_process_invalidates_the_cache(tmp_path):
    one, two = _store(tmp_path / "t.db"), _store(tmp_path / "t.db")
    tracker = DialogueStateTracker.from_events("s", [ActionExecuted("action_listen")])
    _turn(tracker, "first")
    await one.save(tracker)
    assert _texts(await one.retrieve("s")) == ["first"]  # now cached in `one`
    theirs = await two.retrieve("s")
    _turn(theirs, "second")
    await two.save(theirs)
    assert _texts(await one.retrieve("s")) == ["first", "second"]
    mine = await one.retrieve("s")
    _turn(mine, "third")
    await one.save(mine)  # `one` appends after what `two` wrote, not over it
    assert _texts(await two.retrieve("s")) == ["first", "second", "third"]
    assert _texts(await _store(tmp_path / "t.db").retrieve("s")) == ["first", "second", "third"]


async def test_forgotten_events_never_come_back_from_another_process_cache(tmp_path):
    """`two` forgets the conversation, and the same number of events is written again
    (SQLite may reuse the same ids): `one`'s cache must not answer with the old ones."""
    import sqlalchemy as sa

    from bot.privacy import forget_conversation

    one, two = _store(tmp_path / "t.db"), _store(tmp_path / "t.db")
    tracker = DialogueStateTracker.from_events("s", [ActionExecuted("action_listen")])
    _turn(tracker, "secret")
    await one.save(tracker)
    assert _texts(await one.retrieve("s")) == ["secret"]
    with one.engine.connect() as conn:
        old_ids = [row[0] for row in conn.execute(sa.text("SELECT id FROM events ORDER BY id"))]
    forget_conversation(two.engine, "s")
    assert await one.retrieve("s") is None
    time.sleep(0.01)
    again = DialogueStateTracker.from_events("s", [ActionExecuted("action_listen")])
    _turn(again, "new")
    await two.save(again)
    with one.engine.connect() as conn:
        new_ids = [row[0] for row in conn.execute(sa.text("SELECT id FROM events ORDER BY id"))]
    assert new_ids == old_ids  # the case the timestamp check is for
    assert _texts(await one.retrieve("s")) == ["new"]


async def test_cached_loads_equal_loads_from_the_database(tmp_path):
    """Across sessions and slots, what the cache gives equals what Rasa's query gives."""
    cached = _store(tmp_path / "t.db")
    tracker = DialogueStateTracker.from_events("s", [ActionExecuted("action_listen")])
    _turn(tracker, "one")
    await cached.save(tracker)
    tracker = await cached.retrieve("s")
    tracker.update(SlotSet("language", "vi"))
    _turn(tracker, "two")
    await cached.save(tracker)
    tracker = await cached.retrieve("s")
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    tracker.update(ActionExecuted("action_listen"))
    _turn(tracker, "three")
    await cached.save(tracker)
    fresh = _store(tmp_path / "t.db")
    for sender in ("s", "nobody"):
        a, b = await cached.retrieve(sender), await fresh.retrieve(sender)
        assert (a.current_state() if a else None) == (b.current_state() if b else None)
    assert _texts(await cached.retrieve("s")) == ["three"]
    full = await cached.retrieve_full_tracker("s")
    assert _texts(full) == ["one", "two", "three"]


async def test_new_events_are_written_once_in_one_save(tmp_path):
    import sqlalchemy as sa

    store = _store(tmp_path / "t.db")
    tracker = DialogueStateTracker.from_events("s", [ActionExecuted("action_listen")])
    _turn(tracker, "hello")
    await store.save(tracker)
    await store.save(tracker)  # nothing new
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT type_name, intent_name, action_name FROM events ORDER BY id")
        ).all()
    assert [row[0] for row in rows] == ["action", "user", "action", "bot", "action"]
    assert rows[0][2] == "action_listen"


# -- bot run ----------------------------------------------------------------------------------


def test_one_worker_unless_asked_for_more(monkeypatch):
    # Opt-in (bot/settings.py): two workers answered more updates twice after a crash.
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: {0, 1, 2, 3})
    assert Settings().workers() == 1
    assert Settings(rasa_workers=2).workers() == 2
    assert Settings(rasa_workers=3).workers() == 3


def test_rasa_gets_the_workers_in_its_environment_only():
    from bot.cli.run import children_environment, rasa_environment

    settings = Settings(rasa_workers=2)
    env = children_environment(settings, 7001, 7002)
    assert "SANIC_WORKERS" not in env or env["SANIC_WORKERS"] == os.environ.get("SANIC_WORKERS")
    assert rasa_environment(env, settings)["SANIC_WORKERS"] == "2"


def _rasa_processes(root: int) -> list[int]:
    from bot.load_bench import _tree

    found = []
    for pid in _tree(root):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"bot.rasa_server" in cmdline:
            found.append(pid)
    return found


def test_bot_run_starts_the_workers_and_both_answer(tmp_path):
    """`bot run` with RASA_WORKERS=2: one main process and two workers, which both get
    connections (each binds the port with SO_REUSEPORT) and answer; a model swapped in
    through one worker is served by both when the swap answers."""
    import json
    import shutil
    import urllib.request

    from bot.services import newest_model
    from tests.fakes.bot_run import bot_run, require_model

    require_model()
    models = tmp_path / "models"
    models.mkdir()
    first, second = models / "first.tar.gz", models / "second.tar.gz"
    shutil.copy(newest_model(), first)
    shutil.copy(first, second)
    os.utime(first, (time.time() + 60, time.time() + 60))  # the newest: served at start
    settings = {"RASA_WORKERS": "2", "MODELS_DIR": str(models), "MODEL_SWAP_TOKEN": "swap-token"}
    with bot_run(tmp_path, settings) as server:
        processes = _rasa_processes(server.process.pid)
        assert len(processes) == 3  # the main process and its two workers
        workers = {pid for pid in processes if pid not in _direct_children(server.process.pid)}
        before = {pid: _cpu_ticks(pid) for pid in workers}
        for n in range(40):
            body = json.dumps({"sender": f"w{n}", "message": "xin chào"}).encode()
            request = urllib.request.Request(
                f"{server.base}/webhooks/rest/webhook", body, {"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(request, timeout=60) as reply:  # a new connection each
                assert reply.status == 200 and json.loads(reply.read())
        busy = [pid for pid in workers if _cpu_ticks(pid) - before[pid] > 5]
        assert len(busy) == 2, "one worker got every connection"

        def model_call(method: str, body: dict | None = None) -> str:
            request = urllib.request.Request(
                f"{server.base}/model/live",
                json.dumps(body).encode() if body else None,
                {"Authorization": "Bearer swap-token", "Content-Type": "application/json"},
                method=method,
            )
            with urllib.request.urlopen(request, timeout=120) as reply:
                return Path(json.loads(reply.read())["model_file"]).name

        assert {model_call("GET") for _ in range(20)} == {"first.tar.gz"}
        assert model_call("PUT", {"model_file": str(second)}) == "second.tar.gz"
        # The swap answers once every worker serves the new archive.
        assert {model_call("GET") for _ in range(20)} == {"second.tar.gz"}


def _direct_children(root: int) -> set[int]:
    children = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == root:
                    children.add(int(entry.name))
            except OSError:
                continue
    return children


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


# -- chat claims ------------------------------------------------------------------------------


async def test_a_chat_waits_for_the_other_worker_then_is_taken(tmp_path):
    """Worker `b` gets an update of a chat `a` is still answering: it waits for `a`'s turn
    to finish instead of refusing (order kept, no platform retry), then takes the chat."""
    from bot.worker_state import WorkerChatClaims

    a = WorkerChatClaims(None, tmp_path / "locks")
    b = WorkerChatClaims(None, tmp_path / "locks")
    b.replica = "worker-b"  # what a fork gives each worker (same process here)
    assert await a.take("chat")
    assert await a.take("chat")  # a worker's own turns of a chat pile up
    waiting = asyncio.create_task(b.take("chat"))
    await asyncio.sleep(0.1)
    assert not waiting.done()
    await a.release("chat")
    await asyncio.sleep(0.1)
    assert not waiting.done()  # one turn of `a` is left
    await a.release("chat")
    assert await asyncio.wait_for(waiting, 2)
    assert await b.take("other")  # other chats are free all along


async def test_past_the_wait_or_when_stopping_the_update_is_refused(tmp_path):
    from bot.worker_state import WorkerChatClaims

    a = WorkerChatClaims(None, tmp_path / "locks")
    b = WorkerChatClaims(None, tmp_path / "locks", wait_seconds=0.2)
    b.replica = "worker-b"
    assert await a.take("chat")
    assert not await b.take("chat")
    await a.release_all()
    b.stopping = True
    assert not await b.take("chat")


def test_each_forked_worker_claims_under_its_own_id(tmp_path):
    from bot.worker_state import chat_claims_for

    claims = chat_claims_for(None, f"sqlite:///{tmp_path / 't.db'}", workers=2)
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os.write(writer, claims.replica.encode())
        os._exit(0)
    os.waitpid(child, 0)
    assert os.read(reader, 64).decode() != claims.replica
    assert claims._path == tmp_path / "t.db-locks"
    assert chat_claims_for(None, f"sqlite:///{tmp_path / 't.db'}", workers=1)._path is None
    assert chat_claims_for("redis://localhost:1/0", f"sqlite:///{tmp_path / 't.db'}", workers=2)._path is None


# -- rate limit -------------------------------------------------------------------------------


def test_the_rate_limit_counts_a_sender_across_workers(tmp_path):
    from bot.worker_state import SharedRateLimiter, rate_limiter_for

    a = SharedRateLimiter(3, tmp_path / "locks")
    b = SharedRateLimiter(3, tmp_path / "locks")
    assert [a.allow("s", 0.0), b.allow("s", 1.0), a.allow("s", 2.0)] == [True, True, True]
    assert not b.allow("s", 3.0) and not a.allow("s", 4.0)  # 3 a minute, whichever worker
    assert b.allow("other", 4.0)
    assert a.allow("s", 60.5)  # the first message left the window
    assert not b.allow("s", 60.6)
    assert type(rate_limiter_for(3, f"sqlite:///{tmp_path / 't.db'}", workers=1)).__name__ == "RateLimiter"
    assert isinstance(rate_limiter_for(3, f"sqlite:///{tmp_path / 't.db'}", workers=2), SharedRateLimiter)


def test_a_busy_write_lock_is_waited_for_in_short_steps(tmp_path):
    """`begin_immediate` takes the write lock soon after the other worker lets it go (not
    after SQLite's own 1-2-5-10 ms sleeps), and gives up after its timeout."""
    import sqlite3
    import threading

    from bot.lock_store import begin_immediate, connect_shared

    holder, waiter = connect_shared(tmp_path / "f"), connect_shared(tmp_path / "f")
    holder.execute("BEGIN IMMEDIATE")
    released = []
    threading.Timer(0.05, lambda: (holder.execute("COMMIT"), released.append(time.monotonic()))).start()
    begin_immediate(waiter)
    assert time.monotonic() - released[0] < 0.02
    waiter.execute("COMMIT")
    holder.execute("BEGIN IMMEDIATE")
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        begin_immediate(waiter, timeout=0.05)
    holder.execute("COMMIT")


async def test_a_saved_tracker_is_handed_out_again_only_while_nothing_changed(tmp_path):
    """The kept tracker: the same object while the store holds what it saved; rebuilt after
    a turn that failed before its save, after another process wrote, and after a swap of
    the domain; and always equal to a load from the database."""
    store, other = _store(tmp_path / "t.db"), _store(tmp_path / "t.db")
    tracker = DialogueStateTracker.from_events("s", [ActionExecuted("action_listen")])
    _turn(tracker, "one")
    await store.save(tracker)
    kept = await store.retrieve("s")
    assert kept is tracker
    assert _texts(kept) == _texts(await _store(tmp_path / "t.db").retrieve("s")) == ["one"]

    _turn(kept, "never saved")  # a turn that failed before its save
    rebuilt = await store.retrieve("s")
    assert rebuilt is not kept and _texts(rebuilt) == ["one"]

    _turn(rebuilt, "two")
    await store.save(rebuilt)
    assert await store.retrieve("s") is rebuilt
    theirs = await other.retrieve("s")
    _turn(theirs, "three")
    await other.save(theirs)  # another worker wrote
    mine = await store.retrieve("s")
    assert mine is not rebuilt and _texts(mine) == ["one", "two", "three"]

    _turn(mine, "four")
    await store.save(mine)
    assert await store.retrieve("s") is mine
    store.domain = Domain.empty()  # a swapped model
    assert await store.retrieve("s") is not mine
