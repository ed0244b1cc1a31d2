"""Fixtures for the handoff tests: a database, and the environment `bot.settings` reads
(delivery and the staff group read their settings the way the servers do)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot import db
from tests.fakes.platforms import point_at_fakes

STAFF_CHAT = -1001234567890


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'handoff.db'}"


@pytest.fixture
def engine(db_url):
    engine = db.ensure_schema(db.get_engine(db_url))
    yield engine
    db.dispose_engines()


@pytest.fixture
def env(monkeypatch, db_url, fake_telegram, fake_zalo):
    """Telegram and Zalo on, pointed at the fakes; staff always on duty unless a test says."""
    values = point_at_fakes(monkeypatch, db_url, fake_telegram, fake_zalo, HANDOFF_HOURS="always")
    monkeypatch.delenv("STAFF_TELEGRAM_CHAT_ID", raising=False)
    return values


# The channel tests' Sanic server fixture.
from tests.channels.conftest import serve  # noqa: E402, F401


class DialogueStub:
    """Rasa for the handoff tests: a `/human_handoff` payload runs the real
    `action_offer_handoff` on a tracker holding the conversation so far; any other message
    gets "echo <n>". The bot's replies are sent through the channel's output, as Rasa does."""

    def __init__(self) -> None:
        self.messages: list = []
        self.events: dict[str, list[dict]] = {}

    async def __call__(self, message) -> None:
        from rasa_sdk import Tracker
        from rasa_sdk.executor import CollectingDispatcher

        from actions.handoff import ActionOfferHandoff
        from bot.payloads import is_payload

        self.messages.append(message)
        events = self.events.setdefault(message.sender_id, [])
        text = message.text
        if not text.startswith("/human_handoff"):
            events.append({"event": "user", "text": text})
            reply = f"echo {len(self.messages)}"
            events.append({"event": "bot", "text": reply})
            await message.output_channel.send_text_message(message.sender_id, reply)
            return
        entities = []
        if is_payload(text) and "{" in text:
            entities = [{"entity": k, "value": v} for k, v in json.loads(text[text.index("{") :]).items()]
        latest = {
            "text": text,
            "intent": {"name": "human_handoff"},
            "entities": entities,
            "metadata": message.metadata or {},
        }
        events.append({"event": "user", "text": text, "parse_data": latest})
        tracker = Tracker(message.sender_id, {"country": "KR"}, latest, list(events), False, None, {}, None)
        dispatcher = CollectingDispatcher()
        await ActionOfferHandoff().run(dispatcher, tracker, {})
        for reply in dispatcher.messages:
            events.append({"event": "bot", "text": reply["text"]})
            await message.output_channel.send_text_with_buttons(
                message.sender_id, reply["text"], reply.get("buttons") or []
            )


@pytest.fixture
def dialogue() -> DialogueStub:
    return DialogueStub()
