"""Answer messages with the trained assistant, without any channel: for NGO staff and tests.

`Assistant` loads the model once, runs the action server beside it, and treats every
message as a new conversation. It is what `python -m bot ask` uses, and what tests use
to check how the real bot answers. `converse` plays several turns as one user, which is
how `make bench` scores the held-out conversations in tests/conversations/.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bot.content.topics import topic_ids
from bot.language import choose_language
from bot.logs import quiet_rasa_logging
from bot.services import newest_model, running_action_server
from bot.settings import library_defaults

library_defaults()


def _answer_text(messages: list[dict[str, Any]]) -> str:
    parts = []
    for message in messages:
        if message.get("text"):
            parts.append(message["text"])
        titles = [b.get("title", "") for b in message.get("buttons") or []]
        if titles:
            parts.append("[" + "] [".join(titles) + "]")
    return "\n\n".join(parts)


class Assistant:
    """The trained bot in this process; call `ask` for one message, new conversation each."""

    def __init__(self, agent: Any) -> None:
        self._agent = agent
        self._topics = set(topic_ids())
        self._loop = asyncio.new_event_loop()

    @classmethod
    @contextlib.contextmanager
    def running(cls, model: Path | None = None) -> Iterator[Assistant]:
        from rasa.core.agent import Agent
        from rasa.utils.endpoints import EndpointConfig

        from bot.db import database_url
        from bot.directory import ensure_loaded_or_warn

        quiet_rasa_logging()
        ensure_loaded_or_warn(database_url())
        with running_action_server() as port:
            agent = Agent.load(
                str(model or newest_model()),
                action_endpoint=EndpointConfig(url=f"http://127.0.0.1:{port}/webhook"),
                generator=EndpointConfig(type="bot.nlg.ContentNLG"),
            )
            yield cls(agent)

    async def ask_async(
        self, text: str, metadata: dict[str, Any] | None = None, sender_id: str | None = None
    ) -> dict[str, Any]:
        """The bot's reply; a new conversation unless a sender_id continues one."""
        sender = sender_id or f"ask-{uuid.uuid4().hex}"
        from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

        output = CollectingOutputChannel()
        await self._agent.handle_message(UserMessage(text, output, sender, metadata=metadata))
        tracker = await self._agent.tracker_store.retrieve(sender)
        parse = tracker.latest_message.parse_data if tracker and tracker.latest_message else {}
        intent = (parse.get("intent") or {}).get("name")
        entities: dict[str, Any] = {}
        for entity in parse.get("entities") or []:
            entities.setdefault(entity["entity"], entity["value"])
        card = entities.get("card") if intent == "show_card" else None
        topic = card or (intent if intent in self._topics else None)
        slot_language = tracker.get_slot("language") if tracker else None
        slots = tracker.current_slot_values() if tracker else {}
        return {
            "text": text,
            "intent": intent,
            "confidence": round(float((parse.get("intent") or {}).get("confidence") or 0.0), 4),
            "topic": topic,
            "entities": {k: v for k, v in entities.items() if k in ("country", "province", "city", "need")},
            "lang": choose_language(slot_language, metadata, text),
            "answer": _answer_text(output.messages),
            "messages": output.messages,
            "topic_slot": slots.get("topic"),
            # The places the conversation holds after this turn (named now or earlier):
            # what a follow-up such as "cho tôi số đại sứ quán ở đó" is answered for.
            "place_slots": {k: slots.get(k) for k in ("country", "province", "city") if slots.get(k)},
            "also_asked": list(parse.get("also_asked") or []),
            "all_entities": [
                (e["entity"], e["value"])
                for e in parse.get("entities") or []
                if "entity" in e and "value" in e
            ],
        }

    def ask(
        self, text: str, metadata: dict[str, Any] | None = None, sender_id: str | None = None
    ) -> dict[str, Any]:
        return self._loop.run_until_complete(self.ask_async(text, metadata, sender_id))

    def converse(self, turns: list[str], metadata: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """One new conversation: each user message in turn, one result per turn (as `ask`).

        `topic_slot` in each result is the tracker's `topic` slot after that turn.
        """
        sender = f"converse-{uuid.uuid4().hex}"
        return [self.ask(text, metadata, sender_id=sender) for text in turns]

    def parse(self, text: str) -> dict[str, Any]:
        """What NLU alone makes of a message (intent, ranking, entities), with no dialogue."""
        return self._loop.run_until_complete(self._agent.parse_message(text))
