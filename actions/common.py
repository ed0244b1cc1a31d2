"""What every action needs: the user's language, and the events that remember it."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

from bot.content.search import MAX_QUERY_CHARS
from bot.language import choose_language

LANGUAGE_SLOT = "language"


def latest_text(tracker: Tracker) -> str:
    """The latest message as far as the bot reads it (the first MAX_QUERY_CHARS)."""
    return ((tracker.latest_message or {}).get("text") or "")[:MAX_QUERY_CHARS]


def typed_text(tracker: Tracker) -> str:
    """The latest message as the user typed it (case and all), before the NLU normaliser
    lowercased it: "Danuri" typed as a name. The first MAX_QUERY_CHARS."""
    for event in reversed(tracker.events or []):
        if event.get("event") == "user":
            return str(event.get("text") or "")[:MAX_QUERY_CHARS] or latest_text(tracker)
    return latest_text(tracker)


def user_language(tracker: Tracker) -> str:
    """ "vi" or "en": the slot, else the channel locale, else a guess from the message."""
    latest = tracker.latest_message or {}
    return choose_language(tracker.get_slot(LANGUAGE_SLOT), latest.get("metadata"), latest_text(tracker))


def language_events(tracker: Tracker) -> list[dict[str, Any]]:
    """A SlotSet that keeps the language once chosen, or nothing if already kept."""
    language = user_language(tracker)
    if tracker.get_slot(LANGUAGE_SLOT) == language:
        return []
    return [SlotSet(LANGUAGE_SLOT, language)]


def latest_intent(tracker: Tracker) -> str:
    return ((tracker.latest_message or {}).get("intent") or {}).get("name") or ""


def latest_entity(tracker: Tracker, entity_type: str) -> str | None:
    """The first value of an entity in the latest message (payload or extractor)."""
    for entity in (tracker.latest_message or {}).get("entities") or []:
        if entity.get("entity") == entity_type and entity.get("value") not in (None, ""):
            return str(entity["value"])
    return None
