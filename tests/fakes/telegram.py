"""A fake Telegram Bot API: real HTTP on 127.0.0.1, every call recorded, flood control scripted."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlparse

from tests.fakes.http import Call, Reply, UploadedFile, _FakeServer, _params

TELEGRAM_TOKEN = "123456789:TESTtoken_abcdefghijklmnopqrstuvw"
TELEGRAM_SECRET = "s3cret_Token-for-tests"


class FakeTelegram(_FakeServer):
    """The Bot API at `{base}/bot<token>/<method>`; use `api_base_url` as PTB's base_url."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self._message_id = 1000
        self._thread_id = 500

    @property
    def api_base_url(self) -> str:
        return f"{self.base}/bot"

    def sent_to(self, chat_id: int, thread_id: int | None = None) -> list[str]:
        """Texts sent to one chat (and, in a forum, one topic)."""
        return [
            c.params["text"]
            for c in self.calls_of("sendMessage")
            if int(c.params["chat_id"]) == chat_id
            and (thread_id is None or int(c.params.get("message_thread_id") or 0) == thread_id)
        ]

    def sent_texts(self) -> list[str]:
        return [c.params["text"] for c in self.calls_of("sendMessage")]

    def sent_documents(self, chat_id: int) -> list[UploadedFile]:
        """Files sent to one chat with sendDocument (multipart upload)."""
        return [
            c.params["document"]
            for c in self.calls_of("sendDocument")
            if int(c.params["chat_id"]) == chat_id and isinstance(c.params.get("document"), UploadedFile)
        ]

    def _dispatch(self, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        parsed = urlparse(path)
        prefix = f"/bot{self.token}/"
        if not parsed.path.startswith(prefix):
            return 404, {}, {"ok": False, "error_code": 404, "description": "Not Found"}
        method = parsed.path[len(prefix) :]
        call = Call(method, parsed.path, headers, _params(headers, raw, parsed.query))
        self._record(call)
        scripted = self._scripted(method)
        if scripted:
            return scripted
        if method == "sendMessage" and "chat_id" not in call.params:
            # A body cut short (the client gave up mid-request): Telegram answers 400.
            return 400, {}, {"ok": False, "error_code": 400, "description": "Bad Request: chat_id is empty"}
        # This call's own parameters (not `calls[-1]`: requests arrive concurrently).
        return 200, {}, {"ok": True, "result": self._result(method, call.params)}

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            bot_id = int(self.token.split(":")[0])
            return {"id": bot_id, "is_bot": True, "first_name": "Fake", "username": "fake_bot"}
        if method == "sendMessage":
            self._message_id += 1
            chat_id = int(params["chat_id"])
            sent: dict[str, Any] = {
                "message_id": self._message_id,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
                "text": params.get("text", ""),
            }
            if params.get("message_thread_id"):
                sent["message_thread_id"] = int(params["message_thread_id"])
                sent["is_topic_message"] = True
            return sent
        if method == "sendDocument":
            self._message_id += 1
            document = params.get("document")
            if not isinstance(document, UploadedFile):
                return True
            return {
                "message_id": self._message_id,
                "date": int(time.time()),
                "chat": {"id": int(params["chat_id"]), "type": "private"},
                "document": {
                    "file_id": f"file{self._message_id}",
                    "file_unique_id": f"u{self._message_id}",
                    "file_name": document.filename,
                    "mime_type": document.content_type,
                    "file_size": len(document.data),
                },
            }
        if method == "createForumTopic":
            self._thread_id += 1
            return {"message_thread_id": self._thread_id, "name": params["name"], "icon_color": 7322096}
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


def group_update(
    update_id: int, chat_id: int, text: str, thread_id: int | None = None, user_id: int = 424242
) -> dict[str, Any]:
    """A message in a supergroup, in a forum topic when `thread_id` is given."""
    message: dict[str, Any] = {
        "message_id": update_id,
        "date": int(time.time()),
        "from": {"id": user_id, "is_bot": False, "first_name": "Staff"},
        "chat": {"id": chat_id, "type": "supergroup", "title": "Staff", "is_forum": True},
        "text": text,
    }
    if thread_id is not None:
        message["message_thread_id"] = thread_id
        message["is_topic_message"] = True
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": update_id, "message": message}
