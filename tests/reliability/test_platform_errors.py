"""Platform errors: 5xx, network errors and repeated 429 from Telegram and Zalo are retried
with backoff within a bounded total, the reason is logged without ids and counted in /metrics."""

from __future__ import annotations

import logging
import time

import pytest
from prometheus_client import REGISTRY

from bot.channels import delivery
from bot.channels.telegram import TelegramSender, make_bot
from bot.channels.zalo_api import ZaloClient, ZaloConfig, ZaloTokenStore
from bot.db import ensure_schema, get_engine
from bot.services import free_port
from tests.fakes.telegram import TELEGRAM_TOKEN, retry_after
from tests.fakes.zalo import ZALO_APP_ID, ZALO_APP_SECRET, ZALO_OA_SECRET

CHAT = 987654321
ZALO_USER = "6142494823123456789"


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch):
    """Same policy, shorter waits: the tests check the count and the bound, not the clock."""
    monkeypatch.setattr(delivery, "FIRST_BACKOFF_SECONDS", 0.01)
    monkeypatch.setattr(delivery, "MAX_BACKOFF_SECONDS", 0.05)


def retries(channel: str, reason: str) -> float:
    return REGISTRY.get_sample_value("bot_send_retries_total", {"channel": channel, "reason": reason}) or 0.0


def failures(channel: str) -> float:
    return REGISTRY.get_sample_value("bot_send_failures_total", {"channel": channel}) or 0.0


def telegram_error(status: int, description: str) -> dict:
    return {"ok": False, "error_code": status, "description": description}


@pytest.mark.parametrize(
    ("status", "description", "reason"),
    [(500, "Internal Server Error", "5xx"), (502, "Bad Gateway", "5xx"), (503, "Service Unavailable", "5xx")],
)
async def test_telegram_5xx_is_retried_and_delivered(fake_telegram, status, description, reason, caplog):
    sender = TelegramSender(make_bot(TELEGRAM_TOKEN, fake_telegram.api_base_url))
    before = retries("telegram", reason)
    fake_telegram.fail_next("sendMessage", status, telegram_error(status, description), times=2)
    caplog.set_level(logging.WARNING)
    assert await sender.send_text(CHAT, "xin chào")
    assert len(fake_telegram.calls_of("sendMessage")) == 3
    assert retries("telegram", reason) == before + 2
    assert (
        str(CHAT) not in caplog.text and "xin chào" not in caplog.text and TELEGRAM_TOKEN not in caplog.text
    )


async def test_telegram_repeated_429_is_waited_out_per_retry_after(fake_telegram):
    sender = TelegramSender(make_bot(TELEGRAM_TOKEN, fake_telegram.api_base_url))
    status, body, headers = retry_after(1)
    fake_telegram.fail_next("sendMessage", status, body, headers, times=5)
    started = time.monotonic()
    assert await sender.send_text(CHAT, "xin chào")  # the review lost this one after 4 tries
    assert len(fake_telegram.calls_of("sendMessage")) == 6
    assert time.monotonic() - started >= 5 * 1.0 - 0.2  # retry_after honoured each time


async def test_telegram_network_errors_are_retried(fake_telegram):
    # Nothing listens on this port: connection refused, a network error.
    dead = make_bot(TELEGRAM_TOKEN, f"http://127.0.0.1:{free_port()}/bot")
    before = retries("telegram", "network")
    assert not await TelegramSender(dead, retry_seconds=0.3).send_text(CHAT, "xin chào")
    assert retries("telegram", "network") > before


async def test_the_total_time_of_retries_is_bounded(fake_telegram):
    sender = TelegramSender(make_bot(TELEGRAM_TOKEN, fake_telegram.api_base_url), retry_seconds=2.5)
    status, body, headers = retry_after(1)
    fake_telegram.fail_next("sendMessage", status, body, headers, times=50)
    before = failures("telegram")
    started = time.monotonic()
    assert not await sender.send_text(CHAT, "xin chào")
    assert time.monotonic() - started < 2.5 + 5.0  # the bound, plus one slow call on a busy machine
    # 0 s, 1 s, 2 s (fewer when calls are slow): the next would start after 2.5 s, not 50 tries.
    assert 2 <= len(fake_telegram.calls_of("sendMessage")) <= 3
    assert failures("telegram") == before + 1


async def test_a_final_telegram_error_is_not_retried(fake_telegram):
    sender = TelegramSender(make_bot(TELEGRAM_TOKEN, fake_telegram.api_base_url))
    fake_telegram.fail_next("sendMessage", 403, telegram_error(403, "Forbidden: bot was blocked by the user"))
    assert not await sender.send_text(CHAT, "xin chào")
    assert len(fake_telegram.calls_of("sendMessage")) == 1


@pytest.fixture
def zalo_client(fake_zalo, tmp_path):
    engine = ensure_schema(get_engine(f"sqlite:///{tmp_path / 'zalo.db'}"))
    config = ZaloConfig(
        app_id=ZALO_APP_ID,
        oa_secret_key=ZALO_OA_SECRET,
        app_secret=ZALO_APP_SECRET,
        access_token="access-0",
        refresh_token="refresh-0",
        api_base_url=fake_zalo.base,
        oauth_base_url=fake_zalo.base,
    )
    return ZaloClient(config, ZaloTokenStore(engine, config.app_id, config.seed()))


ZALO_PATH = "/v3.0/oa/message/cs"


async def test_zalo_html_500_and_502_are_retried_and_delivered(fake_zalo, zalo_client, caplog):
    caplog.set_level(logging.WARNING)
    before = retries("zalo", "5xx")
    fake_zalo.fail_next(ZALO_PATH, 500, "<html>Internal Server Error</html>")
    fake_zalo.fail_next(ZALO_PATH, 502, "<html>Bad Gateway</html>")
    assert await zalo_client.send(ZALO_USER, {"text": "xin chào"})
    assert fake_zalo.delivered_texts() == ["xin chào"] and len(fake_zalo.sent()) == 3
    assert retries("zalo", "5xx") == before + 2
    assert ZALO_USER not in caplog.text and "access-0" not in caplog.text


async def test_zalo_rate_limit_three_times_is_retried(fake_zalo, zalo_client):
    fake_zalo.fail_next(ZALO_PATH, 200, {"error": -32, "message": "rate limit"}, times=3)
    before = retries("zalo", "rate_limited")
    assert await zalo_client.send(ZALO_USER, {"text": "xin chào"})  # the review lost it
    assert retries("zalo", "rate_limited") == before + 3


async def test_zalo_http_429_honours_retry_after(fake_zalo, zalo_client):
    fake_zalo.fail_next(ZALO_PATH, 429, {"error": -32}, {"Retry-After": "1"}, times=2)
    started = time.monotonic()
    assert await zalo_client.send(ZALO_USER, {"text": "xin chào"})
    assert time.monotonic() - started >= 2 * 1.0 - 0.2


async def test_zalo_refusals_are_final(fake_zalo, zalo_client):
    fake_zalo.refused_users[ZALO_USER] = -230
    assert not await zalo_client.send(ZALO_USER, {"text": "xin chào"})
    assert len(fake_zalo.sent()) == 1


async def test_the_retry_counter_is_in_metrics(fake_telegram):
    from bot.ops import metrics

    fake_telegram.fail_next("sendMessage", 502, telegram_error(502, "Bad Gateway"))
    assert await TelegramSender(make_bot(TELEGRAM_TOKEN, fake_telegram.api_base_url)).send_text(CHAT, "x")
    page = (await metrics(None)).body.decode()
    assert 'bot_send_retries_total{channel="telegram",reason="5xx"}' in page
