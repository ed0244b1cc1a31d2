"""One chat on one replica at a time (`bot.channels.chat_claims`) and the webhook's drain.

First, why: two servers working on one conversation through Rasa's `RedisLockStore` can
leave a turn waiting for ever, with nothing logged above DEBUG; the interleaving is
replayed step by step below. Then the claims that keep a chat on one replica (two
`ChatClaims`, or two webhooks, on one Redis stand for two replicas), and the webhook's
shutdown: new updates are refused with 503 (before dedupe, so that the redelivery is a
first delivery elsewhere) and the accepted turns finish, in order. Last, the safety nets
of a turn: where background work waits, the 60-s turn limit, and the typing indicator
that once held turns for ever.
"""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from rasa.core.lock_store import RedisLockStore

from bot.channels.chat_claims import ChatClaims
from bot.channels.telegram import TelegramInput
from bot.tracker_store import redis_lock_kwargs
from tests.fakes.http import eventually
from tests.fakes.telegram import TELEGRAM_SECRET, TELEGRAM_TOKEN, text_update

HEADERS = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}


def _lock_stores(redis_url: str) -> tuple[RedisLockStore, RedisLockStore]:
    prefix = f"test{uuid.uuid4().hex[:8]}"
    kwargs = redis_lock_kwargs(redis_url)
    return RedisLockStore(**kwargs, key_prefix=prefix), RedisLockStore(**kwargs, key_prefix=prefix)


async def test_rasa_redis_lock_store_leaves_a_turn_waiting_for_ever_when_two_servers_share_a_chat(
    redis_url,
):
    """The stall of the first multi-replica runs, replayed: A serves a turn while B queues
    one for the same conversation. Each step is Rasa's own code; only their interleaving
    across the two processes is chosen (each step is a read then a write, not atomic)."""
    a, b = _lock_stores(redis_url)
    chat = "conversation"
    served = a.issue_ticket(chat)
    lock_read_by_a = a.get_lock(chat)  # A's finish_serving reads the lock ...
    waiting = b.issue_ticket(chat)  # ... B queues its ticket meanwhile ...
    lock_read_by_a.remove_ticket_for(served)
    a.save_lock(lock_read_by_a)  # ... and A writes back a lock without B's ticket.
    lock_read_by_b = b.get_lock(chat)  # B's periodic update_lock reads it ...
    assert not a.is_someone_waiting(chat)
    a.delete_lock(chat)  # ... A's cleanup deletes the lock as nobody waits ...
    lock_read_by_b.remove_expired_tickets()
    b.save_lock(lock_read_by_b)  # ... and B writes back an empty lock.
    with pytest.raises(asyncio.TimeoutError):
        # Rasa's own wait: "someone is before you" for ever, since the lock exists, empty.
        await asyncio.wait_for(b._acquire_lock(chat, waiting, 0.01), timeout=1.0)
    # Meanwhile later turns of the chat go ahead of it, so its reply also comes out of order.
    later = a.issue_ticket(chat)
    await asyncio.wait_for(a._acquire_lock(chat, later, 0.01), timeout=1.0)
    a.delete_lock(chat)


def _replicas(redis_url: str) -> tuple[ChatClaims, ChatClaims]:
    prefix = f"test:chat-claims:{uuid.uuid4().hex[:8]}:"
    return ChatClaims(redis_url, prefix=prefix), ChatClaims(redis_url, prefix=prefix)


async def test_a_chat_in_hand_on_one_replica_is_refused_by_the_other_until_it_is_released(redis_url):
    first, second = _replicas(redis_url)
    assert await first.take("chat-a")
    assert await first.take("chat-a")  # a second turn of the chat queues on the same replica
    assert not await second.take("chat-a")
    assert await second.take("chat-b")  # other chats are not affected
    await first.release("chat-a")
    assert not await second.take("chat-a")  # one turn still in hand
    await first.release("chat-a")
    assert await second.take("chat-a")
    assert not await first.take("chat-a")  # and now the other way round
    await second.release("chat-a")
    await second.release("chat-b")


