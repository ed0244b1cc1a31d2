"""Fake Telegram Bot API and Zalo OA/OAuth servers: real HTTP on 127.0.0.1, every call recorded.

Each fake runs `http.server` in a thread, so it works for in-process channels (on the
test's event loop) and for a Rasa server in a subprocess alike. Failures are scripted per
method (`fail_next`) to exercise flood control and token expiry.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlparse

TELEGRAM_TOKEN = "123456789:TESTtoken_abcdefghijklmnopqrstuvw"
TELEGRAM_SECRET = "s3cret_Token-for-tests"
ZALO_APP_ID = "2553928453557884079"
ZALO_OA_SECRET = "oa-secret-key-for-tests"
ZALO_APP_SECRET = "app-secret-for-tests"


@dataclass
class Call:
    """One request the fake received."""

    method: str  # API method (Telegram) or URL path (Zalo)
    path: str
    headers: dict[str, str]
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


Reply = tuple[int, dict[str, str], Any]


class _FakeServer:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._failures: dict[str, list[Reply]] = {}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, headers, body = fake._dispatch(self.path, dict(self.headers.items()), raw)
                data = json.dumps(body).encode("utf-8")
                self.send_response(status)
                for key, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> _FakeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail_next(
        self, method: str, status: int, body: Any, headers: dict[str, str] | None = None, times: int = 1
    ) -> None:
        """The next `times` calls of `method` get this reply instead of the normal one."""
        with self._lock:
            self._failures.setdefault(method, []).extend([(status, headers or {}, body)] * times)

    def _scripted(self, method: str) -> Reply | None:
        with self._lock:
            queue = self._failures.get(method)
            return queue.pop(0) if queue else None

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def calls_of(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.02)
        return predicate()

    def _dispatch(self, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        return 404, {}, {"error": "not found"}  # each fake routes its own API


def _params(headers: dict[str, str], raw: bytes, query: str) -> dict[str, Any]:
    content_type = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
    params: dict[str, Any] = dict(parse_qsl(query))
    if "json" in content_type and raw:
        params.update(json.loads(raw))
    elif raw:
        for key, value in parse_qsl(raw.decode("utf-8"), keep_blank_values=True):
            params[key] = value
            if value[:1] in "{[":
                try:
                    params[key] = json.loads(value)  # PTB sends nested objects as JSON strings
                except ValueError:
                    pass
    return params


class FakeTelegram(_FakeServer):
    """The Bot API at `{base}/bot<token>/<method>`; use `api_base_url` as PTB's base_url."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self._message_id = 1000

    @property
    def api_base_url(self) -> str:
        return f"{self.base}/bot"

    def sent_texts(self) -> list[str]:
        return [c.params["text"] for c in self.calls_of("sendMessage")]

    def _dispatch(self, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        parsed = urlparse(path)
        prefix = f"/bot{self.token}/"
        if not parsed.path.startswith(prefix):
            return 404, {}, {"ok": False, "error_code": 404, "description": "Not Found"}
        method = parsed.path[len(prefix) :]
        self._record(Call(method, parsed.path, headers, _params(headers, raw, parsed.query)))
        scripted = self._scripted(method)
        if scripted:
            return scripted
        return 200, {}, {"ok": True, "result": self._result(method, self.calls[-1].params)}

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            bot_id = int(self.token.split(":")[0])
            return {"id": bot_id, "is_bot": True, "first_name": "Fake", "username": "fake_bot"}
        if method == "sendMessage":
            self._message_id += 1
            return {
                "message_id": self._message_id,
                "date": int(time.time()),
                "chat": {"id": int(params["chat_id"]), "type": "private"},
                "text": params.get("text", ""),
            }
        if method == "getWebhookInfo":
            webhooks = self.calls_of("setWebhook")
            url = webhooks[-1].params.get("url", "") if webhooks else ""
            return {"url": url, "has_custom_certificate": False, "pending_update_count": 0}
        return True


def retry_after(seconds: int = 1) -> tuple[int, Any, dict[str, str]]:
    """Telegram's exact flood-control reply (status, body, headers)."""
    body = {
        "ok": False,
        "error_code": 429,
        "description": f"Too Many Requests: retry after {seconds}",
        "parameters": {"retry_after": seconds},
    }
    return 429, body, {"Retry-After": str(seconds)}


class FakeZalo(_FakeServer):
    """The OA OpenAPI (`/v3.0/oa/message/cs`) and OAuth v4 (`/v4/oa/access_token`) in one server.

    Access and refresh tokens are checked like Zalo does: an unknown access token gets
    -216, and a refresh token works once.
    """

    def __init__(self, app_id: str, app_secret: str, access_token: str, refresh_token: str) -> None:
        super().__init__()
        self.app_id = app_id
        self.app_secret = app_secret
        self.valid_access = {access_token}
        self.valid_refresh = {refresh_token}
        self.issued: list[tuple[str, str]] = []
        self.refused_users: dict[str, int] = {}

    def sent(self) -> list[Call]:
        return self.calls_of("/v3.0/oa/message/cs")

    def delivered_texts(self) -> list[str]:
        return [c.params["message"]["text"] for c in self.sent() if c.params.get("_delivered")]

    def _dispatch(self, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        parsed = urlparse(path)
        lower = {k.lower(): v for k, v in headers.items()}
        call = Call(parsed.path, parsed.path, headers, _params(headers, raw, parsed.query))
        self._record(call)
        scripted = self._scripted(parsed.path)
        if scripted:
            return scripted
        if parsed.path == "/v3.0/oa/message/cs":
            if lower.get("access_token") not in self.valid_access:
                return 200, {}, {"error": -216, "message": "Access token is invalid"}
            user_id = str(call.params.get("recipient", {}).get("user_id"))
            if user_id in self.refused_users:
                code = self.refused_users[user_id]
                return (
                    200,
                    {},
                    {"error": code, "message": "User has not interacted with the OA in the past 7 days"},
                )
            call.params["_delivered"] = True
            return (
                200,
                {},
                {
                    "error": 0,
                    "message": "Success",
                    "data": {"message_id": f"m{len(self.calls)}", "user_id": user_id},
                },
            )
        if parsed.path == "/v4/oa/access_token":
            if lower.get("secret_key") != self.app_secret or call.params.get("app_id") != self.app_id:
                return 200, {}, {"error": -14002, "error_name": "Invalid app"}
            token = call.params.get("refresh_token")
            if call.params.get("grant_type") != "refresh_token" or token not in self.valid_refresh:
                return 200, {}, {"error": -14014, "error_name": "Invalid refresh token"}
            self.valid_refresh.discard(token)  # single use
            n = len(self.issued) + 1
            pair = (f"access-{n}", f"refresh-{n}")
            self.issued.append(pair)
            self.valid_access = {pair[0]}
            self.valid_refresh.add(pair[1])
            return 200, {}, {"access_token": pair[0], "refresh_token": pair[1], "expires_in": "90000"}
        return 404, {}, {"error": -404, "message": "empty api"}


# --- helpers for the tests ---------------------------------------------------------------


async def eventually(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll without blocking the event loop the channel's background work runs on."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.02)
    return predicate()


def text_update(
    update_id: int,
    text: str,
    user_id: int = 987654321,
    language: str | None = "vi",
    chat_type: str = "private",
) -> dict[str, Any]:
    sender: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": "An"}
    if language:
        sender["language_code"] = language
    message: dict[str, Any] = {
        "message_id": update_id,
        "date": int(time.time()),
        "from": sender,
        "chat": {"id": user_id, "type": chat_type, "first_name": "An"},
        "text": text,
    }
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": update_id, "message": message}


def callback_update(
    update_id: int, data: str, user_id: int = 987654321, language: str = "vi"
) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cbq{update_id}",
            "chat_instance": "-88000000",
            "from": {"id": user_id, "is_bot": False, "first_name": "An", "language_code": language},
            "message": {
                "message_id": 43,
                "date": int(time.time()),
                "chat": {"id": user_id, "type": "private"},
                "text": "Pick one",
            },
            "data": data,
        },
    }
