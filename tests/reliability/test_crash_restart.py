"""0 lost across a crash and a graceful restart at 20 updates/s; 0 duplicated on the
graceful restart, at most the replies in flight at the instant of a crash (SIGKILL).

300 Telegram updates (each its own chat) are sent at 20 per second through a real
`python -m bot run`, with one Rasa worker and with two (RASA_WORKERS), delivered the way
Telegram does (retried until a 2xx). Six seconds in, the Rasa server process is killed
(SIGKILL) in one run, and `bot run` gets SIGTERM in the other; a supervisor's restart
follows. Every update must get exactly one reply from the fake Bot API (a crash may answer
again the few replies whose acceptance had not reached the bot when it died). The figures
are printed (and recorded in docs/reliability.md).

Slow (two starts of the server per run): marked `e2e`; skipped without a trained model.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.fakes.bot_run import REPO_ROOT, environment, require_model
from tests.fakes.telegram import TELEGRAM_TOKEN, FakeTelegram
from tests.fakes.zalo import FakeZalo
from tests.reliability.running import Bot, TelegramRedelivery, telegram_text

pytestmark = pytest.mark.e2e

UPDATES = 300
RATE = 20.0  # updates per second
EVENT_AT = 6.0  # seconds after the first update
QUESTIONS = [
    "làm sao lấy lại tiền ký quỹ",
    "xin chào",
    "how do I get my deposit back",
    "bảo hiểm xã hội một lần",
]


def run_with(event: str, tmp: Path, workers: int = 1) -> dict[str, int]:
    telegram = FakeTelegram(TELEGRAM_TOKEN).start()
    zalo = FakeZalo("1", "x", "access-0", "refresh-0").start()
    bot = Bot(tmp, telegram, zalo, {"TURN_LEASE_SECONDS": "10", "RASA_WORKERS": str(workers)})
    try:
        bot.start()
        sender = TelegramRedelivery(bot, give_up_after=300)
        chats = {n: 880_000_000 + n for n in range(UPDATES)}
        started = time.monotonic()
        restarted = threading.Event()
        stopped_at: list[float] = []
        killed_at: list[float] = []

        failure: list[BaseException] = []

        def disrupt() -> None:
            try:
                time.sleep(EVENT_AT)
                stopped_at.append(time.monotonic())
                if event == "crash":
                    killed_at.append(bot.kill_rasa())
                else:
                    # As long as systemd waits (TimeoutStopSec, 90 s): `bot run` allows Rasa
                    # 45 s; a SIGKILL of the group before that would be a crash, not this.
                    bot.terminate(timeout=90)
                stopped_at.append(time.monotonic())
                bot.start()  # the supervisor (systemd, `restart: always`) starts it again
            except BaseException as error:  # noqa: BLE001 - reported by the main thread
                failure.append(error)
            finally:
                restarted.set()

        disruption = threading.Thread(target=disrupt, daemon=True)
        disruption.start()
        with ThreadPoolExecutor(max_workers=32) as pool:
            for n in range(UPDATES):
                delay = started + n / RATE - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(
                    sender.deliver, telegram_text(10_000 + n, chats[n], QUESTIONS[n % len(QUESTIONS)])
                )
        assert restarted.wait(timeout=900)
        assert not failure, failure
        time.sleep(2)  # any late or duplicate reply
        replies = Counter(
            int(c.params["chat_id"]) for c in telegram.calls_of("sendMessage") if "chat_id" in c.params
        )
        # A reply may be several messages (a card and its follow-ups); each question always
        # gets the same number, so a chat with more than that got a turn twice.
        per_question: dict[int, int] = {}
        for n in range(UPDATES):
            count = replies[chats[n]]
            if count:
                q = n % len(QUESTIONS)
                per_question[q] = min(per_question.get(q, count), count)
        lost = [n for n in range(UPDATES) if replies[chats[n]] == 0]
        duplicated = [
            n for n in range(UPDATES) if replies[chats[n]] > per_question.get(n % len(QUESTIONS), 0) > 0
        ]
        figures = {
            "updates": UPDATES,
            "acknowledged": len(sender.acknowledged),
            "answered": UPDATES - len(lost),
            "lost": len(lost),
            "duplicated": len(duplicated),
            "deliveries": sender.attempts,
        }
        print(
            f"\n{event}, {workers} Rasa worker(s), at {RATE:.0f} updates/s: {figures}; "
            f"stopped in {stopped_at[1] - stopped_at[0]:.1f} s"
        )
        # When each duplicated update's first reply reached the platform, against the stop:
        # a reply accepted just before it and marked too late shows as a small negative time.
        first_sent = {}
        for call in telegram.calls_of("sendMessage"):
            first_sent.setdefault(int(call.params.get("chat_id", 0)), call)
        offsets = sorted(round(first_sent[chats[n]].at - stopped_at[0], 3) for n in duplicated)
        print(f"duplicated: first reply at {offsets} s from the stop")
        if killed_at:
            # Whether the fake Bot API had written its 200 for that first reply before the
            # kill: if not, no process could have known the reply was accepted (the network
            # answer is the window that cannot close); if so, the bot died while reading it.
            answered = [first_sent[chats[n]].answered_at for n in duplicated]
            before = sorted(
                round(at - killed_at[0], 4) for at in answered if at is not None and at < killed_at[0]
            )
            figures["duplicated, 200 written before the kill"] = len(before)
            print(f"duplicated whose 200 was written before the kill: at {before} s from it")
        return figures
    finally:
        bot.terminate()
        telegram.stop()
        zalo.stop()


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("event", ["crash", "graceful"])
def test_no_update_is_lost_or_answered_twice_across_a_restart(event, workers, tmp_path):
    require_model()
    figures = run_with(event, tmp_path, workers)
    assert figures["acknowledged"] == UPDATES
    assert figures["lost"] == 0, figures
    if event == "graceful":
        assert figures["duplicated"] == 0, figures
    else:
        # A process killed between the platform accepting a reply and the bot hearing of
        # it leaves that update to be answered again (docs/reliability.md): marking before
        # sending would lose those replies instead. The sending thread marks it in the
        # replied journal in microseconds on Telegram's 200; measured with the journal, 0-6
        # of 300 (0, 0, 6, 0, 0, 0, 3, 3, 0, 0, 0, 1, 0, 4), of which 1 had its 200 written by
        # the fake Bot API before the kill (the part the bot controls). Before it: 0-8.
        assert figures["duplicated"] <= 6, figures
        assert figures["duplicated, 200 written before the kill"] <= 2, figures


def test_a_sigterm_while_bot_run_starts_stops_its_children_too(tmp_path):
    """systemd or a supervisor may stop `bot run` while it is still starting (Rasa loading
    the model, the staff console not up yet). It used to handle SIGTERM only once everything
    had started: the signal killed `bot run` alone, Rasa was left running without it, and
    in the test above the "graceful" restart turned into a SIGKILL of the group."""
    require_model()
    env, _ = environment(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while not _children(process.pid):  # Rasa has been started
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=90) == 0  # not killed by the signal: it stopped its children
        with pytest.raises(ProcessLookupError):
            os.killpg(process.pid, 0)  # nothing of it is left running
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return found