async def test_a_stopping_replica_takes_nothing_new_and_its_chats_move_once_finished(redis_url):
    first, second = _replicas(redis_url)
    assert await first.take("busy")
    first.stopping = True
    assert not await first.take("busy")
    assert not await first.take("idle")
    assert await second.take("idle")
    assert not await second.take("busy")  # its turn on the stopping replica is not finished
    await first.release("busy")
    assert await second.take("busy")


async def test_release_all_gives_up_the_claims_of_turns_cut_at_shutdown(redis_url):
    first, second = _replicas(redis_url)
    assert await first.take("cut")
    assert await first.take("cut")
    await first.release_all()
    assert not first.in_hand("cut")
    assert await second.take("cut")
    await first.release("cut")  # the cut turn's own release comes late: a no-op
    assert not await first.take("cut")


async def test_without_redis_only_the_stopping_rule_applies():
    claims = ChatClaims(None)
    assert await claims.take("chat")
    claims.stopping = True
    assert not await claims.take("chat")


async def test_claim_keys_name_no_chat():
    claims = ChatClaims("redis://127.0.0.1:1/0")
    assert "987654321" not in claims._key("telegram-987654321")


async def test_with_redis_down_the_update_is_taken_not_refused():
    claims = ChatClaims("redis://127.0.0.1:1/0")  # nothing listens on port 1
    assert await claims.take("chat")
    await claims.release("chat")
    assert not claims.in_hand("chat")


async def test_two_webhooks_on_one_redis_never_run_one_chat_at_once(
    serve, context, stub_rasa, fake_telegram, redis_url
):
    """Replica B refuses an update of a chat whose turn replica A is running (nginx then
    passes it on to A); once A has answered, B takes the chat's next update."""
    from bot.channels.context import ChannelContext

    first_claims, second_claims = _replicas(redis_url)
    context.claims = first_claims
    other = ChannelContext(**{**context.__dict__, "claims": second_claims})
    replica_a = TelegramInput(TELEGRAM_TOKEN, TELEGRAM_SECRET, fake_telegram.api_base_url, context)
    replica_b = TelegramInput(TELEGRAM_TOKEN, TELEGRAM_SECRET, fake_telegram.api_base_url, other)
    release = asyncio.Event()

    async def respond(message) -> None:
        if message.text == "first":
            await release.wait()
        await message.output_channel.send_text_message(message.sender_id, f"re: {message.text}")

    stub_rasa.respond = respond
    base_a = await serve(replica_a, stub_rasa)
    base_b = await serve(replica_b, stub_rasa)
    async with httpx.AsyncClient() as client:
        # Replica A answers 200 only when its turn is over (at least once: bot/channels/base.py),
        # so its request waits while the turn is held.
        first = asyncio.create_task(
            client.post(f"{base_a}/webhooks/telegram/webhook", json=text_update(11, "first"), headers=HEADERS)
        )
        assert await eventually(lambda: first_claims.in_hand(context.pseudonym("telegram", 987654321)))
        refused = await client.post(
            f"{base_b}/webhooks/telegram/webhook", json=text_update(12, "second"), headers=HEADERS
        )
        release.set()
        ok = await first
        assert await eventually(lambda: fake_telegram.sent_texts() == ["re: first"])
        assert await eventually(lambda: not first_claims.in_hand(context.pseudonym("telegram", 987654321)))
        taken = await client.post(
            f"{base_b}/webhooks/telegram/webhook", json=text_update(12, "second"), headers=HEADERS
        )
    assert (ok.status_code, refused.status_code, taken.status_code) == (200, 503, 200)
    assert refused.headers["Retry-After"]
    assert await eventually(lambda: fake_telegram.sent_texts() == ["re: first", "re: second"])


