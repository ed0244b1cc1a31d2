"""Rasa's main process, once it has forked the workers, becomes a small waiter
(bot/rasa_server.py, `_become_waiter`): same process id, the workers still its children, a
SIGTERM passed on to each of them, the live-model file removed once they have exited."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from bot.settings import REPO_ROOT, child_environment

# A stand-in for Rasa's main process: two forked "workers" that note the SIGTERM they get
# and exit, then the same exec as `_serve_multiple` (signals blocked across the fork).
MAIN = """
import os, signal, sys, time
from bot import rasa_server
live, marks = sys.argv[1], sys.argv[2]
both = {signal.SIGINT, signal.SIGTERM}
signal.pthread_sigmask(signal.SIG_BLOCK, both)
pids = []
for n in range(2):
    pid = os.fork()
    if pid == 0:
        def stopped(*_, n=n):
            open(os.path.join(marks, str(n)), "w").close()
            os._exit(0)
        signal.signal(signal.SIGTERM, stopped)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, both)
        while True:
            time.sleep(0.05)
    pids.append(pid)
rasa_server._LIVE["file"] = live
sys.argv = ["rasa", "run", "--port", "5005"]
rasa_server._become_waiter(pids)
"""


def _cmdline(pid: int) -> list[bytes]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")


def test_the_main_process_becomes_a_waiter_that_stops_the_workers(tmp_path: Path) -> None:
    live = tmp_path / "live"
    live.write_text("")
    (tmp_path / "live.served.1").write_text("")
    marks = tmp_path / "marks"
    marks.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-c", MAIN, str(live), str(marks)], cwd=REPO_ROOT, env=child_environment()
    )
    try:
        deadline = time.monotonic() + 30
        while b"--wait-for-workers" not in _cmdline(process.pid):
            assert process.poll() is None and time.monotonic() < deadline, "no exec into the waiter"
            time.sleep(0.05)
        cmdline = _cmdline(process.pid)
        assert b"rasa" in cmdline and b"run" in cmdline  # `ps` (and the crash tests) still see Rasa
        waiter_memory_kb = int(Path(f"/proc/{process.pid}/statm").read_text().split()[1]) * 4
        assert waiter_memory_kb < 40_000  # resident; Rasa's main process held 700 MB
        # At once: a signal before the waiter has its handlers stays pending (blocked
        # across the exec), it does not kill the waiter and, with it, the workers.
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert sorted(p.name for p in marks.iterdir()) == ["0", "1"]  # each worker got SIGTERM
    assert not live.exists() and not (tmp_path / "live.served.1").exists()
