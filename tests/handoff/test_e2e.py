"""End to end through `python -m bot run` (Rasa, the trained model, the action server) with
Telegram pointed at the fake Bot API and the staff-group bridge on: request, consent, the
inbox, the topic in the staff group, the bot silent, danger answered and urgent, a staff
reply from the console API and one from the group, /done, and the user told.

Skipped without a trained model unless REQUIRE_SERVICES=1 (like tests/channels/test_e2e.py).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot import db, handoff
from bot.services import ServiceError, free_port, wait_for_http
from tests.channels.test_e2e import post_telegram, telegram_messages, wait_until
from tests.fakes.telegram import (
    TELEGRAM_SECRET,
    TELEGRAM_TOKEN,
    FakeTelegram,
    callback_update,
    group_update,
    text_update,
)
from tests.handoff.conftest import STAFF_CHAT

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
USER = 555000999


@dataclass
class RunningBot:
    base: str
    telegram: FakeTelegram
    env: dict[str, str]
    database_url: str


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    if not list((REPO_ROOT / "models").glob("*.tar.gz")):
        reason = "no trained model in models/ (run `make train`)"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"{reason}, and REQUIRE_SERVICES=1 forbids skipping")
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("handoff-e2e")
    telegram = FakeTelegram(TELEGRAM_TOKEN).start()
    port, actions_port = free_port(), free_port()
    database_url = f"sqlite:///{tmp / 'bot.db'}"
    ours = {
        "RASA_TELEMETRY_ENABLED": "false",
        "PORT": str(port),
        "ACTIONS_PORT": str(actions_port),
        "DATABASE_URL": database_url,
        "TRACKER_STORE_URL": f"sqlite:///{tmp / 'tracker.db'}",
        "SENDER_ID_SECRET": "e2e-secret",
        "TELEGRAM_TOKEN": TELEGRAM_TOKEN,
        "TELEGRAM_SECRET_TOKEN": TELEGRAM_SECRET,
        "TELEGRAM_API_BASE_URL": telegram.api_base_url,
        "STAFF_TELEGRAM_CHAT_ID": str(STAFF_CHAT),
        "HANDOFF_HOURS": "always",
        "TMPDIR": str(tmp),
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZALO_", "REDIS_URL"))}
    env.update(ours)
    stderr = tmp / "stderr.log"
    with (tmp / "stdout.log").open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
    try:
        try:
            wait_for_http(f"http://127.0.0.1:{port}/webhooks/telegram/", timeout=420, process=process)
        except ServiceError as error:
            pytest.fail(f"`python -m bot run` did not start ({error}):\n{stderr.read_text()[-3000:]}")
        yield RunningBot(f"http://127.0.0.1:{port}", telegram, ours, database_url)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
        telegram.stop()
        db.dispose_engines()


def texts(bot: RunningBot, chat_id: int, thread_id: int | None = None) -> list[str]:
    return bot.telegram.sent_to(chat_id, thread_id)


def test_a_telegram_handoff_end_to_end_with_the_staff_group(bot, monkeypatch):
    for name, value in bot.env.items():  # the console's process reads the same settings
        monkeypatch.setenv(name, value)
    engine = db.get_engine(bot.database_url)

    post_telegram(bot, text_update(900001, "/human", user_id=USER, language="vi"))
    assert wait_until(lambda: any("Họ sẽ không thấy số điện thoại" in t for t in texts(bot, USER))), texts(
        bot, USER
    )
    offer = [m for m in telegram_messages(bot, USER) if "reply_markup" in m][-1]
    yes = offer["reply_markup"]["inline_keyboard"][0][0]
    post_telegram(bot, callback_update(900002, yes["callback_data"], user_id=USER))
    assert wait_until(lambda: any("Tôi đã chuyển cuộc trò chuyện" in t for t in texts(bot, USER))), texts(
        bot, USER
    )

    [summary] = handoff.inbox(engine)
    assert summary.channel == "telegram" and summary.state == "waiting" and str(USER) not in summary.label
    assert wait_until(lambda: bot.telegram.calls_of("createForumTopic"))
    assert bot.telegram.calls_of("createForumTopic")[0].params["name"] == summary.label
    thread = int(handoff._row(engine, summary.id).staff_thread_id)

    # The bot is silent; the message reaches the staff topic.
    before = len(texts(bot, USER))
    post_telegram(bot, text_update(900003, "làm sao lấy lại tiền ký quỹ", user_id=USER))
    assert wait_until(lambda: any("tiền ký quỹ" in t for t in texts(bot, STAFF_CHAT, thread)))
    # Danger is still answered at once, and marks the handoff urgent.
    post_telegram(bot, text_update(900004, "ông chủ đánh tôi", user_id=USER))
    assert wait_until(lambda: any("+84 981 84 84 84" in t for t in texts(bot, USER)[before:]))
    assert len(texts(bot, USER)) == before + 1  # the urgent card only: no answer to the deposit question
    assert handoff.inbox(engine)[0].urgent

    # A reply from the console's API, then one from the staff group; both reach the user.
    result = asyncio.run(handoff.send_staff_reply(engine, summary.id, "lan@ngo.example", "Bạn đang ở đâu?"))
    assert result.ok and texts(bot, USER)[-1] == "Nhân viên: Bạn đang ở đâu?"
    assert handoff.release(engine, summary.id, "lan@ngo.example") is None
    post_telegram(bot, group_update(900005, STAFF_CHAT, "Mình sẽ gọi hỗ trợ cho bạn", thread_id=thread))
    assert wait_until(lambda: texts(bot, USER)[-1] == "Nhân viên: Mình sẽ gọi hỗ trợ cho bạn")

    # /done in the topic: closed, the user told, and the bot answers again.
    post_telegram(bot, group_update(900006, STAFF_CHAT, "/done", thread_id=thread))
    assert wait_until(lambda: "trợ lý tự động" in texts(bot, USER)[-1])
    assert handoff.get(engine, summary.id).state == "closed"
    told = len(texts(bot, USER))
    post_telegram(bot, text_update(900007, "làm sao lấy lại tiền ký quỹ", user_id=USER))
    assert wait_until(lambda: len(texts(bot, USER)) > told)