async def test_shutdown_refuses_new_updates_and_finishes_the_accepted_turns_in_order(
    serve, context, stub_rasa, fake_telegram
):
    channel = TelegramInput(TELEGRAM_TOKEN, TELEGRAM_SECRET, fake_telegram.api_base_url, context)

    async def slow(message) -> None:
        await asyncio.sleep(0.5)
        await message.output_channel.send_text_message(message.sender_id, f"re: {message.text}")

    stub_rasa.respond = slow
    base = await serve(channel, stub_rasa)
    url = f"{base}/webhooks/telegram/webhook"
    async with httpx.AsyncClient() as client:
        first = await client.post(url, json=text_update(1, "a", user_id=1001), headers=HEADERS)
        second = await client.post(url, json=text_update(2, "b", user_id=1001), headers=HEADERS)
        draining = asyncio.create_task(channel.drain())
        await asyncio.sleep(0)
        same_chat = await client.post(url, json=text_update(3, "c", user_id=1001), headers=HEADERS)
        other_chat = await client.post(url, json=text_update(4, "d", user_id=1002), headers=HEADERS)
        await draining
    assert (first.status_code, second.status_code) == (200, 200)
    assert (same_chat.status_code, other_chat.status_code) == (503, 503)
    assert other_chat.headers["Retry-After"]
    # the accepted turns were finished by the drain, in order, not cut off
    assert fake_telegram.sent_to(1001) == ["re: a", "re: b"]
    assert fake_telegram.sent_to(1002) == []
    # the refused updates were not claimed: their redelivery (to another replica) is a first delivery
    assert await context.dedupe.claim("telegram:123456789:3")
    assert await context.dedupe.claim("telegram:123456789:4")


async def test_background_tasks_say_where_they_wait_without_values():
    from bot.channels.concurrency import BackgroundTasks

    tasks, never = BackgroundTasks(), asyncio.Event()

    async def stuck_turn(secret: str) -> None:
        await never.wait()

    tasks.spawn(stuck_turn("message text 987654321"), "turn")
    await asyncio.sleep(0.01)
    (place,) = tasks.where()
    assert "stuck_turn" in place and "wait" in place and "waiting on Future" in place
    assert "987654321" not in place and "message text" not in place
    never.set()
    await tasks.drain(1)


async def test_a_turn_that_never_finishes_is_cancelled_logged_and_answered_and_the_chat_goes_on(
    serve, context, stub_rasa, fake_telegram, monkeypatch, caplog
):
    from bot.channels import base

    monkeypatch.setattr(base, "TURN_TIMEOUT_SECONDS", 0.5)
    channel = TelegramInput(TELEGRAM_TOKEN, TELEGRAM_SECRET, fake_telegram.api_base_url, context)
    never = asyncio.Event()

    async def respond(message) -> None:
        if message.text == "stuck":
            await never.wait()
        await message.output_channel.send_text_message(message.sender_id, f"re: {message.text}")

    stub_rasa.respond = respond
    base_url = await serve(channel, stub_rasa)
    url = f"{base_url}/webhooks/telegram/webhook"
    async with httpx.AsyncClient() as client:
        await client.post(url, json=text_update(21, "stuck", user_id=1003), headers=HEADERS)
        await client.post(url, json=text_update(22, "next", user_id=1003), headers=HEADERS)
    assert await eventually(lambda: len(fake_telegram.sent_to(1003)) == 2, timeout=5)
    error_reply, answered = fake_telegram.sent_to(1003)
    assert answered == "re: next" and error_reply != "re: stuck"
    assert "did not finish" in caplog.text and "respond" in caplog.text  # where it waited


async def test_a_typing_indicator_that_never_unwinds_does_not_hold_the_turn():
    """The stall of the 50-chat runs (found with SIGUSR1: every stuck turn waited in
    `Typing.__aexit__`): a chat action cancelled mid-request whose clean-up never ends."""
    from bot.channels.concurrency import Typing

    calls = 0

    async def chat_action_with_a_clean_up_that_hangs() -> None:
        nonlocal calls
        calls += 1
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            await asyncio.Event().wait()  # swallows the cancellation and never returns

    loop = asyncio.get_running_loop()
    async with Typing(chat_action_with_a_clean_up_that_hangs, after=0.0, unwind=0.2):
        await asyncio.sleep(0.05)  # the indicator's call is in flight when the turn ends
    started = loop.time()
    async with Typing(chat_action_with_a_clean_up_that_hangs, after=0.0, unwind=0.2):
        await asyncio.sleep(0.05)
    assert loop.time() - started < 1.0 and calls == 2
