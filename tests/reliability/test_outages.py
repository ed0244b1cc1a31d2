"""Emergencies with everything down, through a real `python -m bot run`.

- PostgreSQL unreachable at start (DATABASE_URL and TRACKER_STORE_URL point at a closed
  port): `bot run` starts and says so; danger gets the urgent card on Telegram, Zalo, web
  chat and REST within 2 s; other messages get "temporarily unavailable" with the urgent
  numbers; when PostgreSQL comes back (a proxy starts on that port) ordinary answers return.
- Redis unreachable (REDIS_URL at a closed port): the same on every channel.
- No action server at all: the actions run in the Rasa process, so questions are answered.

Slow (starts the server): marked `e2e`; skipped without a trained model.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from bot.services import free_port
from tests.fakes.bot_run import require_model
from tests.fakes.telegram import TELEGRAM_TOKEN, FakeTelegram
from tests.fakes.zalo import ZALO_APP_ID, ZALO_APP_SECRET, FakeZalo
from tests.reliability.running import Bot, post_telegram, post_zalo, telegram_text, zalo_text

pytestmark = pytest.mark.e2e

DANGER_VI = "chủ đánh em, cứu em với"
URGENT_NUMBER = "+84 981 84 84 84"  # in the urgent card and in the "unavailable" reply
UNAVAILABLE_VI = "tạm thời không hoạt động"
POSTGRES = ("127.0.0.1", 5432)


class TcpProxy:
    """Forwards a local port to PostgreSQL; off until `start` (the outage), on after."""

    def __init__(self, port: int, target: tuple[str, int]) -> None:
        self.port, self.target = port, target
        self._server: socket.socket | None = None

    def start(self) -> None:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(50)
        self._server = server
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        assert self._server is not None
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self) -> None:
        if self._server is not None:
            self._server.close()


@pytest.fixture
def fakes() -> Iterator[tuple[FakeTelegram, FakeZalo]]:
    telegram = FakeTelegram(TELEGRAM_TOKEN).start()
    zalo = FakeZalo(ZALO_APP_ID, ZALO_APP_SECRET, "access-0", "refresh-0").start()
    yield telegram, zalo
    telegram.stop()
    zalo.stop()


def wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def check_every_channel(bot: Bot, tag: int) -> None:
    """Danger gets the urgent card within 2 s on all four channels; an ordinary question is
    never met with silence."""
    telegram, zalo = bot.telegram, bot.zalo
    chat = 770_000_000 + tag
    started = time.monotonic()
    assert (
        post_telegram(bot.base, telegram_text(500_000 + tag, chat, DANGER_VI), timeout=10).status_code == 200
    )
    assert wait_for(
        lambda: any(URGENT_NUMBER in t for t in telegram.sent_to(chat)), 2.0 - (time.monotonic() - started)
    )
    assert "113" in telegram.sent_to(chat)[0]  # the card itself, not the short reply

    zalo_user = f"88001122334455{tag:05d}"
    started = time.monotonic()
    assert post_zalo(bot.base, zalo_text(zalo_user, DANGER_VI, f"z{tag}a")).status_code == 200
    assert wait_for(
        lambda: any("113" in t for t in zalo.delivered_texts()), 2.0 - (time.monotonic() - started)
    )

    started = time.monotonic()
    web = httpx.post(
        bot.base + "/webhooks/webchat/webhook",
        json={"sender": f"reliab{tag:08d}", "message": DANGER_VI},
        timeout=2,
    )
    assert web.status_code == 200, bot.stderr()[-4000:]
    assert any(m.get("urgent") for m in web.json())
    rest = httpx.post(
        bot.base + "/webhooks/rest/webhook", json={"sender": f"reliab{tag}", "message": DANGER_VI}, timeout=2
    )
    assert rest.status_code == 200 and any("113" in m.get("text", "") for m in rest.json())
    assert time.monotonic() - started < 4.0  # both within their 2 s timeouts

    ordinary = chat + 1
    assert (
        post_telegram(bot.base, telegram_text(600_000 + tag, ordinary, "xin chào"), timeout=10).status_code
        == 200
    )
    assert wait_for(lambda: telegram.sent_to(ordinary), 5.0), "silence"
    rest = httpx.post(
        bot.base + "/webhooks/rest/webhook", json={"sender": f"ord{tag}", "message": "xin chào"}, timeout=10
    )
    assert rest.status_code == 200 and rest.json(), "silence"


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A fresh database on the local PostgreSQL (trust), dropped afterwards."""
    name = f"reliab_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(
        f"postgresql://postgres@{POSTGRES[0]}:{POSTGRES[1]}/postgres", isolation_level="AUTOCOMMIT"
    )
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # noqa: BLE001
        pytest.skip(f"no PostgreSQL at {POSTGRES}: {type(error).__name__}")
    yield name
    with admin.connect() as conn:
        conn.execute(
            sa.text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
        )
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def test_postgresql_down_at_start_then_back(tmp_path: Path, fakes, postgres_database):
    require_model()
    telegram, zalo = fakes
    proxy = TcpProxy(free_port(), POSTGRES)  # closed: PostgreSQL is "down"
    url = f"postgresql://postgres@127.0.0.1:{proxy.port}/{postgres_database}"
    bot = Bot(tmp_path, telegram, zalo, {"DATABASE_URL": url, "TRACKER_STORE_URL": url})
    try:
        bot.start()
        assert "database (DATABASE_URL) is unreachable" in bot.stderr()
        check_every_channel(bot, 1)
        unavailable = [t for t in telegram.sent_to(770_000_002)]
        assert unavailable and UNAVAILABLE_VI in unavailable[0] and URGENT_NUMBER in unavailable[0]

        proxy.start()  # PostgreSQL is back
        chat = 770_000_100

        def answered() -> bool:
            n = len(telegram.calls_of("sendMessage"))
            post_telegram(
                bot.base, telegram_text(700_000 + n, chat, "làm sao lấy lại tiền ký quỹ"), timeout=30
            )
            time.sleep(1)
            return any("ký quỹ" in t.lower() and UNAVAILABLE_VI not in t for t in telegram.sent_to(chat))

        assert wait_for(answered, 90), "the bot did not recover when PostgreSQL came back"
    finally:
        bot.terminate()
        proxy.stop()


