"""Two replicas behind nginx, under load, with one replica restarted mid-run.

`deploy/local_replicas.py` starts the deployment of docs/deploy.md on 127.0.0.1 (nginx,
two Rasa replicas, two action servers) on PostgreSQL and Redis; the fake Bot API receives
the replies. 50 Telegram chats send 10 messages each through nginx, several in flight per
chat (two at a time: the second once the first was acknowledged, then the chat waits for
the replies, as a person typing on would);
replica 0 gets SIGTERM a few seconds in and is started again; the 10th message of every
chat is sent once it is back. The driver redelivers an update whose webhook did not
answer 200, as Telegram does (bounded).

What each chat must receive is learnt first from one chat that sends the same messages
one at a time: every chat's replies must then be exactly that list, which counts lost and
duplicated replies and replies out of order in one comparison.

Run by `make test-scale` (marked `scale`, deselected from `make test`). Skipped without
nginx, PostgreSQL, Redis or a trained model, unless REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from deploy.local_replicas import LocalDeployment, find_nginx
from tests.conftest import REPO_ROOT, require_postgres_url, require_redis_url
from tests.fakes.telegram import TELEGRAM_SECRET, TELEGRAM_TOKEN, FakeTelegram, text_update

pytestmark = pytest.mark.scale

CHATS = int(os.environ.get("SCALE_CHATS", "50"))  # fewer only to investigate
# Questions a migrant might send, each answered by a different card or reply.
QUESTIONS = [
    "xin chào",
    "lam sao de lay lai tien ky quy",
    "nenkin lần 2 làm thế nào",
    "công ty môi giới thu phí quá cao, em muốn khiếu nại",
    "chu no khong tra luong 2 thang roi",
    "về nước rồi muốn tìm việc làm",
    "số điện thoại đại sứ quán ở Hàn",
    "ở Hà Tĩnh có tổ chức nào hỗ trợ lao động về nước",
    "thanh ly hop dong o dau",
    "bạn lưu thông tin gì của tôi",
]
IN_FLIGHT = 2  # messages a chat sends before waiting for the replies: order is at stake
GAP_SECONDS = 0.3  # between two messages of one chat
STAGGER_SECONDS = 0.4  # between the starts of two chats
REPLY_WAIT_SECONDS = 60.0
RESTART_AFTER_SECONDS = 8.0
REDELIVER_EVERY, REDELIVER_FOR = 1.0, 120.0  # Telegram retries for much longer; bounded here
RESULTS = REPO_ROOT / "results" / "scale.json"


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason}, and REQUIRE_SERVICES=1 forbids skipping")
    pytest.skip(reason)


@dataclass
class Deployed:
    deployment: LocalDeployment
    telegram: FakeTelegram
    first_update: int


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    if find_nginx() is None:
        _skip_or_fail("nginx is not installed (apt-get install nginx)")
    if not list((REPO_ROOT / "models").glob("*.tar.gz")):
        _skip_or_fail("no trained model in models/ (run `make train`)")
    postgres, redis = require_postgres_url(), require_redis_url()
    import sqlalchemy as sa

    database = f"bot_scale_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(postgres, isolation_level="AUTOCOMMIT", future=True)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{database}"'))
    url = postgres.rsplit("/", 1)[0] + "/" + database
    telegram = FakeTelegram(TELEGRAM_TOKEN).start()
    env = {
        "DATABASE_URL": url,
        "TRACKER_STORE_URL": url,
        "REDIS_URL": redis,
        "SENDER_ID_SECRET": uuid.uuid4().hex,  # fresh pseudonyms, so fresh chat claims
        "TELEGRAM_TOKEN": TELEGRAM_TOKEN,
        "TELEGRAM_SECRET_TOKEN": TELEGRAM_SECRET,
        "TELEGRAM_API_BASE_URL": telegram.api_base_url,
        "ZALO_APP_ID": "",
    }
    patch = pytest.MonkeyPatch()
    for name, value in env.items():
        patch.setenv(name, value)
    deployment = LocalDeployment(replicas=2, action_servers=2, log_dir=tmp_path_factory.mktemp("replicas"))
    try:
        deployment.start()
        # Update ids unique to this run: the dedupe keys in Redis outlive it (25 h).
        yield Deployed(deployment, telegram, random.randrange(10**9, 2 * 10**9))
    finally:
        deployment.stop()
        telegram.stop()
        patch.undo()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class Driver:
    """Telegram's side: posts updates to the webhook through nginx, redelivers on non-200."""

    base: str
    next_update: int
    acks: dict[int, int] = field(default_factory=lambda: defaultdict(int))  # status -> count
    redeliveries: int = 0
    given_up: int = 0

    async def deliver(self, client: httpx.AsyncClient, chat: int, text: str) -> None:
        self.next_update += 1
        body = text_update(self.next_update, text, user_id=chat, language="vi")
        deadline = time.monotonic() + REDELIVER_FOR
        while True:
            try:
                reply = await client.post(
                    f"{self.base}/webhooks/telegram/webhook",
                    json=body,
                    headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
                )
                self.acks[reply.status_code] += 1
                if reply.status_code == 200:
                    return
            except httpx.HTTPError:
                self.acks[0] += 1
            if time.monotonic() > deadline:
                self.given_up += 1
                return
            self.redeliveries += 1
            await asyncio.sleep(REDELIVER_EVERY)


