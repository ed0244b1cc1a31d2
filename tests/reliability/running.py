"""`python -m bot run` as a process the reliability tests start, stop, kill and restart,
with Telegram and Zalo pointed at the fakes (real HTTP servers on 127.0.0.1)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bot.channels.zalo_api import signature
from bot.services import free_port
from tests.fakes.bot_run import environment, start, stop
from tests.fakes.telegram import TELEGRAM_SECRET, TELEGRAM_TOKEN, FakeTelegram
from tests.fakes.zalo import ZALO_APP_ID, ZALO_APP_SECRET, ZALO_OA_SECRET, FakeZalo

ZALO_OA = "3662729599332560487"


@dataclass
class Bot:
    """One `bot run` (restartable, on the same port) and the fakes it talks to; started,
    waited for and stopped by `tests.fakes.bot_run`."""

    tmp: Path
    telegram: FakeTelegram
    zalo: FakeZalo
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    process: subprocess.Popen | None = None
    starts: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        settings = {
            "SENDER_ID_SECRET": "reliability-secret",
            "TELEGRAM_TOKEN": TELEGRAM_TOKEN,
            "TELEGRAM_SECRET_TOKEN": TELEGRAM_SECRET,
            "TELEGRAM_API_BASE_URL": self.telegram.api_base_url,
            "ZALO_APP_ID": ZALO_APP_ID,
            "ZALO_OA_SECRET_KEY": ZALO_OA_SECRET,
            "ZALO_APP_SECRET": ZALO_APP_SECRET,
            "ZALO_ACCESS_TOKEN": "access-0",
            "ZALO_REFRESH_TOKEN": "refresh-0",
            "ZALO_API_BASE_URL": self.zalo.base,
            "ZALO_OAUTH_BASE_URL": self.zalo.base,
            "RATE_LIMIT_PER_MINUTE": "1000",
            **self.extra_env,
        }
        return environment(self.tmp, settings, port=self.port)[0]

    def start(self, timeout: float = 420) -> None:
        self.port = self.port or free_port()
        self.starts += 1
        stdout = self.tmp / f"stdout-{self.starts}.log"
        self.process = start(
            self.env(),
            stdout,
            self.tmp / f"stderr-{self.starts}.log",
            f"{self.base}/webhooks/telegram/",
            timeout,
        )
        # Started: `bot run` prints its banner once the staff console is up too. Stopped
        # before that, an earlier `bot run` died of the SIGTERM at once and the test's
        # SIGKILL of the group made the "graceful" restart a crash.
        deadline = time.monotonic() + timeout
        while "Press Ctrl+C" not in stdout.read_text(encoding="utf-8", errors="replace"):
            assert self.process.poll() is None and time.monotonic() < deadline, (
                "bot run did not finish starting"
            )
            time.sleep(0.2)

    def stderr(self) -> str:
        return (self.tmp / f"stderr-{self.starts}.log").read_text(errors="replace")

    def rasa_pid(self) -> int:
        """The `rasa run` child of this `bot run`."""
        assert self.process is not None
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent == self.process.pid and b"rasa" in cmdline and b"run" in cmdline:
                return int(entry.name)
        raise AssertionError("no rasa run child found")

    def kill_rasa(self) -> float:
        """A crash: SIGKILL of the Rasa server process (`bot run` then exits, and the Rasa
        workers die with their main process); returns the time of the kill."""
        os.kill(self.rasa_pid(), signal.SIGKILL)
        killed_at = time.monotonic()
        assert self.process is not None
        self.process.wait(timeout=60)
        return killed_at

    def terminate(self, timeout: float = 60) -> None:
        """A graceful stop (SIGTERM to `bot run`, as systemd does), then SIGKILL to what is
        left of its process group."""
        if self.process is not None:
            stop(self.process, timeout, group_signal=signal.SIGKILL)


def telegram_text(update_id: int, chat_id: int, text: str, language: str = "vi") -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "from": {"id": chat_id, "is_bot": False, "first_name": "An", "language_code": language},
            "chat": {"id": chat_id, "type": "private", "first_name": "An"},
            "text": text,
        },
    }


def post_telegram(base: str, update: dict[str, Any], timeout: float = 60) -> httpx.Response:
    return httpx.post(
        base + "/webhooks/telegram/webhook",
        json=update,
        headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
        timeout=timeout,
    )


def zalo_text(user_id: str, text: str, msg_id: str) -> dict[str, Any]:
    return {
        "event_name": "user_send_text",
        "app_id": ZALO_APP_ID,
        "sender": {"id": user_id},
        "recipient": {"id": ZALO_OA},
        "message": {"text": text, "msg_id": msg_id},
        "timestamp": str(int(time.time() * 1000)),
    }


def post_zalo(base: str, body: dict[str, Any], timeout: float = 10) -> httpx.Response:
    raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
    mac = "mac=" + signature(ZALO_APP_ID, raw, body["timestamp"], ZALO_OA_SECRET)
    return httpx.post(
        base + "/webhooks/zalo/webhook",
        content=raw,
        headers={"X-ZEvent-Signature": mac, "Content-Type": "application/json"},
        timeout=timeout,
    )


class TelegramRedelivery:
    """Delivers updates the way Telegram does: each one is POSTed until it gets a 2xx,
    retrying after a connection error, a timeout or any other status."""

    def __init__(self, bot: Bot, retry_every: float = 1.0, give_up_after: float = 900.0) -> None:
        self._bot = bot
        self._retry_every = retry_every
        self._give_up_after = give_up_after
        self.attempts = 0
        self.acknowledged: set[int] = set()
        self._lock = threading.Lock()

    def deliver(self, update: dict[str, Any]) -> None:
        deadline = time.monotonic() + self._give_up_after
        while time.monotonic() < deadline:
            with self._lock:
                self.attempts += 1
            try:
                if post_telegram(self._bot.base, update, timeout=60).status_code // 100 == 2:
                    with self._lock:
                        self.acknowledged.add(update["update_id"])
                    return
            except httpx.HTTPError:
                pass
            time.sleep(self._retry_every)
