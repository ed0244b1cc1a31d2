"""End to end: `python -m bot run` (Rasa + the trained model + the action server) with both
channels pointed at the fake Telegram and Zalo servers on 127.0.0.1.

Skipped when no trained model is in models/ (run `make train`), unless REQUIRE_SERVICES=1,
which turns the skip into a failure. Slow (the server loads TensorFlow): marked `e2e`.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from bot.channels.zalo_api import signature
from bot.services import wait_for_http
from tests.fakes.bot_run import bot_run, require_model
from tests.fakes.telegram import TELEGRAM_SECRET, TELEGRAM_TOKEN, FakeTelegram, callback_update, text_update
from tests.fakes.zalo import ZALO_APP_ID, ZALO_APP_SECRET, ZALO_OA_SECRET, FakeZalo

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
VI_QUESTION = "làm sao lấy lại tiền ký quỹ"
EN_QUESTION = "how do I get my deposit back"
TELEGRAM_VI_USER, TELEGRAM_EN_USER, TELEGRAM_TAP_USER = 555000111, 555000222, 555000333
ZALO_VI_USER, ZALO_EN_USER, ZALO_TAP_USER = (
    "8800112233445566778",
    "8800112233445566779",
    "8800112233445566780",
)
ALL_PLATFORM_IDS = [str(i) for i in (TELEGRAM_VI_USER, TELEGRAM_EN_USER, TELEGRAM_TAP_USER)] + [
    ZALO_VI_USER,
    ZALO_EN_USER,
    ZALO_TAP_USER,
]


def card_title(card_id: str, lang: str) -> str:
    text = (REPO_ROOT / "content" / lang / f"{card_id}.md").read_text(encoding="utf-8")
    return yaml.safe_load(text.split("---")[1])["title"]


def follow_ups(card_id: str) -> list[str]:
    text = (REPO_ROOT / "content" / "vi" / f"{card_id}.md").read_text(encoding="utf-8")
    return list(yaml.safe_load(text.split("---")[1]).get("follow_up") or [])


@dataclass
class RunningBot:
    base: str
    telegram: FakeTelegram
    zalo: FakeZalo
    tracker_db: Path
    stdout: Path
    stderr: Path
    staff: str = ""  # the staff console's address


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    require_model()
    tmp = tmp_path_factory.mktemp("e2e")
    (tmp / "tmp").mkdir()
    telegram = FakeTelegram(TELEGRAM_TOKEN).start()
    zalo = FakeZalo(ZALO_APP_ID, ZALO_APP_SECRET, "access-0", "refresh-0").start()
    settings = {
        "TELEGRAM_TOKEN": TELEGRAM_TOKEN,
        "TELEGRAM_SECRET_TOKEN": TELEGRAM_SECRET,
        "TELEGRAM_API_BASE_URL": telegram.api_base_url,
        "ZALO_APP_ID": ZALO_APP_ID,
        "ZALO_OA_SECRET_KEY": ZALO_OA_SECRET,
        "ZALO_APP_SECRET": ZALO_APP_SECRET,
        "ZALO_ACCESS_TOKEN": "access-0",
        "ZALO_REFRESH_TOKEN": "refresh-0",
        "ZALO_API_BASE_URL": zalo.base,
        "ZALO_OAUTH_BASE_URL": zalo.base,
        "TMPDIR": str(tmp / "tmp"),  # every temporary file of the run lands here, to be checked
    }
    try:
        with bot_run(tmp, settings, ready_path="/webhooks/telegram/") as run:
            yield RunningBot(
                run.base, telegram, zalo, run.tracker_db, run.stdout, run.stderr, staff=run.staff
            )
    finally:
        telegram.stop()
        zalo.stop()
    leftovers = [p.name for p in (tmp / "tmp").glob("bot-run-*")]
    assert leftovers == [], f"`bot run` left its runtime files behind: {leftovers}"


def post_telegram(bot: RunningBot, update: dict) -> None:
    reply = httpx.post(
        bot.base + "/webhooks/telegram/webhook",
        json=update,
        headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
        timeout=10,
    )
    assert reply.status_code == 200


def zalo_text(user_id: str, text: str) -> dict:
    msg_id = hashlib.sha256(f"{user_id}{text}{time.time()}".encode()).hexdigest()[:20]
    return {
        "event_name": "user_send_text",
        "app_id": ZALO_APP_ID,
        "sender": {"id": user_id},
        "recipient": {"id": "3662729599332560487"},
        "message": {"text": text, "msg_id": msg_id},
        "timestamp": str(int(time.time() * 1000)),
    }


def post_zalo(bot: RunningBot, body: dict) -> None:
    message = body.get("message") or {}
    if message.get("msg_id"):
        bot.zalo.message_users[str(message["msg_id"])] = str(body["sender"]["id"])
    raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
    mac = "mac=" + signature(ZALO_APP_ID, raw, body["timestamp"], ZALO_OA_SECRET)
    reply = httpx.post(
        bot.base + "/webhooks/zalo/webhook",
        content=raw,
        headers={"X-ZEvent-Signature": mac, "Content-Type": "application/json"},
        timeout=10,
    )
    assert reply.status_code == 200


def telegram_messages(bot: RunningBot, chat_id: int) -> list[dict]:
    return [c.params for c in bot.telegram.calls_of("sendMessage") if int(c.params["chat_id"]) == chat_id]


def zalo_messages(bot: RunningBot, user_id: str) -> list[dict]:
    return [
        c.params["message"]
        for c in bot.zalo.sent()
        if c.params.get("_delivered") and _zalo_recipient(bot, c.params["recipient"]) == user_id
    ]


def _zalo_recipient(bot: RunningBot, recipient: dict) -> str | None:
    """The user a send reached: named, or by the message it replies to (free replies)."""
    if "user_id" in recipient:
        return str(recipient["user_id"])
    return bot.zalo.message_users.get(str(recipient.get("message_id")))


def wait_until(predicate, timeout: float = 90.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def test_telegram_vietnamese_question_gets_the_vietnamese_card(bot):
    title = card_title("deposit_refund", "vi")
    post_telegram(bot, text_update(700001, VI_QUESTION, user_id=TELEGRAM_VI_USER, language="vi"))
    assert wait_until(lambda: any(title in m["text"] for m in telegram_messages(bot, TELEGRAM_VI_USER))), [
        m["text"][:80] for m in telegram_messages(bot, TELEGRAM_VI_USER)
    ]
    message = next(m for m in telegram_messages(bot, TELEGRAM_VI_USER) if title in m["text"])
    assert message["parse_mode"] == "HTML"


def test_telegram_english_question_gets_the_english_card(bot):
    title = card_title("deposit_refund", "en")
    post_telegram(bot, text_update(700002, EN_QUESTION, user_id=TELEGRAM_EN_USER, language="en"))
    assert wait_until(lambda: any(title in m["text"] for m in telegram_messages(bot, TELEGRAM_EN_USER))), [
        m["text"][:80] for m in telegram_messages(bot, TELEGRAM_EN_USER)
    ]


def test_telegram_button_tap_gets_the_follow_up_answer(bot):
    post_telegram(bot, text_update(700003, VI_QUESTION, user_id=TELEGRAM_TAP_USER, language="vi"))
    assert wait_until(lambda: any(m.get("reply_markup") for m in telegram_messages(bot, TELEGRAM_TAP_USER)))
    keyboard = next(
        m["reply_markup"] for m in telegram_messages(bot, TELEGRAM_TAP_USER) if m.get("reply_markup")
    )
    buttons = {b["text"]: b["callback_data"] for row in keyboard["inline_keyboard"] for b in row}
    follow_up = follow_ups("deposit_refund")[0]
    follow_title = card_title(follow_up, "vi")
    assert follow_title in buttons, buttons
    assert all(len(data.encode()) <= 64 for data in buttons.values())
    before = len(telegram_messages(bot, TELEGRAM_TAP_USER))
    post_telegram(bot, callback_update(700004, buttons[follow_title], user_id=TELEGRAM_TAP_USER))
    assert wait_until(
        lambda: any(follow_title in m["text"] for m in telegram_messages(bot, TELEGRAM_TAP_USER)[before:])
    )
    assert any(
        c.params["callback_query_id"] == "cbq700004" for c in bot.telegram.calls_of("answerCallbackQuery")
    )


def test_zalo_vietnamese_question_gets_the_vietnamese_card(bot):
    title = card_title("deposit_refund", "vi")
    post_zalo(bot, zalo_text(ZALO_VI_USER, VI_QUESTION))
    assert wait_until(lambda: any(title in m["text"] for m in zalo_messages(bot, ZALO_VI_USER))), [
        m["text"][:80] for m in zalo_messages(bot, ZALO_VI_USER)
    ]
    assert all("**" not in m["text"] and len(m["text"]) <= 2000 for m in zalo_messages(bot, ZALO_VI_USER))


def test_zalo_english_question_gets_the_english_card(bot):
    title = card_title("deposit_refund", "en")
    post_zalo(bot, zalo_text(ZALO_EN_USER, EN_QUESTION))
    assert wait_until(lambda: any(title in m["text"] for m in zalo_messages(bot, ZALO_EN_USER))), [
        m["text"][:80] for m in zalo_messages(bot, ZALO_EN_USER)
    ]


def test_zalo_quick_reply_tap_gets_the_follow_up_answer(bot):
    post_zalo(bot, zalo_text(ZALO_TAP_USER, VI_QUESTION))
    assert wait_until(lambda: any("attachment" in m for m in zalo_messages(bot, ZALO_TAP_USER)))
    buttons = [
        b
        for m in zalo_messages(bot, ZALO_TAP_USER)
        if "attachment" in m
        for b in m["attachment"]["payload"]["buttons"]
    ]
    follow_title = card_title(follow_ups("deposit_refund")[0], "vi")
    tapped = next((b for b in buttons if b["title"] == follow_title), None)
    assert tapped is not None and tapped["type"] == "oa.query.show", buttons
    before = len(zalo_messages(bot, ZALO_TAP_USER))
    post_zalo(bot, zalo_text(ZALO_TAP_USER, tapped["payload"]))  # Zalo sends the tap back as text
    assert wait_until(
        lambda: any(
            m["text"].startswith(follow_title) or follow_title in m["text"].split("\n")[0]
            for m in zalo_messages(bot, ZALO_TAP_USER)[before:]
        )
    )


def test_no_platform_id_or_message_text_in_the_tracker_store_or_the_logs(bot):
    # Its own conversation on each platform, so the test stands alone; when the whole file
    # runs it also covers the conversations of the tests above.
    telegram_user, zalo_user = 555000999, "8800112233445566999"
    post_telegram(bot, text_update(700099, VI_QUESTION, user_id=telegram_user, language="vi"))
    post_zalo(bot, zalo_text(zalo_user, EN_QUESTION))
    assert wait_until(lambda: telegram_messages(bot, telegram_user) and zalo_messages(bot, zalo_user))
    time.sleep(1.0)  # the tracker is saved right after the replies are sent
    with sqlite3.connect(bot.tracker_db) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        dump = "\n".join(
            repr(row)
            for table in tables
            for row in db.execute(f'SELECT * FROM "{table}"')  # noqa: S608
        )
    assert "telegram-" in dump and "zalo-" in dump, "expected pseudonymous senders in the tracker store"
    assert "deposit_refund" in dump  # the conversation itself is there (under pseudonyms)
    for platform_id in ALL_PLATFORM_IDS + [str(telegram_user), zalo_user]:
        assert platform_id not in dump
    logs = bot.stdout.read_text(errors="replace") + bot.stderr.read_text(errors="replace")
    assert "The assistant is running" in logs  # the capture works
    for secret in ALL_PLATFORM_IDS + [
        str(telegram_user),
        zalo_user,
        VI_QUESTION,
        EN_QUESTION,
        TELEGRAM_TOKEN,
        TELEGRAM_SECRET,
        ZALO_OA_SECRET,
        ZALO_APP_SECRET,
        "access-0",
    ]:
        assert secret not in logs


def _files_holding(root: Path, secrets: list[str]) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.name}" for secret in secrets if secret.encode() in data]
    return found


def test_no_secret_is_written_to_disk(bot):
    tmp = bot.tracker_db.parent
    secrets = [TELEGRAM_TOKEN, TELEGRAM_SECRET, ZALO_APP_SECRET, ZALO_OA_SECRET]
    runtime = list((tmp / "tmp").glob("bot-run-*"))
    assert len(runtime) == 1 and (runtime[0].stat().st_mode & 0o077) == 0  # private while running
    assert sorted(p.name for p in runtime[0].iterdir()) == ["credentials.yml", "endpoints.yml"]
    assert "bot.channels.telegram.TelegramInput" in (runtime[0] / "credentials.yml").read_text()
    assert _files_holding(tmp / "tmp", secrets) == []


def test_the_start_is_quiet_and_the_banner_says_which_channels_are_on(bot):
    wait_for_http(bot.staff + "healthz", timeout=60)  # the staff console starts last, then the banner
    deadline = time.monotonic() + 10
    while "Press Ctrl+C" not in bot.stdout.read_text(encoding="utf-8") and time.monotonic() < deadline:
        time.sleep(0.2)
    out = bot.stdout.read_text(encoding="utf-8")
    assert "Channels on:   web chat, REST, Telegram, Zalo" in out
    assert f"Staff console: {bot.staff}" in out
    err = bot.stderr.read_text(encoding="utf-8")
    assert "DeprecationWarning" not in err and "MovedIn20Warning" not in err
