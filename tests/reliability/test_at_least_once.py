"""At least once, exactly one reply: an update is done only when its reply was sent; a
redelivery joins a running turn, runs a turn that died, and is a duplicate once done."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as _dt
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import sqlalchemy as sa

from bot.channels.stores import Claim, RedisDedupeStore, SqlDedupeStore
from bot.channels.telegram import TelegramInput
from bot.db import ensure_schema, get_engine, processed_updates, turns_in_flight
from tests.channels import test_telegram, test_zalo
from tests.fakes.telegram import TELEGRAM_SECRET, TELEGRAM_TOKEN, text_update

LEASE = _dt.timedelta(seconds=60)


@pytest.fixture
def sql_store(tmp_path) -> SqlDedupeStore:
    return SqlDedupeStore(ensure_schema(get_engine(f"sqlite:///{tmp_path / 'dedupe.db'}")))


async def test_sql_claims_are_done_only_when_finished(sql_store):
    assert await sql_store.begin("telegram:1:10", LEASE) is Claim.NEW
    assert await sql_store.begin("telegram:1:10", LEASE) is Claim.BUSY  # running: not a duplicate yet
    await sql_store.finish("telegram:1:10")
    assert await sql_store.begin("telegram:1:10", LEASE) is Claim.DONE
    assert await sql_store.begin("telegram:1:11", LEASE) is Claim.NEW
    await sql_store.abandon("telegram:1:11")  # cut short (shutdown): the redelivery runs it
    assert await sql_store.begin("telegram:1:11", LEASE) is Claim.NEW


async def test_a_claim_whose_process_died_is_taken_over_after_its_lease(sql_store):
    assert await sql_store.begin("telegram:1:12", LEASE) is Claim.NEW
    with sql_store._engine.begin() as conn:  # the process that claimed it was killed long ago
        conn.execute(
            sa.update(turns_in_flight).values(lease_until=_dt.datetime.utcnow() - _dt.timedelta(seconds=1))
        )
    assert await sql_store.begin("telegram:1:12", LEASE) is Claim.NEW
    assert await sql_store.begin("telegram:1:12", LEASE) is Claim.BUSY  # taken over once


async def test_redis_claims_follow_the_same_rules():
    import redis.asyncio as aioredis

    url = "redis://127.0.0.1:6379/14"
    try:
        await aioredis.from_url(url).ping()
    except Exception:  # noqa: BLE001
        pytest.skip("no Redis on 127.0.0.1:6379")
    store = RedisDedupeStore(url, prefix=f"test:{uuid.uuid4().hex}:")
    assert await store.begin("k", LEASE) is Claim.NEW
    assert await store.begin("k", LEASE) is Claim.BUSY
    await store.finish("k")
    assert await store.begin("k", LEASE) is Claim.DONE
    assert await store.begin("short", _dt.timedelta(milliseconds=200)) is Claim.NEW
    await asyncio.sleep(0.4)  # the lease of a dead turn ran out
    assert await store.begin("short", LEASE) is Claim.NEW


@pytest.fixture
def slow_rasa(stub_rasa):
    """Rasa that answers after `stub_rasa.delay` seconds."""
    stub_rasa.delay = 0.0

    async def respond(message):
        await asyncio.sleep(stub_rasa.delay)
        await message.output_channel.send_text_message(message.sender_id, f"echo {len(stub_rasa.messages)}")

    stub_rasa.respond = respond
    return stub_rasa


def channel(context, fake_telegram, ack_within: float = 50.0) -> TelegramInput:
    made = TelegramInput(TELEGRAM_TOKEN, TELEGRAM_SECRET, fake_telegram.api_base_url, context)
    made.ack_within = ack_within  # type: ignore[misc]
    return made


async def test_the_webhook_answers_200_only_after_the_reply_was_sent(
    serve, context, fake_telegram, slow_rasa
):
    slow_rasa.delay = 0.5
    base = await serve(channel(context, fake_telegram), slow_rasa)
    reply = await test_telegram.post(base, text_update(20, "hello", user_id=555))
    assert reply.status_code == 200 and reply.json() == {"status": "ok"}
    assert fake_telegram.sent_to(555) == ["echo 1"]  # already sent when the 200 came


async def test_a_redelivery_during_the_turn_waits_for_it_and_gets_no_second_reply(
    serve, context, fake_telegram, slow_rasa
):
    slow_rasa.delay = 1.0
    base = await serve(channel(context, fake_telegram, ack_within=0.3), slow_rasa)
    update = text_update(21, "hello", user_id=556)
    first = await test_telegram.post(base, update)
    assert first.status_code == 503 and first.headers["Retry-After"]  # still running
    second = await test_telegram.post(base, update)  # the platform retries at once
    assert second.status_code in (200, 503)
    await context.tasks.drain()
    third = await test_telegram.post(base, update)
    assert third.json() == {"status": "duplicate"}
    assert fake_telegram.sent_to(556) == ["echo 1"] and len(slow_rasa.messages) == 1


async def test_a_turn_cut_short_by_shutdown_is_run_again_on_redelivery(
    serve, context, fake_telegram, slow_rasa
):
    slow_rasa.delay = 30.0
    first_server = channel(context, fake_telegram, ack_within=0.2)
    base = await serve(first_server, slow_rasa)
    update = text_update(22, "hello", user_id=557)
    assert (await test_telegram.post(base, update)).status_code == 503
    await first_server.drain(timeout=0.2)  # SIGTERM: the turn does not finish in time
    assert (await test_telegram.post(base, update)).status_code == 503  # stopping: redeliver later
    for task in list(context.tasks._tasks):
        task.cancel()  # the process ends
    await asyncio.sleep(0.1)
    # The next process (same database, fresh state) gets the redelivery and answers it.
    slow_rasa.delay = 0.0
    fresh = dataclasses.replace(
        context,
        turns=type(context.turns)(),
        tasks=type(context.tasks)(),
        claims=type(context.claims)(),
        stopping=False,
    )
    second_base = await serve(channel(fresh, fake_telegram), slow_rasa)
    reply = await test_telegram.post(second_base, update)
    assert reply.status_code == 200 and reply.json() == {"status": "ok"}
    assert fake_telegram.sent_to(557) == ["echo 2"]  # the first turn never replied


async def test_a_turn_that_died_with_its_process_is_run_after_the_lease(
    serve, context, fake_telegram, slow_rasa
):
    context = dataclasses.replace(context, turn_lease=_dt.timedelta(seconds=1))
    update = text_update(23, "hello", user_id=558)
    # A process claimed the update, then was killed (SIGKILL): the claim stays.
    assert (
        await context.dedupe.begin(f"telegram:{TELEGRAM_TOKEN.split(':')[0]}:23", context.turn_lease)
        is Claim.NEW
    )
    base = await serve(channel(context, fake_telegram), slow_rasa)
    early = await test_telegram.post(base, update)
    assert early.status_code == 503  # perhaps still running elsewhere: not yet
    await asyncio.sleep(1.2)
    late = await test_telegram.post(base, update)
    assert late.status_code == 200 and fake_telegram.sent_to(558) == ["echo 1"]
    assert (await test_telegram.post(base, update)).json() == {"status": "duplicate"}


async def test_many_updates_each_get_exactly_one_reply_despite_redeliveries(
    serve, context, fake_telegram, slow_rasa
):
    slow_rasa.delay = 0.05
    base = await serve(channel(context, fake_telegram, ack_within=0.02), slow_rasa)
    updates = [text_update(100 + n, f"q{n}", user_id=7000 + n) for n in range(40)]

    async def deliver(update) -> None:  # like Telegram: retry until a 2xx
        async with httpx.AsyncClient() as client:
            for _ in range(200):
                reply = await client.post(
                    base + test_telegram.WEBHOOK,
                    json=update,
                    headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
                )
                if reply.status_code == 200:
                    return
                await asyncio.sleep(0.02)

    await asyncio.gather(*(deliver(u) for u in updates), *(deliver(u) for u in updates[::3]))
    await context.tasks.drain()
    for n in range(40):
        assert len(fake_telegram.sent_to(7000 + n)) == 1, n


async def test_an_update_is_handled_once_its_first_reply_message_was_delivered(
    serve, context, fake_telegram, stub_rasa
):
    """A process killed after the reply went out (while Rasa saves the tracker, say) must not
    answer the redelivery a second time."""
    saving = asyncio.Event()

    async def reply_then_hang(message):
        await message.output_channel.send_text_message(message.sender_id, "the answer")
        saving.set()
        await asyncio.sleep(30)  # the tracker save that never ends: the process is killed

    stub_rasa.respond = reply_then_hang
    update = text_update(24, "hello", user_id=559)
    base = await serve(channel(context, fake_telegram, ack_within=0.2), stub_rasa)
    assert (await test_telegram.post(base, update)).status_code == 503
    await asyncio.wait_for(saving.wait(), 5)
    for task in list(context.tasks._tasks):
        task.cancel()  # killed
    await asyncio.sleep(0.1)
    fresh = dataclasses.replace(
        context,
        turns=type(context.turns)(),
        tasks=type(context.tasks)(),
        claims=type(context.claims)(),
        stopping=False,
    )
    second_base = await serve(channel(fresh, fake_telegram), stub_rasa)
    assert (await test_telegram.post(second_base, update)).json() == {"status": "duplicate"}
    assert fake_telegram.sent_to(559) == ["the answer"]


async def test_the_replied_mark_does_not_queue_behind_the_thread_pool(
    serve, context, fake_telegram, stub_rasa
):
    """The mark is written as soon as the platform accepted the first message, even while
    every thread of the default pool is busy (tracker saves, other turns' queries): a crash
    in that wait used to make the redelivery answer a second time (docs/reliability.md)."""
    loop = asyncio.get_running_loop()
    gate = threading.Event()
    pool = ThreadPoolExecutor(max_workers=2)
    key = f"telegram:{TELEGRAM_TOKEN.split(':')[0]}:25"
    marked_when_sent: list[bool] = []

    def is_marked() -> bool:
        with context.engine.connect() as conn:
            found = conn.execute(sa.select(processed_updates.c.key).where(processed_updates.c.key == key))
            return found.first() is not None

    async def reply_with_a_busy_pool(message):
        loop.set_default_executor(pool)
        for _ in range(2):
            loop.run_in_executor(None, gate.wait)  # every default thread busy from now on
        await message.output_channel.send_text_message(message.sender_id, "the answer")
        marked_when_sent.append(is_marked())
        gate.set()

    stub_rasa.respond = reply_with_a_busy_pool
    base = await serve(channel(context, fake_telegram, ack_within=5.0), stub_rasa)
    try:
        reply = await asyncio.wait_for(test_telegram.post(base, text_update(25, "hello", user_id=560)), 10)
    finally:
        gate.set()
    assert reply.status_code == 200
    assert marked_when_sent == [True]
    assert fake_telegram.sent_to(560) == ["the answer"]


def record_marks(store) -> tuple[list[str], object]:
    """Make `store` record on which thread each mark of an update is written; returns the
    record and a function that restores the store."""
    threads: list[str] = []
    finish_now, finish = store.finish_now, store.finish

    def recorded_now(key: str) -> bool:
        threads.append(threading.current_thread().name)
        return finish_now(key)

    async def not_again(key: str) -> None:
        threads.append("event loop")
        await finish(key)

    store.finish_now, store.finish = recorded_now, not_again

    def restore() -> None:
        store.finish_now, store.finish = finish_now, finish

    return threads, restore


async def two_messages(message) -> None:
    await message.output_channel.send_text_message(message.sender_id, "the answer")
    await message.output_channel.send_text_message(message.sender_id, "more")


async def test_telegram_marks_the_update_on_its_own_thread_as_soon_as_the_reply_is_accepted(
    serve, context, fake_telegram, stub_rasa
):
    """The mark does not wait for the event loop to hear of Telegram's 200 (it may be busy
    with other turns' predictions for a quarter of a second): the sending thread writes it."""
    threads, restore = record_marks(context.dedupe)
    stub_rasa.respond = two_messages
    base = await serve(channel(context, fake_telegram), stub_rasa)
    try:
        reply = await test_telegram.post(base, text_update(26, "hello", user_id=561))
    finally:
        restore()
    assert reply.status_code == 200
    assert len(threads) == 1 and threads[0].startswith("telegram-send"), threads
    assert fake_telegram.sent_to(561) == ["the answer", "more"]
    again = await test_telegram.post(base, text_update(26, "hello", user_id=561))
    assert again.json() == {"status": "duplicate"}


async def test_zalo_marks_the_update_on_its_own_thread_as_soon_as_the_reply_is_accepted(
    serve, context, fake_zalo, stub_rasa
):
    threads, restore = record_marks(context.dedupe)
    stub_rasa.respond = two_messages
    base = await serve(test_zalo.make_channel(fake_zalo, context), stub_rasa)
    try:
        reply = await test_zalo.post(base, test_zalo.event(msg_id="mark-1"))
    finally:
        restore()
    assert reply.status_code == 200
    assert len(threads) == 1 and threads[0].startswith("zalo-send"), threads
    assert [c.params["message"]["text"] for c in fake_zalo.sent()] == ["the answer", "more"]
    again = await test_zalo.post(base, test_zalo.event(msg_id="mark-1"))
    assert again.json() == {"status": "duplicate"}


async def test_a_zalo_reply_that_zalo_refused_is_not_marked_on_the_sending_thread(
    serve, context, fake_zalo, stub_rasa
):
    """Zalo answers 200 with an error code for a refused message: nothing was delivered,
    so the sending thread leaves the mark to the end of the turn."""
    threads, restore = record_marks(context.dedupe)
    fake_zalo.fail_next("/v3.0/oa/message/cs", 200, {"error": -230, "message": "user inactive"})

    async def one_message(message) -> None:
        await message.output_channel.send_text_message(message.sender_id, "the answer")

    stub_rasa.respond = one_message
    base = await serve(test_zalo.make_channel(fake_zalo, context), stub_rasa)
    try:
        reply = await test_zalo.post(base, test_zalo.event(msg_id="mark-2"))
    finally:
        restore()
    assert reply.status_code == 200
    assert threads == ["event loop"]