def replies_by_chat(telegram: FakeTelegram, chats: set[int]) -> dict[int, list[str]]:
    got: dict[int, list[str]] = defaultdict(list)
    for call in telegram.calls_of("sendMessage"):
        chat = int(call.params["chat_id"])
        if chat in chats:
            got[chat].append(call.params["text"])
    return got


def wait_quiet(telegram: FakeTelegram, chats: set[int], expected: int | None, timeout: float) -> None:
    """Until `expected` replies arrived (or, unknown, none came for 1.5 s), within `timeout`."""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        count = sum(len(texts) for texts in replies_by_chat(telegram, chats).values())
        if expected is not None and count >= expected:
            time.sleep(1.0)  # and nothing more (a duplicate) comes after
            return
        if count != last:
            last, since = count, time.monotonic()
        elif expected is None and count and time.monotonic() - since > 1.5:
            return
        time.sleep(0.1)


async def calibrate(deployed: Deployed, driver: Driver, chat: int) -> list[list[str]]:
    """The replies to each question, one question at a time, in one chat."""
    replies: list[list[str]] = []
    async with httpx.AsyncClient(timeout=30) as client:
        for question in QUESTIONS:
            before = len(replies_by_chat(deployed.telegram, {chat})[chat])
            await driver.deliver(client, chat, question)
            await asyncio.to_thread(wait_quiet, deployed.telegram, {chat}, None, 60)
            replies.append(replies_by_chat(deployed.telegram, {chat})[chat][before:])
    return replies


