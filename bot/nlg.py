"""In-process responses that must not depend on the action server: the urgent-help card.

The urgent card comes first; the other topics the same message asked about (`also_asked`
in the parse data, set by the danger guard or the multi-need splitter) follow it as
buttons, so a story told with danger in the middle loses nothing.

Configured in endpoints.yml as `nlg: {type: bot.nlg.ContentNLG}`. `utter_emergency_help`
is rendered by the Rasa server itself from `content/<lang>/emergency_help.md`, so someone
in danger gets the hotlines even when the action server or the database is down. Every
other response comes from the domain as usual.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.core.nlg.generator import NaturalLanguageGenerator
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from bot.answers import also_asked_reply, card_reply
from bot.language import choose_language

logger = logging.getLogger(__name__)

# Response name -> card id rendered in-process.
CARD_RESPONSES = {"utter_emergency_help": "emergency_help"}


def tracker_language(tracker: DialogueStateTracker) -> str:
    latest = tracker.latest_message
    return choose_language(
        tracker.get_slot("language"),
        latest.metadata if latest else None,
        latest.text if latest else None,
    )


def tracker_country(tracker: DialogueStateTracker) -> str | None:
    """The `country` slot (ISO code) if the domain has it and it holds a code, else None;
    read defensively because a bad value must never block the hotlines."""
    try:
        value = tracker.get_slot("country")
    except Exception:  # a domain without the slot
        return None
    return value.strip().upper() if isinstance(value, str) and value.strip() else None


def also_asked(tracker: DialogueStateTracker) -> list[str]:
    latest = tracker.latest_message
    value = (latest.parse_data or {}).get("also_asked") if latest else None
    return [str(topic) for topic in value if topic] if isinstance(value, list) else []


def _with_also_asked(reply: dict[str, Any], tracker: DialogueStateTracker, card_id: str) -> dict[str, Any]:
    extra = also_asked_reply(also_asked(tracker), tracker_language(tracker), {card_id})
    if not extra:
        return reply
    return {
        **reply,
        "text": f"{reply['text']}\n\n{extra['text']}",
        "buttons": extra["buttons"] + list(reply.get("buttons") or []),
    }


class ContentNLG(NaturalLanguageGenerator):
    """Cards for the responses in CARD_RESPONSES, domain responses for the rest."""

    def __init__(self, endpoint_config: Any = None, domain: Domain | None = None) -> None:
        self._templated = TemplatedNaturalLanguageGenerator((domain or Domain.empty()).responses)

    async def generate(
        self,
        utter_action: str,
        tracker: DialogueStateTracker,
        output_channel: str,
        **kwargs: Any,
    ) -> dict[str, Any] | None:
        card_id = CARD_RESPONSES.get(utter_action)
        if card_id:
            try:
                reply = card_reply(card_id, tracker_language(tracker), tracker_country(tracker))
            except Exception:  # a broken card must not silence the hotlines
                logger.exception("Rendering %s failed; using the domain response", card_id)
                reply = None
            if reply:
                return _with_also_asked(reply, tracker, card_id)
        return await self._templated.generate(utter_action, tracker, output_channel, **kwargs)
