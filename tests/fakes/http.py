"""The real-HTTP fake servers' common machinery: a threaded `http.server` that records every
call and replays scripted failures (`fail_next`).

Each fake runs in a thread, so it works for in-process channels (on the test's event loop)
and for a Rasa server in a subprocess alike.
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
from urllib.parse import parse_qsl


@dataclass
class Call:
    """One request the fake received."""

    method: str  # API method (Telegram) or URL path (Zalo)
    path: str
    headers: dict[str, str]
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    answered_at: float | None = None  # when the whole answer was written to the client


Reply = tuple[int, dict[str, str], Any]


class _FakeServer:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._failures: dict[str, list[Reply]] = {}
        self._handling = threading.local()  # the call this request thread is answering
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
                call = getattr(fake._handling, "call", None)
                if call is not None:
                    call.answered_at, fake._handling.call = time.monotonic(), None

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
        self._handling.call = call
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


@dataclass
class UploadedFile:
    """One file of a multipart/form-data request (sendDocument, Zalo's upload)."""

    filename: str
    content_type: str
    data: bytes


def _multipart(content_type: str, raw: bytes) -> dict[str, Any]:
    """Fields of a multipart/form-data body: text as str, files as `UploadedFile`."""
    from email.parser import BytesParser
    from email.policy import HTTP

    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            fields[name] = UploadedFile(filename, part.get_content_type(), payload)
        else:
            text = payload.decode("utf-8")
            try:
                fields[name] = json.loads(text) if text[:1] in "{[" else text
            except ValueError:
                fields[name] = text
    return fields


def _params(headers: dict[str, str], raw: bytes, query: str) -> dict[str, Any]:
    content_type = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
    params: dict[str, Any] = dict(parse_qsl(query))
    if content_type.startswith("multipart/form-data") and raw:
        params.update(_multipart(content_type, raw))
    elif "json" in content_type and raw:
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


async def eventually(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll without blocking the event loop the channel's background work runs on."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.02)
    return predicate()
