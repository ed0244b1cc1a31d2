"""End to end through `python -m bot run` (Rasa, the trained model, the action server) with
Telegram pointed at the fake Bot API and the staff-group bridge on: request, consent, the
inbox, the topic in the staff group, the bot silent, danger answered and urgent, a staff
reply from the console API and one from the group, /done, and the user told.

Skipped without a trained model unless REQUIRE_SERVICES=1 (like tests/channels/test_e2e.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import sqlalchemy as sa

from bot import db, handoff
from bot.staff import accounts
from tests.channels.test_e2e import post_telegram, telegram_messages, wait_until
from tests.fakes.bot_run import bot_run, require_model
from tests.fakes.telegram import (
    TELEGRAM_SECRET,
    TELEGRAM_TOKEN,
    FakeTelegram,
    callback_update,
    group_update,
    text_update,
)
from tests.handoff.conftest import STAFF_CHAT
from tests.staff.conftest import csrf_of

pytestmark = pytest.mark.e2e

USER = 555000999


@dataclass
class RunningBot:
    base: str
    telegram: FakeTelegram
    env: dict[str, str]
    database_url: str
    staff: str = ""  # the staff console `bot run` started


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    require_model()
    tmp = tmp_path_factory.mktemp("handoff-e2e")
    telegram = FakeTelegram(TELEGRAM_TOKEN).start()
    settings = {
        "TELEGRAM_TOKEN": TELEGRAM_TOKEN,
        "TELEGRAM_SECRET_TOKEN": TELEGRAM_SECRET,
        "TELEGRAM_API_BASE_URL": telegram.api_base_url,
        "STAFF_TELEGRAM_CHAT_ID": str(STAFF_CHAT),
        "HANDOFF_HOURS": "always",
        "TMPDIR": str(tmp),
    }
    try:
        with bot_run(tmp, settings, drop=("ZALO_",), ready_path="/webhooks/telegram/") as run:
            yield RunningBot(run.base, telegram, run.env, run.database_url, run.staff)
    finally:
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


STAFF_PASSWORD = "correct horse battery"
STAFF_USER = 555000777
QUEUE_USERS = (555000778, 555000779)


def _staff_client(bot: RunningBot, engine) -> httpx.Client:  # type: ignore[no-untyped-def]
    """A staff member logged in to the console that `bot run` started beside the assistant."""
    user, one_time = accounts.create_user(engine, "lan@ngo.example", "editor")
    accounts.change_password(engine, user, one_time, STAFF_PASSWORD, STAFF_PASSWORD)
    client = httpx.Client(base_url=bot.staff, follow_redirects=False, timeout=60)
    token = csrf_of(client.get("/login").text)
    login = client.post(
        "/login", data={"csrf": token, "email": "lan@ngo.example", "password": STAFF_PASSWORD}
    )
    assert login.status_code == 303, login.text
    return client


def test_a_handoff_through_the_real_console_pages(bot):
    """Issue 11 through the console itself (no fakes): the request in the inbox, a staff
    reply that reaches the user through the Telegram API, the end of the handoff, and a
    fallback in the queue, masked and grouped; every turn also counted in the statistics."""
    engine = db.get_engine(bot.database_url)
    post_telegram(bot, text_update(910001, "/human", user_id=STAFF_USER, language="vi"))
    assert wait_until(lambda: any("Họ sẽ không thấy số điện thoại" in t for t in texts(bot, STAFF_USER)))
    offer = [m for m in telegram_messages(bot, STAFF_USER) if "reply_markup" in m][-1]
    yes = offer["reply_markup"]["inline_keyboard"][0][0]
    post_telegram(bot, callback_update(910002, yes["callback_data"], user_id=STAFF_USER))
    assert wait_until(lambda: any("Tôi đã chuyển cuộc trò chuyện" in t for t in texts(bot, STAFF_USER)))
    [summary] = [s for s in handoff.inbox(engine) if s.state == "waiting"]

    staff = _staff_client(bot, engine)
    inbox = staff.get("/inbox")
    assert inbox.status_code == 200 and summary.label in inbox.text and str(STAFF_USER) not in inbox.text
    page = staff.get(f"/handoffs/{summary.id}")
    assert page.status_code == 200
    sent = staff.post(
        f"/handoffs/{summary.id}/reply",
        data={"csrf": csrf_of(page.text), "text": "Chào bạn, mình là nhân viên."},
    )
    assert sent.status_code == 303, sent.text
    assert wait_until(lambda: texts(bot, STAFF_USER)[-1] == "Nhân viên: Chào bạn, mình là nhân viên.")
    ended = staff.post(
        f"/handoffs/{summary.id}/end", data={"csrf": csrf_of(page.text), "outcome": "resolved"}
    )
    assert ended.status_code == 303
    assert wait_until(lambda: "trợ lý tự động" in texts(bot, STAFF_USER)[-1])
    assert handoff.get(engine, summary.id).state == "closed"

    # A question the bot cannot answer, from two people, with their phone numbers.
    for update_id, (user, text) in enumerate(
        zip(
            QUEUE_USERS,
            ("thời tiết hôm nay thế nào, gọi 0912 345 678", "thoi tiet hom nay the nao, goi 0987654321"),
            strict=True,
        ),
        start=910010,
    ):
        post_telegram(bot, text_update(update_id, text, user_id=user, language="vi"))
        assert wait_until(lambda user=user: texts(bot, user))
    queue = staff.get("/queue")
    assert queue.status_code == 200
    assert "thoi tiet hom nay the nao, goi [phone]" in queue.text and "2 lần" in queue.text
    assert "0912" not in queue.text and "0987654321" not in queue.text

    with engine.connect() as conn:
        counted = conn.execute(
            sa.select(sa.func.sum(db.stats_turns.c.turns)).where(db.stats_turns.c.channel == "telegram")
        ).scalar()
    assert counted and counted >= 4