def test_50_chats_through_nginx_lose_nothing_and_keep_order_across_a_replica_restart(deployed: Deployed):
    deployment, telegram = deployed.deployment, deployed.telegram
    driver = Driver(deployment.url, deployed.first_update)
    calibration_chat = 7_100_000_000
    per_question = asyncio.run(calibrate(deployed, driver, calibration_chat))
    assert all(per_question), f"a calibration question got no reply: {per_question}"
    firsts = [texts[0] for texts in per_question]
    assert len(set(firsts)) >= len(QUESTIONS) - 2, "the questions must get distinct replies to show order"
    expected = [text for texts in per_question for text in texts]

    chats = [7_200_000_000 + index for index in range(CHATS)]
    restart: dict[str, float | int | None] = {}

    def restart_replica_0(started: float) -> None:
        time.sleep(RESTART_AFTER_SECONDS)
        restart["sigterm_at"] = time.monotonic() - started
        restart["exit_code"] = deployment.stop_replica(0)
        restart["stopped_at"] = time.monotonic() - started
        deployment.start_replica(0)
        deployment.wait_replica(0)
        restart["back_at"] = time.monotonic() - started

    async def replies_for(chat: int, count: int) -> None:
        """Until the chat has `count` replies (bounded: a lost reply shows in the comparison)."""
        deadline = time.monotonic() + REPLY_WAIT_SECONDS
        while time.monotonic() < deadline and len(replies_by_chat(telegram, {chat})[chat]) < count:
            await asyncio.sleep(0.2)

    async def chat_run(client: httpx.AsyncClient, index: int, chat: int, first: int, last: int) -> None:
        """Questions first..last-1, IN_FLIGHT at a time (a person typing on while waiting)."""
        await asyncio.sleep(index * STAGGER_SECONDS)
        for start in range(first, last, IN_FLIGHT):
            # Each update once the previous one was acknowledged (200), without waiting for
            # its reply: its turn is still running when the next one arrives. The order the
            # webhook acknowledged them in is the order the replies must come in.
            for number in range(start, min(start + IN_FLIGHT, last)):
                await driver.deliver(client, chat, QUESTIONS[number])
                await asyncio.sleep(GAP_SECONDS)
            await replies_for(chat, sum(len(texts) for texts in per_question[: start + IN_FLIGHT]))

    async def phase(first: int, last: int, stagger: bool) -> None:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:
            await asyncio.gather(
                *(chat_run(client, i if stagger else 0, chat, first, last) for i, chat in enumerate(chats))
            )

    started = time.monotonic()
    restarter = threading.Thread(target=restart_replica_0, args=(started,), daemon=True)
    restarter.start()
    asyncio.run(phase(0, len(QUESTIONS) - 1, stagger=True))
    restarter.join(timeout=480)
    assert "back_at" in restart, f"replica 0 did not come back: {restart}"
    asyncio.run(phase(len(QUESTIONS) - 1, len(QUESTIONS), stagger=False))  # the last one, after the restart
    sent_all = time.monotonic() - started
    wait_quiet(telegram, set(chats), CHATS * len(expected), timeout=180)
    finished = time.monotonic() - started

    got = replies_by_chat(telegram, set(chats))
    lost = duplicated = out_of_order = 0
    examples = []
    for chat in chats:
        texts = got.get(chat, [])
        missing = sum(max(0, expected.count(t) - texts.count(t)) for t in set(expected))
        extra = sum(max(0, texts.count(t) - expected.count(t)) for t in set(texts))
        lost += missing
        duplicated += extra
        out_of_order += int(not missing and not extra and texts != expected)
        if texts != expected and len(examples) < 3:
            at = next(
                (i for i, (a, b) in enumerate(zip(texts, expected, strict=False)) if a != b), len(texts)
            )
            examples.append({"reply": at, "expected": expected[at : at + 2], "got": texts[at : at + 2]})
    log = (deployment.logs / "nginx-access.log").read_text(encoding="utf-8")
    webhook_lines = [line for line in log.splitlines() if "/webhooks/telegram/webhook" in line]
    passed_on = sum(1 for line in webhook_lines if '", ' in line or ", 127." in line)
    replica_0 = f"127.0.0.1:{deployment.rasa_ports[0]}"
    figures = {
        "chats": CHATS,
        "messages": CHATS * len(QUESTIONS),
        "replies_expected": CHATS * len(expected),
        "replies_received": sum(len(got.get(chat, [])) for chat in chats),
        "lost": lost,
        "duplicated": duplicated,
        "chats_out_of_order": out_of_order,
        "webhook_statuses_seen_by_the_driver": dict(driver.acks),
        "redeliveries_by_the_driver": driver.redeliveries,
        "passed_on_by_nginx": passed_on,
        "restart": restart,
        "all_sent_after_s": round(sent_all, 1),
        "all_answered_after_s": round(finished, 1),
        "messages_per_s": round(CHATS * len(QUESTIONS) / finished, 1),
        "differences": examples,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    print(json.dumps(figures, indent=2))

    assert driver.given_up == 0, figures
    assert (lost, duplicated, out_of_order) == (0, 0, 0), figures
    # The restart really happened mid-run, and replica 0 served webhooks after it.
    assert restart["exit_code"] == 0, figures
    last_lines = webhook_lines[-CHATS:]
    assert any(replica_0 in line for line in last_lines), "replica 0 got no update after its restart"
