"""Turn order across replicas (`RedisChatSequencer`) and the webhook's drain on shutdown.

Two sequencers on one Redis stand for two replicas: the chat's updates reach them
alternately (as during a restart, when a drained replica's chats move to the other) and
the turns must still run in arrival order. The same scenario with the in-process
`ChatSequencer` shows the interleaving the tickets prevent.
"""

from __future__ import annotations

import asyncio
import uuid

import httpx

from bot.channels.concurrency import ChatSequencer, RedisChatSequencer
from bot.channels.telegram import TelegramInput
from tests.fakes.http import eventually
from tests.fakes.telegram import TELEGRAM_SECRET, TELEGRAM_TOKEN, text_update


def _replicas(redis_url: str, alive_for: int = 30) -> tuple[RedisChatSequencer, RedisChatSequencer]:
    prefix = f"test:turns:{uuid.uuid4().hex[:8]}:"
    heartbeat = alive_for / 3
    return (
        RedisChatSequencer(redis_url, alive_for=alive_for, heartbeat=heartbeat, prefix=prefix),
        RedisChatSequencer(redis_url, alive_for=alive_for, heartbeat=heartbeat, prefix=prefix),
    )


async def _run_alternately(first, second) -> list[int]:
    """Updates 1..4 of one chat accepted alternately by two replicas; update 1's turn is slow."""
    ran: list[int] = []

    async def turn(sequencer, number: int, ticket: int | None) -> None:
        async with sequencer.hold("chat-a", ticket):
            await asyncio.sleep(0.3 if number == 1 else 0.01)
            ran.append(number)

    tasks = []
    for number, sequencer in enumerate([first, second, first, second], start=1):
        ticket = await sequencer.ticket("chat-a")  # in the webhook, in arrival order
        tasks.append(asyncio.create_task(turn(sequencer, number, ticket)))
        await asyncio.sleep(0.02)
    await asyncio.gather(*tasks)
    return ran


async def test_tickets_keep_arrival_order_across_two_replicas(redis_url):
    assert await _run_alternately(*_replicas(redis_url)) == [1, 2, 3, 4]


async def test_without_shared_tickets_two_replicas_interleave():
    # The failure the tickets exist for: each process only orders its own turns.
    assert await _run_alternately(ChatSequencer(), ChatSequencer()) != [1, 2, 3, 4]


async def test_other_chats_do_not_wait(redis_url):
    first, second = _replicas(redis_url)
    await first.ticket("chat-a")  # a turn that has not finished
    ticket = await second.ticket("chat-b")

    async def turn() -> None:
        async with second.hold("chat-b", ticket):
            pass

    await asyncio.wait_for(turn(), timeout=1)


async def test_a_ticket_whose_replica_died_is_skipped_once_it_is_no_longer_kept_alive(redis_url):
    first, second = _replicas(redis_url, alive_for=1)
    await first.ticket("chat-a")  # taken, then the replica was killed: never held, never finished
    ticket = await second.ticket("chat-a")
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with second.hold("chat-a", ticket):
        waited = loop.time() - started
    assert 0.5 <= waited < 3.0
    # and the next turn of the chat does not wait again
    after = await first.ticket("chat-a")
    started = loop.time()
    async with first.hold("chat-a", after):
        assert loop.time() - started < 0.5


async def test_a_slow_turn_on_a_live_replica_is_not_overtaken(redis_url):
    first, second = _replicas(redis_url, alive_for=1)  # heartbeat every 1/3 s
    order: list[str] = []
    slow_ticket = await first.ticket("chat-a")
    fast_ticket = await second.ticket("chat-a")

    async def slow() -> None:
        async with first.hold("chat-a", slow_ticket):
            await asyncio.sleep(2.5)  # longer than alive_for: kept alive by its heartbeat
            order.append("slow")

    async def fast() -> None:
        async with second.hold("chat-a", fast_ticket):
            order.append("fast")

    await asyncio.gather(slow(), fast())
    assert order == ["slow", "fast"]


async def test_shutdown_refuses_new_updates_and_finishes_accepted_turns(
    serve, context, stub_rasa, fake_telegram
):
    channel = TelegramInput(TELEGRAM_TOKEN, TELEGRAM_SECRET, fake_telegram.api_base_url, context)

    async def slow(message) -> None:
        await asyncio.sleep(0.5)
        await message.output_channel.send_text_message(message.sender_id, "answered")

    stub_rasa.respond = slow
    base = await serve(channel, stub_rasa)
    headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    async with httpx.AsyncClient() as client:
        accepted = await client.post(
            f"{base}/webhooks/telegram/webhook", json=text_update(1, "a"), headers=headers
        )
        draining = asyncio.create_task(channel.stop_and_drain())
        await asyncio.sleep(0)
        refused = await client.post(
            f"{base}/webhooks/telegram/webhook", json=text_update(2, "b"), headers=headers
        )
        await draining
    assert accepted.status_code == 200
    assert refused.status_code == 503 and refused.headers["Retry-After"]
    # the accepted turn was finished by the drain, not cut off
    assert fake_telegram.sent_texts() == ["answered"]
    # the refused update was not claimed: its redelivery (to another replica) is a first delivery
    assert await context.dedupe.claim("telegram:123456789:2")
    assert await eventually(lambda: len(stub_rasa.messages) == 1)
