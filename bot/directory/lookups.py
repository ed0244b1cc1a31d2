"""One directory request -> one chat reply: the code the actions and the CLI share.

Also the normalisers that turn entity or slot values (or CLI arguments) into the
directory's keys: ISO country codes, canonical city names, current province names, needs.
The reply functions block on the database; the actions run them in a worker thread.
"""

from __future__ import annotations

from bot.directory import db, queries
from bot.directory.render import (
    NATIONWIDE,
    Reply,
    ask_country,
    consular_reply,
    fallback_text,
    partners_reply,
)
from bot.i18n import gettext
from bot.vietnamese.cities import CITY_COUNTRY, normalize_city
from bot.vietnamese.countries import normalize_country
from bot.vietnamese.needs import NEEDS, normalize_need
from bot.vietnamese.provinces import CURRENT_PROVINCES, is_nationwide, normalize_province


def country_code(value: str | None) -> str | None:
    """ "KR", "kr", "Hàn Quốc", "han" -> "KR"; None when not a known country."""
    if not value:
        return None
    value = value.strip()
    if len(value) == 2 and value.isalpha():
        return value.upper()
    return normalize_country(value)


def city_name(value: str | None) -> str | None:
    """The canonical English city name ("Ô-xa-ca" -> "Osaka"), or the text as given."""
    if not value:
        return None
    return normalize_city(value) or value.strip()


def city_country(city: str | None) -> str | None:
    if not city:
        return None
    return CITY_COUNTRY.get(city)


def province_name(value: str | None) -> str | None:
    """The current province for any old or new spelling; NATIONWIDE for "toàn quốc"."""
    if not value:
        return None
    if is_nationwide(value):
        return NATIONWIDE
    return value if value in CURRENT_PROVINCES else normalize_province(value)


def need_key(value: str | None) -> str | None:
    if not value:
        return None
    return value if value in NEEDS else normalize_need(value)


def unavailable(lang: str) -> Reply:
    """When the database cannot be read: say so, and still give the national fallback."""
    return Reply(
        "\n\n".join(
            [
                gettext(lang, "Sorry, I cannot open the directory right now.", domain="directory"),
                fallback_text(lang),
            ]
        )
    )


def consular_lookup(database_url: str | None, lang: str, country: str | None, city: str | None) -> Reply:
    """The consular contacts for a country (and city), or the question "which country?"."""
    with db.session_scope(database_url) as session:
        if not country:
            return ask_country(queries.host_countries(session), lang)
        result = queries.find_consular_contacts(session, country, city)
        return consular_reply(result, queries.country_info(session, country), lang)


def partner_lookup(
    database_url: str | None,
    lang: str,
    need: str,
    province: str | None,
    country: str | None,
    page: int = 1,
) -> Reply:
    """One page of referral partners for a need and a province or country."""
    with db.session_scope(database_url) as session:
        result = queries.find_partners(
            session,
            need,
            province=None if province == NATIONWIDE else province,
            country=country,
            page=page,
        )
        info = queries.country_info(session, country) if country else None
        return partners_reply(result, info, lang)
