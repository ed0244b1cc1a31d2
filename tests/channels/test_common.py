"""Shared channel pieces: markup, splitting, commands, button ids, dedupe, pseudonyms."""

from __future__ import annotations

import asyncio
import datetime as _dt
import uuid

import pytest

from bot.channels.commands import text_to_rasa
from bot.channels.concurrency import ChatSequencer
from bot.channels.stores import PayloadStore, RedisDedupeStore, SqlDedupeStore
from bot.db import get_engine
from bot.i18n import supported as language_from_locale
from bot.identity import IdentityStore, pseudonymize
from bot.markup import split_message, to_html, to_plain, utf16_length

CARD = """**Lấy lại tiền ký quỹ** sau khi về nước

1. Mang hợp đồng & sổ tiết kiệm đến ngân hàng
2. Hỏi doanh nghiệp <tên công ty>

- Gọi **đường dây nóng**
- Xem https://example.gov.vn/a?b=1&c=2"""


def test_card_markdown_becomes_escaped_html():
    assert to_html(CARD) == (
        "<b>Lấy lại tiền ký quỹ</b> sau khi về nước\n\n"
        "1. Mang hợp đồng &amp; sổ tiết kiệm đến ngân hàng\n"
        "2. Hỏi doanh nghiệp &lt;tên công ty&gt;\n\n"
        "• Gọi <b>đường dây nóng</b>\n"
        "• Xem https://example.gov.vn/a?b=1&amp;c=2"
    )


def test_card_markdown_becomes_plain_text():
    plain = to_plain(CARD)
    assert "**" not in plain and "<b>" not in plain
    assert plain.splitlines()[0] == "Lấy lại tiền ký quỹ sau khi về nước"
    assert "• Gọi đường dây nóng" in plain and "<tên công ty>" in plain


def test_unmatched_stars_stay_text_and_the_html_stays_valid():
    assert to_html("5 ** 2 and **open") == "5 ** 2 and **open"


def test_split_keeps_paragraphs_whole_when_they_fit():
    text = "\n\n".join(["a" * 10, "b" * 10, "c" * 10])
    assert split_message(text, 22) == ["a" * 10 + "\n\n" + "b" * 10, "c" * 10]
    assert split_message(text, 1000) == [text]
    assert split_message("   ", 10) == []


def test_split_falls_back_to_lines_words_and_characters():
    assert split_message("one two three four", 9) == ["one two", "three", "four"]
    assert split_message("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]
    assert split_message("line one\nline two", 9) == ["line one", "line two"]


def test_split_measures_the_rendered_html():
    text = "&" * 10  # renders to 50 characters of "&amp;"
    chunks = split_message(text, 20, to_html)
    assert all(len(c) <= 20 for c in chunks) and "".join(chunks) == "&amp;" * 10


def test_utf16_length_counts_emoji_twice():
    assert utf16_length("ký") == 2 and utf16_length("🙂") == 2


@pytest.mark.parametrize(
    "tag, lang", [("vi", "vi"), ("en-US", "en"), ("en", "en"), ("ko", "vi"), (None, "vi")]
)
def test_language_from_locale(tag, lang):
    assert language_from_locale(tag) == lang


@pytest.mark.parametrize(
    "typed, sent",
    [
        ("/start", "/greet"),
        ("/START", "/greet"),
        ("/menu@bot", "/help_menu"),
        ("/start ref123", "/greet"),
        ("/forget", "/forget_me"),
        ("/privacy", "/privacy"),
        ("/language", "/change_language"),
        ('/deposit_refund{"x": 1}', 'deposit_refund{"x": 1}'),
        ("  xin chào  ", "xin chào"),
        ("//", ""),
    ],
)
def test_text_to_rasa(typed, sent):
    assert text_to_rasa(typed) == sent


async def test_payload_store_keeps_short_payloads_and_maps_long_ones(sqlite_url):
    store = PayloadStore(get_engine(sqlite_url))
    assert await store.encode("/deposit_refund", 64) == "/deposit_refund"
    long_payload = '/referral_partner{"province": "Thành phố Hồ Chí Minh", "need": "legal_aid"}'
    short = await store.encode(long_payload, 64)
    assert short.startswith("p:") and len(short.encode()) <= 64
    assert short == await store.encode(long_payload, 64)  # deterministic
    assert await store.decode(short) == long_payload
    assert await store.decode("/deposit_refund") == "/deposit_refund"
    assert await store.decode("p:nothing") is None
    # A fresh store on the same database (another replica, a restart) resolves it too.
    assert await PayloadStore(get_engine(sqlite_url)).decode(short) == long_payload


async def test_reply_titles_map_back_per_conversation(sqlite_url):
    store = PayloadStore(get_engine(sqlite_url))
    await store.remember_reply("zalo-a", "Lấy lại  tiền ký quỹ", "/deposit_refund")
    assert await store.reply_payload("zalo-a", "lấy lại tiền ký quỹ") == "/deposit_refund"
    assert await store.reply_payload("zalo-b", "Lấy lại tiền ký quỹ") is None


async def test_chat_sequencer_runs_turns_of_one_chat_in_arrival_order():
    sequencer = ChatSequencer()
    order = []

    async def turn(name, delay):
        async with sequencer.hold("chat"):
            order.append(f"start {name}")
            await asyncio.sleep(delay)
            order.append(f"end {name}")

    await asyncio.gather(turn("a", 0.05), turn("b", 0), turn("c", 0))
    assert order == ["start a", "end a", "start b", "end b", "start c", "end c"]


def test_sql_dedupe_claims_once_and_expires(database_url):
    store = SqlDedupeStore(get_engine(database_url), ttl=_dt.timedelta(hours=25))
    assert store.claim_sync("telegram:1:100") is True
    assert store.claim_sync("telegram:1:100") is False
    assert store.claim_sync("telegram:1:101") is True
    assert SqlDedupeStore(get_engine(database_url)).claim_sync("telegram:1:100") is False
    expired = SqlDedupeStore(get_engine(database_url), ttl=_dt.timedelta(seconds=-1))
    assert expired.claim_sync("telegram:1:100") is True


async def test_redis_dedupe_claims_once(redis_url):
    store = RedisDedupeStore(redis_url, ttl=_dt.timedelta(seconds=60), prefix=f"test:{uuid.uuid4().hex}:")
    assert await store.claim("zalo:1:abc") is True
    assert await store.claim("zalo:1:abc") is False
    assert await store.claim("zalo:1:abd") is True


def test_pseudonyms_are_stable_keyed_and_per_platform():
    a = pseudonymize("telegram", 123456789, "k1")
    assert a == pseudonymize("telegram", "123456789", "k1")
    assert a.startswith("telegram-") and "123456789" not in a
    assert a != pseudonymize("telegram", 123456789, "k2")
    assert a != pseudonymize("zalo", 123456789, "k1")
    with pytest.raises(ValueError):
        pseudonymize("telegram", 1, "")


def test_identity_store_remembers_looks_up_and_forgets(database_url):
    store = IdentityStore(get_engine(database_url))
    store.remember("telegram-abc", "telegram", 42)
    store.remember("telegram-abc", "telegram", 42)  # idempotent
    store.remember("zalo-def", "zalo", "6142494823")
    found = store.lookup("telegram-abc")
    assert found is not None and (found.platform, found.platform_user_id) == ("telegram", "42")
    assert store.forget("telegram-abc") == 1
    assert store.lookup("telegram-abc") is None
    assert store.forget("telegram-abc") == 0
    assert store.lookup("zalo-def") is not None
