"""A card as a channel-neutral reply: text in the Markdown subset plus buttons.

Follow-up cards become buttons whose payload bypasses NLU (`/<topic id>` for topics,
`/show_card{"card": "<id>"}` for sub-cards); a card with `lookup` also gets a button
that starts the directory look-up. Turning `**bold**` into HTML or a platform's own
formatting is the channels' job (`bot.markup`).

Country lines: a body line that starts with a tag such as `[KR]` (after an optional
"- " list marker; several countries as `[SA, AE]`) belongs to those countries. The
urgent-help card lists police and ambulance numbers this way, and someone in danger
must find their own in seconds: when the user's country is known and the card has a
line for it, the other countries' lines are left out, so under each heading the user's
own country comes first. Without a country (or with one the card has no line for)
every line is shown in file order, so editors put Viet Nam first for returnees.

Contacts age: a card that shows phone numbers ends with the date its facts were last
checked (`last_reviewed`, which the staff console's "verified on DATE" sets), so a person
can judge a number before calling it. The urgent-help card is left without it: it must
read in seconds, and its numbers are the best-established ones.
"""

from __future__ import annotations

import json
import logging
import re

from bot.content.cards import Card, ContentLibrary
from bot.content.topics import topic_ids
from bot.i18n import format_date, gettext
from bot.payloads import payload

logger = logging.getLogger(__name__)

LOOKUP_BUTTON_TITLES = {
    "referral_partner": "Find organisations near me",
    "consular_contact": "Find the embassy contacts",
}

URGENT_CARDS = ("emergency_help",)
CHECKED_ON = "Phone numbers in this card were last checked on {date}."

# "- [KR] text", "[SA, AE] text", "1. [JP] text": list marker, tag, rest of the line.
COUNTRY_TAG = re.compile(r"^(\s*(?:[-*]|\d+\.)?\s*)\[([A-Z]{2}(?:\s*,\s*[A-Z]{2})*)\]\s?")


def line_countries(line: str) -> tuple[str, ...]:
    """The country codes a body line is tagged with ("- [SA, AE] ..." -> ("SA", "AE"))."""
    match = COUNTRY_TAG.match(line)
    if not match:
        return ()
    return tuple(code.strip() for code in match.group(2).split(","))


def body_for_country(body: str, country: str | None = None) -> str:
    """The body with country tags removed; with a `country` the card has lines for,
    the lines tagged only for other countries are left out."""
    lines = body.splitlines()
    tags = [line_countries(line) for line in lines]
    wanted = (country or "").strip().upper()
    if not wanted or not any(wanted in codes for codes in tags):
        kept = lines
    else:
        kept = [line for line, codes in zip(lines, tags, strict=True) if not codes or wanted in codes]
    text = "\n".join(COUNTRY_TAG.sub(r"\1", line) for line in kept)
    # A block whose lines were all left out would leave two blank lines in a row.
    return re.sub(r"\n\s*\n(?:\s*\n)+", "\n\n", text).strip()


def _payload(card_id: str, topics: list[str]) -> str:
    return payload(card_id) if card_id in topics else payload("show_card", card=card_id)


def render_card(card: Card, library: ContentLibrary, country: str | None = None) -> dict[str, object]:
    """{"text": "**title**\\n\\nbody", "buttons": [{"title", "payload"}, ...]}.

    `country` (ISO code, e.g. "KR") puts that country's lines first and drops the other
    countries' lines (see the module docstring).
    """
    topics = topic_ids()
    buttons: list[dict[str, str]] = []
    for target_id in card.follow_up:
        target = library.get(target_id, card.lang)
        if target is None:
            logger.warning(
                "Card %s/%s: follow-up %r has no card; button left out", card.lang, card.id, target_id
            )
            continue
        buttons.append({"title": target.title, "payload": _payload(target_id, topics)})
    if card.lookup == "referral_partner":
        payload = "/referral_partner"
        if card.lookup_need:
            payload += json.dumps({"need": card.lookup_need}, ensure_ascii=False)
        buttons.append(
            {"title": gettext(card.lang, LOOKUP_BUTTON_TITLES["referral_partner"]), "payload": payload}
        )
    elif card.lookup == "consular_contact":
        buttons.append(
            {
                "title": gettext(card.lang, LOOKUP_BUTTON_TITLES["consular_contact"]),
                "payload": "/consular_contact",
            }
        )
    body = body_for_country(card.body, country)
    text = f"**{card.title}**\n\n{body}"
    if card.id not in URGENT_CARDS and _shows_phone_numbers(body):
        text += "\n\n" + gettext(card.lang, CHECKED_ON, date=format_date(card.last_reviewed, card.lang))
    return {"text": text, "buttons": buttons}


def _shows_phone_numbers(body: str) -> bool:
    from bot.content.checks import find_phone_numbers  # the cards' one phone-number rule

    return bool(find_phone_numbers(body))
