"""What a typed message means before NLU: slash commands, shared locations, stray slashes.

Slash commands map to the dialogue's intents (bypassing NLU); a shared location becomes
the partner look-up for the province around it; any other text goes to NLU as it is.
"""

from __future__ import annotations

import re
from typing import Any

from bot.payloads import payload

# Slash commands -> the Rasa payloads of the dialogue's intents (bypass NLU).
COMMAND_PAYLOADS: dict[str, str] = {
    "start": payload("greet"),
    "help": payload("help_menu"),
    "menu": payload("help_menu"),
    "language": payload("change_language"),
    "privacy": payload("privacy"),
    "forget": payload("forget_me"),
    "human": payload("human_handoff"),
    "reminders": payload("my_reminders"),  # issue 14 (branch remind)
}

# The menu Telegram shows for "/" (setMyCommands), English msgid -> translated per language.
COMMAND_DESCRIPTIONS: dict[str, str] = {
    "start": "Start and show the main menu",
    "menu": "Show the topics I can help with",
    "help": "How to use this assistant",
    "language": "Change language (Tiếng Việt / English)",
    "privacy": "What I keep about you",
    "forget": "Delete what I keep about you",
    "human": "Talk to a person",
    "reminders": "See or cancel your deadline reminders",  # issue 14 (branch remind)
}

LOCATION_INTENT = "referral_partner"
LOCATION_PAYLOAD = payload(LOCATION_INTENT)
GREET_PAYLOAD = payload("greet")


def location_payload(latitude: Any, longitude: Any) -> str:
    """The partner look-up for a shared location: with the province around it when the
    point is in Viet Nam, else plain (the dialogue then asks where). The coordinates
    themselves are neither passed on nor stored."""
    from bot.vietnamese.locations import nearest_province

    try:
        province = nearest_province(float(latitude), float(longitude))
    except (TypeError, ValueError):
        province = None
    return payload(LOCATION_INTENT, province=province)


_COMMAND = re.compile(r"^/([A-Za-z0-9_]+)(?:@\w+)?(?:\s.*)?$", re.DOTALL)


def text_to_rasa(text: str) -> str:
    """What to hand Rasa for a typed text: a known command's payload, else the text itself.

    A typed "/something" that is not one of our commands would otherwise be read by Rasa
    as an intent payload, letting anyone trigger any intent with any entities; its slashes
    are dropped so it goes through NLU like other text.
    """
    stripped = text.strip()
    match = _COMMAND.match(stripped)
    if match:
        known = COMMAND_PAYLOADS.get(match.group(1).lower())
        if known:
            return known
    if stripped.startswith("/"):
        return stripped.lstrip("/").strip()
    return stripped
