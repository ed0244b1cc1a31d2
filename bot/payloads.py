"""Rasa's payload syntax: `/intent` or `/intent{"entity": "value"}`, built in one place.

A payload bypasses NLU: Rasa reads the intent and the entities straight from it. Buttons,
slash commands and shared locations all speak it, so the syntax lives here once.
"""

from __future__ import annotations

import json

# Intent, card and action names that code refers to (the topic ids are in topics.yml).
FORGET_ACTION = "action_forget_me"
EMERGENCY_INTENT = "emergency_help"
HANDOFF_CARD = "human_handoff"
FALLBACK_INTENT = "nlu_fallback"
CONSULAR_INTENT = "consular_contact"
REFERRAL_INTENT = "referral_partner"
SHOW_CARD_INTENT = "show_card"


def payload(intent: str, **entities: object) -> str:
    """`/intent` plus the entities that are set, as JSON (non-ASCII kept readable)."""
    values = {name: value for name, value in entities.items() if value is not None and value != ""}
    if not values:
        return f"/{intent}"
    return f"/{intent}" + json.dumps(values, ensure_ascii=False)


def compact_payload(intent: str, **entities: object) -> str:
    """`payload` without spaces in the JSON, for buttons whose payload a platform limits in
    size (Telegram's 64-byte callback_data: the directory's place and need buttons)."""
    values = {name: value for name, value in entities.items() if value is not None and value != ""}
    if not values:
        return f"/{intent}"
    return f"/{intent}" + json.dumps(values, ensure_ascii=False, separators=(",", ":"))


def is_payload(text: str) -> bool:
    """True for text Rasa would read as an intent payload rather than a message."""
    return text.startswith("/")
