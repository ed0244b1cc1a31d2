"""All place and need mentions in one message, as (entity type, match) pairs.

One entry point for the NLU extractor and the `ask` CLI, so both read a message alike.
"""

from __future__ import annotations

from bot.vietnamese.cities import find_cities
from bot.vietnamese.countries import find_countries
from bot.vietnamese.matching import Match
from bot.vietnamese.needs import find_needs
from bot.vietnamese.provinces import find_provinces


def extract_places(text: str) -> list[tuple[str, Match]]:
    """Countries, provinces, cities and needs, in the order they appear."""
    found: list[tuple[str, Match]] = []
    found += [("country", m) for m in find_countries(text)]
    found += [("province", m) for m in find_provinces(text)]
    found += [("city", m) for m in find_cities(text)]
    found += [("need", m) for m in find_needs(text)]
    return sorted(found, key=lambda item: item[1].start)