def test_redis_down(tmp_path: Path, fakes):
    require_model()
    telegram, zalo = fakes
    bot = Bot(tmp_path, telegram, zalo, {"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    try:
        bot.start()
        check_every_channel(bot, 2)
        [unavailable] = telegram.sent_to(770_000_003)
        assert UNAVAILABLE_VI in unavailable and URGENT_NUMBER in unavailable
    finally:
        bot.terminate()


def test_no_action_server_and_questions_are_still_answered(tmp_path: Path, fakes):
    require_model()
    telegram, zalo = fakes
    bot = Bot(tmp_path, telegram, zalo)
    try:
        bot.start()
        actions_port = int(bot.env()["ACTIONS_PORT"])
        with pytest.raises(OSError):  # nothing there: the actions run inside the Rasa server
            socket.create_connection(("127.0.0.1", actions_port), timeout=1).close()
        chat = 770_000_200
        assert (
            post_telegram(bot.base, telegram_text(800_000, chat, "làm sao lấy lại tiền ký quỹ")).status_code
            == 200
        )
        assert wait_for(lambda: telegram.sent_to(chat), 10)
        assert (
            "ký quỹ" in telegram.sent_to(chat)[0].lower() and UNAVAILABLE_VI not in telegram.sent_to(chat)[0]
        )
        rest = httpx.post(
            bot.base + "/webhooks/rest/webhook",
            json={"sender": "q1", "message": "how do I get my deposit back"},
            timeout=30,
        )
        assert "deposit" in rest.json()[0]["text"].lower()
    finally:
        bot.terminate()
