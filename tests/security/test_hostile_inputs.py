"""Hostile input against every endpoint of the running assistant (review §1 and more).

One `python -m bot run` for the module (the fixture of tests/channels/test_e2e.py: the
trained model, the action server, Telegram and Zalo pointed at the fakes). Each case is one
request with the status it must get (2xx or 4xx, never 500) and whether its platform id may
receive anything. After all cases: nothing was sent to an id that should get nothing, every
id that should get an answer got one, no traceback and no marker text in the server's logs,
and the server still answers within 1 s.

Platform ids are unique per case, so "what was sent to whom" is exact. Marked `e2e`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from bot.channels.zalo_api import signature
from tests.channels.test_e2e import bot  # noqa: F401 - the module's running assistant
from tests.fakes.telegram import TELEGRAM_SECRET, callback_update, text_update
from tests.fakes.zalo import ZALO_APP_ID, ZALO_OA_SECRET

pytestmark = pytest.mark.e2e

MARKER = "QX7hostile"  # in texts that must never reach a log
TG_BASE, ZALO_BASE = 987654400000, 8800999100000000000
DEEP = b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
TG_PATH, ZALO_PATH = "/webhooks/telegram/webhook", "/webhooks/zalo/webhook"
REST_PATH, WEB_PATH = "/webhooks/rest/webhook", "/webhooks/webchat/webhook"
GOOD = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}


@dataclass
class Case:
    id: str
    path: str
    body: Any = None  # dict/list -> JSON; bytes -> raw
    status: tuple[int, ...] = (200,)
    headers: dict[str, Any] = field(default_factory=dict)
    method: str = "POST"
    telegram_to: int | None = None  # a chat that must (sent=True) or must not get a message
    zalo_to: str | None = None
    sent: bool = False
    check: Any = None  # callable(response) -> None for reply content


def tg(n: int) -> int:
    return TG_BASE + n


def zid(n: int) -> str:
    return str(ZALO_BASE + n)


def tg_text(n: int, text: str, **kw: Any) -> dict:
    return text_update(TG_BASE * 10 + n, text, user_id=tg(n), **kw)


def tg_message(n: int, **fields: Any) -> dict:
    message = {"message_id": n, "date": int(time.time()), "chat": {"id": tg(n), "type": "private"}}
    message["from"] = {"id": tg(n), "is_bot": False, "first_name": "An", "language_code": "vi"}
    message.update(fields)
    return {"update_id": TG_BASE * 10 + n, "message": message}


def tg_case(n: int, name: str, body: Any, status=(200,), sent=False, headers=None, check=None) -> Case:
    return Case(
        f"T{n:02d}-{name}",
        TG_PATH,
        body,
        status,
        headers if headers is not None else GOOD,
        telegram_to=tg(n),
        sent=sent,
        check=check,
    )


def _no_script(response: httpx.Response) -> None:
    assert "<script" not in response.text.lower()


def telegram_cases() -> list[Case]:
    deep_update = b'{"update_id": 1, "message": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    group = tg_text(30, "xin chào", chat_type="group")
    supergroup_tap = callback_update(TG_BASE * 10 + 31, "/greet", user_id=tg(31))
    supergroup_tap["callback_query"]["message"]["chat"] = {"id": -100123, "type": "supergroup"}
    no_data = callback_update(TG_BASE * 10 + 27, "/greet", user_id=tg(27))
    del no_data["callback_query"]["data"]
    no_data["callback_query"]["game_short_name"] = "g"
    anonymous = tg_text(41, "làm sao lấy lại tiền ký quỹ")
    del anonymous["message"]["from"]
    huge = b"{" + b'"x": "' + b"a" * 5_000_000 + b'"}'
    return [
        tg_case(1, "no-secret", tg_text(1, "hi"), (403,), headers={}),
        tg_case(2, "wrong-secret", tg_text(2, "hi"), (403,), headers={GOOD_KEY: "wrong"}),
        tg_case(3, "secret-case", tg_text(3, "hi"), (403,), headers={GOOD_KEY: TELEGRAM_SECRET.upper()}),
        tg_case(4, "secret-prefix", tg_text(4, "hi"), (403,), headers={GOOD_KEY: TELEGRAM_SECRET[:-1]}),
        tg_case(5, "secret-latin1", tg_text(5, "hi"), (403,), headers={GOOD_KEY: b"s\xe9cret"}),
        tg_case(6, "secret-9kb", tg_text(6, "hi"), (400, 403, 413, 431), headers={GOOD_KEY: "a" * 9000}),
        tg_case(7, "invalid-json", b"{not json", (400,)),
        tg_case(8, "empty-body", b"", (400,)),
        tg_case(9, "array", [1, 2, 3], (400,)),
        tg_case(10, "update-id-string", {"update_id": "1", "message": tg_text(10, "hi")["message"]}, (400,)),
        tg_case(11, "update-id-missing", {"message": tg_text(11, "hi")["message"]}, (400,)),
        tg_case(12, "message-string", {"update_id": TG_BASE * 10 + 12, "message": "hi"}, (400,)),
        tg_case(
            13,
            "message-without-chat",
            {"update_id": TG_BASE * 10 + 13, "message": {"message_id": 1, "date": 0, "text": "hi"}},
            (400,),
        ),
        tg_case(14, "text-number", tg_message(14, text=12345), (400,)),
        tg_case(
            15,
            "chat-id-string",
            {
                "update_id": TG_BASE * 10 + 15,
                "message": {
                    **tg_message(15)["message"],
                    "chat": {"id": "abc", "type": "private"},
                    "text": "hi",
                },
            },
            (400,),
        ),
        tg_case(16, "deep-json", deep_update, (400,)),
        tg_case(17, "invalid-utf8", b'{"update_id": 5, "message": "\xff\xfe"}', (400,)),
        tg_case(18, "20k-chars", tg_text(18, f"{MARKER} " + "bảo hiểm " * 2300), sent=True),
        tg_case(19, "nul-bytes", tg_text(19, f"ký quỹ\x00\x00 {MARKER}"), sent=True),
        tg_case(20, "lone-surrogate", json.dumps(tg_text(20, "ký quỹ \ud800 x")).encode(), sent=True),
        tg_case(21, "emoji-rtl-zwj", tg_text(21, "👨‍👩‍👧 مرحبا שלום ký quỹ"), sent=True),
        tg_case(22, "html-script", tg_text(22, "lãnh sự quán ở <script>alert(1)</script>"), sent=True),
        tg_case(
            23,
            "sql-like-place",
            tg_text(23, "trung tâm việc làm ở Hà Tĩnh'; DROP TABLE dir_offices;--"),
            sent=True,
        ),
        tg_case(
            24,
            "forged-callback-html",
            callback_update(
                TG_BASE * 10 + 24, '/consular_contact{"city": "<i>x</i><script>"}', user_id=tg(24)
            ),
            sent=True,
        ),
        tg_case(
            25,
            "forged-callback-sql",
            callback_update(TG_BASE * 10 + 25, '/job_search{"province": "x\' OR 1=1"}', user_id=tg(25)),
            sent=True,
        ),
        tg_case(
            26,
            "unknown-short-id",
            callback_update(TG_BASE * 10 + 26, "p:AAAAAAAAAAAAAAAA", user_id=tg(26)),
            sent=True,
        ),
        tg_case(27, "callback-without-data", no_data),
        tg_case(
            28,
            "poll-answer-old-shape",
            {
                "update_id": TG_BASE * 10 + 28,
                "poll_answer": {
                    "poll_id": "1",
                    "option_ids": [0],
                    "user": {"id": tg(28), "is_bot": False, "first_name": "A"},
                },
            },
            (200, 400),
        ),
        tg_case(29, "unknown-update-kind", {"update_id": TG_BASE * 10 + 29, "future_thing": {"x": 1}}),
        tg_case(30, "group-chat", group),
        tg_case(31, "supergroup-tap", supergroup_tap),
        tg_case(
            32,
            "edited-message",
            {
                "update_id": TG_BASE * 10 + 32,
                "edited_message": {**tg_message(32, text="sửa")["message"], "edit_date": 1},
            },
        ),
        tg_case(
            33,
            "channel-post",
            {
                "update_id": TG_BASE * 10 + 33,
                "channel_post": {
                    "message_id": 1,
                    "date": 0,
                    "chat": {"id": -1001, "type": "channel"},
                    "text": "tin",
                },
            },
        ),
        tg_case(
            34,
            "my-chat-member",
            {
                "update_id": TG_BASE * 10 + 34,
                "my_chat_member": {
                    "chat": {"id": tg(34), "type": "private"},
                    "from": {"id": tg(34), "is_bot": False, "first_name": "A"},
                    "date": 0,
                    "old_chat_member": {
                        "status": "member",
                        "user": {"id": 1, "is_bot": True, "first_name": "b"},
                    },
                    "new_chat_member": {
                        "status": "kicked",
                        "until_date": 0,
                        "user": {"id": 1, "is_bot": True, "first_name": "b"},
                    },
                },
            },
            (200, 400),
        ),
        tg_case(
            35,
            "photo",
            tg_message(35, photo=[{"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}]),
            sent=True,
        ),
        tg_case(
            36,
            "location-out-of-range",
            tg_message(36, location={"latitude": 999.0, "longitude": -999.0}),
            sent=True,
        ),
        tg_case(
            37,
            "location-strings",
            tg_message(37, location={"latitude": "north", "longitude": "east"}),
            (200, 400),
            sent=None,
        ),
        tg_case(
            38, "typed-intent-injection", tg_text(38, '/referral_partner{"province": "<b>x</b>"}'), sent=True
        ),
        tg_case(39, "whitespace-only", tg_text(39, "   \n\t  ")),
        tg_case(
            40,
            "text-plain-content-type",
            json.dumps(tg_text(40, "làm sao lấy lại tiền ký quỹ")).encode(),
            headers={**GOOD, "Content-Type": "text/plain"},
            sent=True,
        ),
        tg_case(41, "anonymous-from", anonymous, sent=True),
        tg_case(42, "5mb-without-secret", huge, (403, 413), headers={}),
        tg_case(43, "5mb-with-secret", huge, (413,)),
        tg_case(
            44,
            "chat-id-bool",
            {
                "update_id": TG_BASE * 10 + 44,
                "message": {
                    **tg_message(44)["message"],
                    "chat": {"id": True, "type": "private"},
                    "text": "hi",
                },
            },
            (400,),
        ),
        tg_case(45, "text-list", tg_message(45, text=["a", "b"]), (400,)),
        tg_case(
            46,
            "callback-data-object",
            {
                "update_id": TG_BASE * 10 + 46,
                "callback_query": {
                    **callback_update(1, "x", user_id=tg(46))["callback_query"],
                    "data": {"a": 1},
                },
            },
            (400,),
        ),
        tg_case(
            47,
            "sender-id-string-in-tap",
            {
                "update_id": TG_BASE * 10 + 47,
                "callback_query": {
                    **callback_update(1, "x")["callback_query"],
                    "from": {"id": "me", "is_bot": False, "first_name": "A"},
                },
            },
            (400,),
        ),
        tg_case(
            48,
            "slot-script-in-callback",
            callback_update(
                TG_BASE * 10 + 48, '/change_language{"language": "<script>alert(1)</script>"}', user_id=tg(48)
            ),
            sent=None,
        ),
    ]


GOOD_KEY = "X-Telegram-Bot-Api-Secret-Token"


def zalo_event(
    n: int, name: str = "user_send_text", text: str = "làm sao lấy lại tiền ký quỹ", **extra: Any
) -> dict:
    body = {
        "app_id": ZALO_APP_ID,
        "event_name": name,
        "timestamp": str(int(time.time() * 1000)),
        "sender": {"id": zid(n)},
        "recipient": {"id": "3662729599332560487"},
        "message": {"text": text, "msg_id": f"hostile-{n}"},
    }
    body.update(extra)
    return body


def signed(body: dict | bytes, timestamp: str | None = None, upper: bool = False) -> tuple[bytes, dict]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    if timestamp is None:
        timestamp = json.loads(raw).get("timestamp", "")
    mac = signature(ZALO_APP_ID, raw, str(timestamp), ZALO_OA_SECRET)
    return raw, {"X-ZEvent-Signature": ("MAC=" + mac.upper()) if upper else "mac=" + mac}


def z_case(
    n: int, name: str, body: Any, status=(200,), sent=False, headers=None, sign: bool = True, **kw
) -> Case:
    if sign and not isinstance(body, bytes):
        raw, signature_headers = signed(body, kw.pop("timestamp", None), kw.pop("upper", False))
        headers = {**signature_headers, **(headers or {})}
        body = raw
    return Case(f"Z{n:02d}-{name}", ZALO_PATH, body, status, headers or {}, zalo_to=zid(n), sent=sent)


def zalo_cases() -> list[Case]:
    now = int(time.time() * 1000)
    other = zalo_event(3)
    other_raw, other_sig = signed(zalo_event(99, text="khác"))
    old = zalo_event(4, timestamp=str(now - 2 * 3600 * 1000))
    future = zalo_event(5, timestamp=str(now + 2 * 3600 * 1000))
    deep_signed = (
        b'{"timestamp": "' + str(now).encode() + b'", "a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    )
    utf8_signed = (
        b'{"timestamp": "' + str(now).encode() + b'", "event_name": "user_send_text", "x": "\xff\xfe"}'
    )
    header_only = zalo_event(28)
    del header_only["timestamp"]
    header_raw = json.dumps(header_only).encode()
    header_ts = str(now)
    _, header_sig = signed(header_raw, header_ts)
    surrogate = json.dumps(zalo_event(29, text="ký quỹ \ud800 x")).encode()
    number_ts = zalo_event(33)
    number_ts["timestamp"] = now
    return [
        z_case(1, "no-signature", zalo_event(1), (400, 403), sign=False),
        z_case(
            2,
            "wrong-signature",
            json.dumps(zalo_event(2)).encode(),
            (403,),
            headers={"X-ZEvent-Signature": "mac=" + "0" * 64},
            sign=False,
        ),
        Case(
            "Z03-signature-of-another-body",
            ZALO_PATH,
            json.dumps(other).encode(),
            (403,),
            other_sig,
            zalo_to=zid(3),
        ),
        z_case(4, "replayed-2h-old", old, (403,)),
        z_case(5, "2h-in-the-future", future, (403,)),
        z_case(6, "timestamp-not-a-number", zalo_event(6, timestamp="soon"), (400,)),
        z_case(7, "timestamp-superscript", zalo_event(7, timestamp="17²0000000000"), (400,)),
        z_case(8, "timestamp-5000-digits", zalo_event(8, timestamp="1" * 5000), (400,)),
        z_case(9, "invalid-json", b"{nope", (400,), sign=False),
        Case("Z10-registration-probe", ZALO_PATH, {}, (200,)),
        z_case(11, "array", b"[1,2]", (400,), sign=False),
        z_case(12, "deep-unsigned", DEEP, (400, 403), sign=False),
        z_case(
            13, "5mb-unsigned", b'{"timestamp": "1", "x": "' + b"a" * 5_000_000 + b'"}', (413,), sign=False
        ),
        z_case(14, "another-app", zalo_event(14, app_id="999"), (403,)),
        z_case(
            15, "event-name-missing", {k: v for k, v in zalo_event(15).items() if k != "event_name"}, (400,)
        ),
        z_case(16, "sender-missing", {k: v for k, v in zalo_event(16).items() if k != "sender"}, (400,)),
        z_case(17, "text-is-a-list", zalo_event(17, message={"text": ["a"], "msg_id": "x17"}), (400,)),
        z_case(18, "oa-echo", zalo_event(18, name="oa_send_text")),
        z_case(
            19,
            "image",
            zalo_event(19, name="user_send_image", message={"msg_id": "x19", "attachments": []}),
            sent=True,
        ),
        z_case(21, "sender-id-object", zalo_event(21, sender={"id": {"a": 1}}), (400,)),
        z_case(22, "20k-chars", zalo_event(22, text=f"{MARKER} " + "bảo hiểm " * 2300), sent=True),
        Case(
            "Z23-invalid-utf8-signed",
            ZALO_PATH,
            utf8_signed,
            (400,),
            signed(utf8_signed, str(now))[1],
            zalo_to=zid(23),
        ),
        z_case(24, "html-script-nul", zalo_event(24, text="<script>alert(1)</script>\x00 ký quỹ"), sent=True),
        z_case(
            25,
            "location-garbage",
            zalo_event(
                25,
                name="user_send_location",
                message={
                    "msg_id": "x25",
                    "attachments": [{"payload": {"coordinates": {"latitude": "x", "longitude": None}}}],
                },
            ),
            sent=True,
        ),
        z_case(26, "upper-case-mac", zalo_event(26), sent=True, upper=True),
        z_case(
            27,
            "follow",
            {
                "app_id": ZALO_APP_ID,
                "event_name": "follow",
                "timestamp": str(now),
                "follower": {"id": zid(27)},
            },
            sent=True,
        ),
        Case(
            "Z28-timestamp-in-header-only",
            ZALO_PATH,
            header_raw,
            (200,),
            {**header_sig, "X-ZEvent-Timestamp": header_ts},
            zalo_to=zid(28),
            sent=True,
        ),
        Case(
            "Z29-lone-surrogate",
            ZALO_PATH,
            surrogate,
            (200,),
            signed(surrogate)[1],
            zalo_to=zid(29),
            sent=True,
        ),
        z_case(30, "emoji-rtl", zalo_event(30, text="👨‍👩‍👧 مرحبا ký quỹ"), sent=True),
        Case("Z31-deep-signed", ZALO_PATH, deep_signed, (400,), signed(deep_signed, str(now))[1]),
        Case("Z32-get", ZALO_PATH, None, (405,), method="GET"),
        z_case(33, "timestamp-as-number", number_ts, sent=True),
        Case("Z34-replay-of-z03-body", ZALO_PATH, other_raw, (200,), other_sig, zalo_to=zid(99), sent=True),
        Case(
            "Z35-same-event-again",
            ZALO_PATH,
            other_raw,
            (200,),
            other_sig,
            check=lambda r: r.json() == {"status": "duplicate"},
        ),
    ]


def rest_cases() -> list[Case]:
    def ok_list(response: httpx.Response) -> None:
        assert isinstance(response.json(), list)

    def polite(response: httpx.Response) -> None:
        assert "quá dài" in response.json()[0]["text"]

    return [
        Case("R01-invalid-json", REST_PATH, b"{x", (400,)),
        Case("R02-array", REST_PATH, [1, 2], (400,)),
        Case("R03-no-sender", REST_PATH, {"message": "lãnh sự quán"}, (400,)),
        Case("R04-no-message", REST_PATH, {"sender": "r04"}, (400,)),
        Case("R05-message-object", REST_PATH, {"sender": "r05", "message": {"a": MARKER}}, (400,)),
        Case("R06-sender-number", REST_PATH, {"sender": 12345, "message": "hi"}, (400,)),
        Case("R07-deep", REST_PATH, DEEP[:60_000], (400,)),
        Case(
            "R08-20k-chars",
            REST_PATH,
            {"sender": "r08", "message": f"{MARKER} " + "x" * 20_000},
            check=polite,
        ),
        Case(
            "R09-nul-lone-surrogate",
            REST_PATH,
            json.dumps({"sender": "r09", "message": "ký quỹ\x00\ud800"}).encode(),
            check=ok_list,
        ),
        Case(
            "R10-intent-injection-html",
            REST_PATH,
            {"sender": "r10", "message": '/consular_contact{"city": "<script>x</script>"}'},
            check=_no_script,
        ),
        Case(
            "R11-channel-spoof",
            REST_PATH,
            {
                "sender": "r11",
                "message": "hi",
                "input_channel": "telegram",
                "metadata": {"channel": "telegram"},
            },
            check=ok_list,
        ),
        Case("R12-message-null", REST_PATH, {"sender": "r12", "message": None}, (400,)),
        Case(
            "R13-telegram-pseudonym",
            REST_PATH,
            {"sender": "telegram-" + "a" * 32, "message": "lãnh sự quán"},
            check=ok_list,
        ),
        Case("R14-5mb", REST_PATH, b'{"sender": "r14", "message": "' + b"a" * 5_000_000 + b'"}', (413,)),
        Case(
            "R15-passport-360kb",
            REST_PATH,
            json.dumps({"sender": "r15", "message": "passport " * 40_000}).encode(),
            (413,),
        ),
        Case("R16-get", REST_PATH, None, (405,), method="GET"),
        Case("R17-sender-unicode", REST_PATH, {"sender": "ngườidùng", "message": "hi"}, (400,)),
        Case("R18-sender-path", REST_PATH, {"sender": "../../etc", "message": "hi"}, (400,)),
        Case(
            "R19-text-plain",
            REST_PATH,
            json.dumps({"sender": "r19", "message": "ký quỹ"}).encode(),
            headers={"Content-Type": "text/plain"},
            check=ok_list,
        ),
        Case(
            "R20-slot-script",
            REST_PATH,
            {"sender": "r20", "message": '/change_language{"language": "<img src=x onerror=alert(1)>"}'},
            check=_no_script,
        ),
        Case("R21-sender-too-long", REST_PATH, {"sender": "a" * 65, "message": "hi"}, (400,)),
        Case("R22-empty-body", REST_PATH, b"", (400,)),
    ]


def web_cases() -> list[Case]:
    def no_attribute_injection(response: httpx.Response) -> None:
        for message in response.json():
            assert 'onfocus="' not in (message.get("html") or "")
            assert "<script" not in (message.get("html") or "").lower()

    def forgotten(response: httpx.Response) -> None:
        assert any(m.get("forgotten") for m in response.json())

    def polite(response: httpx.Response) -> None:
        assert "quá dài" in response.json()[0]["text"]

    xss_city = '/consular_contact{"city": "https://x.example/\\"onfocus=\\"alert(1)"}'
    return [
        Case("W01-invalid-json", WEB_PATH, b"{x", (400,)),
        Case("W02-sender-too-short", WEB_PATH, {"sender": "abc", "message": "hi"}, (400,)),
        Case("W03-sender-path", WEB_PATH, {"sender": "../../étc/pass", "message": "hi"}, (400,)),
        Case("W04-empty-message", WEB_PATH, {"sender": "w04abcdef", "message": ""}, (400,)),
        Case("W05-message-list", WEB_PATH, {"sender": "w05abcdef", "message": ["a"]}, (400,)),
        Case("W06-deep", WEB_PATH, DEEP[:60_000], (400,)),
        Case("W07-5mb", WEB_PATH, b'{"sender": "w07abcdef", "message": "' + b"a" * 5_000_000 + b'"}', (413,)),
        Case(
            "W08-payload-xss-city",
            WEB_PATH,
            {"sender": "w08abcdef", "payload": xss_city},
            check=no_attribute_injection,
        ),
        Case("W09-forget-me", WEB_PATH, {"sender": "w09abcdef", "payload": "/forget_me"}, check=forgotten),
        Case("W10-nul-rtl-emoji", WEB_PATH, {"sender": "w10abcdef", "message": "\x00 مرحبا 👨‍👩‍👧 ký quỹ"}),
        Case("W11-typed-intent", WEB_PATH, {"sender": "w11abcdef", "message": '/forget_me{"x": 1}'}),
        Case(
            "W12-3000-chars",
            WEB_PATH,
            {"sender": "w12abcdef", "message": f"{MARKER} " + "a" * 3000},
            check=polite,
        ),
        Case("W13-sender-object", WEB_PATH, {"sender": {"a": 1}, "message": "hi"}, (400,)),
        Case("W14-get-webhook", WEB_PATH, None, (405,), method="GET"),
        Case(
            "W15-lone-surrogate",
            WEB_PATH,
            json.dumps({"sender": "w15abcdef", "message": "ký quỹ \udfff"}).encode(),
        ),
    ]


def ops_cases() -> list[Case]:
    def csp(response: httpx.Response) -> None:
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]

    return [
        Case("O01-health", "/health", None, method="GET"),
        Case("O02-ready", "/ready", None, (200, 503), method="GET"),
        Case("O03-metrics", "/metrics", None, method="GET", check=lambda r: "bot_messages_total" in r.text),
        Case("O04-post-health", "/health", {}, (405,)),
        Case("O05-tracker-api-closed", "/conversations/telegram-x/tracker", None, (404,), method="GET"),
        Case("O06-model-api-closed", "/model", None, (404,), method="GET"),
        Case("O07-status-api-closed", "/status", None, (404,), method="GET"),
        Case("O08-webchat-page-csp", "/webhooks/webchat/", None, method="GET", check=csp),
        Case("O09-unknown-path", "/webhooks/nothing/webhook", {}, (404,)),
        Case("O10-rest-health", "/webhooks/rest/", None, method="GET"),
    ]


CASES = telegram_cases() + zalo_cases() + rest_cases() + web_cases() + ops_cases()
RATE_LIMIT_BURST = (
    21  # RATE_LIMIT_PER_MINUTE (20) + 1, sent by `test_a_burst_from_one_sender_is_rate_limited`
)


def test_the_suite_has_at_least_100_requests_across_every_endpoint():
    paths = {case.path for case in CASES}
    assert len(CASES) + RATE_LIMIT_BURST >= 100
    assert {TG_PATH, ZALO_PATH, REST_PATH, WEB_PATH, "/health", "/ready", "/metrics"} <= paths
    assert len({case.id for case in CASES}) == len(CASES)


def _send(base: str, case: Case) -> httpx.Response:
    headers = dict(case.headers)
    if case.method == "GET":
        return httpx.get(base + case.path, headers=headers, timeout=60)
    if isinstance(case.body, bytes | type(None)):
        content = case.body or b""
        headers.setdefault("Content-Type", "application/json")
        return httpx.post(base + case.path, content=content, headers=headers, timeout=60)
    return httpx.post(base + case.path, json=case.body, headers=headers, timeout=60)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_each_hostile_request_gets_the_right_status(bot, case):  # noqa: F811 - the imported fixture
    response = _send(bot.base, case)
    assert response.status_code != 500
    assert response.status_code in case.status, response.text[:300]
    if case.check is not None:
        case.check(response)


def test_a_burst_from_one_sender_is_rate_limited(bot):  # noqa: F811
    replies = [
        httpx.post(bot.base + REST_PATH, json={"sender": "burst", "message": "xin chào"}, timeout=60)
        for _ in range(RATE_LIMIT_BURST)
    ]
    assert all(r.status_code == 200 for r in replies)
    assert "rất nhanh" in replies[-1].json()[0]["text"]
    danger = httpx.post(
        bot.base + REST_PATH, json={"sender": "burst", "message": "tôi bị chủ đánh, cứu em"}, timeout=60
    )
    assert "rất nhanh" not in json.dumps(danger.json(), ensure_ascii=False)


def _recipients(bot) -> tuple[set[int], set[str]]:  # noqa: F811
    telegram = {int(c.params["chat_id"]) for c in bot.telegram.calls_of("sendMessage")}
    zalo = {_zalo_user(c.params.get("recipient", {})) for c in bot.zalo.sent()}
    return telegram, zalo


def _zalo_user(recipient: dict) -> str:
    """The user a Zalo send reached: named directly, or by the message it replies to."""
    if "user_id" in recipient:
        return str(recipient["user_id"])
    for case in CASES:
        body = case.body
        if isinstance(body, bytes):
            try:
                body = json.loads(body)
            except (ValueError, RecursionError):
                body = {}
        body = body if isinstance(body, dict) else {}
        message = body.get("message") if isinstance(body.get("message"), dict) else {}
        sender = body.get("sender") if isinstance(body.get("sender"), dict) else {}
        if message.get("msg_id") is not None and str(message["msg_id"]) == str(recipient.get("message_id")):
            return str(sender.get("id"))
    return ""


def test_only_the_right_ids_were_answered(bot):  # noqa: F811
    expected_tg = {c.telegram_to for c in CASES if c.telegram_to and c.sent}
    expected_zalo = {c.zalo_to for c in CASES if c.zalo_to and c.sent}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        telegram, zalo = _recipients(bot)
        if expected_tg <= telegram and expected_zalo <= zalo:
            break
        time.sleep(0.5)
    time.sleep(2)  # let anything that should not come, come
    telegram, zalo = _recipients(bot)
    assert sorted(expected_tg - telegram) == [] and sorted(expected_zalo - zalo) == []
    forbidden_tg = {c.telegram_to for c in CASES if c.telegram_to and c.sent is False}
    forbidden_zalo = {c.zalo_to for c in CASES if c.zalo_to and c.sent is False}
    assert sorted(forbidden_tg & telegram) == [] and sorted(forbidden_zalo & zalo) == []
    assert -100123 not in telegram and -1001 not in telegram  # no message to a group or channel
    taps = [c.params["callback_query_id"] for c in bot.telegram.calls_of("answerCallbackQuery")]
    assert f"cbq{TG_BASE * 10 + 31}" in taps  # the supergroup tap only stops its spinner


def test_replies_escape_what_users_sent(bot):  # noqa: F811
    for call in bot.telegram.calls_of("sendMessage"):
        assert "<script" not in call.params["text"].lower() and "<i>x" not in call.params["text"]


def test_no_traceback_and_no_message_text_in_the_logs(bot):  # noqa: F811
    logs = bot.stderr.read_text(errors="replace") + bot.stdout.read_text(errors="replace")
    assert "Traceback" not in logs
    assert MARKER not in logs
    assert "telegram-" + "a" * 32 not in logs and "rest-r1" not in logs


def test_the_server_still_answers_within_a_second(bot):  # noqa: F811
    for path in ("/health", "/webhooks/rest/", "/webhooks/telegram/"):
        started = time.monotonic()
        assert httpx.get(bot.base + path, timeout=1).status_code == 200
        assert time.monotonic() - started < 1
