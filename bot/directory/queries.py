"""The directory look-ups, shared by the conversation actions and the CLI.

Functions take an open SQLAlchemy session and return plain frozen dataclasses, so callers
can close the session (and leave the executor thread) before formatting a reply.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import case, func, literal, select, union_all
from sqlalchemy.orm import Session

from bot.directory.loader import ALL_COUNTRIES
from bot.directory.models import (
    OFFICE_KINDS,
    PHONE_PURPOSES,
    HostCountry,
    Office,
    Partner,
    PartnerCoverage,
    confidence_rank,
)
from bot.vietnamese.text import fold


@dataclass(frozen=True)
class Phone:
    purpose: str
    number: str


@dataclass(frozen=True)
class OfficeInfo:
    id: str
    country_code: str
    kind: str
    city: str | None
    name_vi: str
    name_en: str
    phones: tuple[Phone, ...]
    email: str | None
    address: str | None
    hours_vi: str | None
    hours_en: str | None
    note_vi: str | None
    note_en: str | None
    source: str
    last_checked: dt.date
    confidence: str


@dataclass(frozen=True)
class ConsularResult:
    country: str
    city: str | None
    offices: tuple[OfficeInfo, ...]
    # False when a city was asked for but no office is listed there (all the
    # country's offices are then returned instead).
    city_matched: bool


@dataclass(frozen=True)
class PartnerInfo:
    id: str
    kind: str
    name_vi: str
    name_en: str
    description_vi: str | None
    description_en: str | None
    phone: str | None
    email: str | None
    website: str | None
    address: str | None
    hours_vi: str | None
    hours_en: str | None
    languages: tuple[str, ...]
    source: str
    last_checked: dt.date
    confidence: str
    # How it matched the request: "province", "nationwide", "country" or "all_countries".
    match: str


@dataclass(frozen=True)
class PartnerPage:
    need: str
    province: str | None
    country: str | None
    page: int
    per_page: int
    items: tuple[PartnerInfo, ...]
    has_more: bool


@dataclass(frozen=True)
class CountryInfo:
    code: str
    name_vi: str
    name_en: str


def _city_key(city: str | None) -> str:
    return re.sub(r"[^a-z0-9]", "", fold(city or ""))


def _office_order(office: Office) -> tuple[int, int, int, str]:
    has_protection = any(p.purpose == "citizen_protection" for p in office.phones)
    kind = OFFICE_KINDS.index(office.kind) if office.kind in OFFICE_KINDS else len(OFFICE_KINDS)
    return (0 if has_protection else 1, kind, confidence_rank(office.confidence), office.id)


def _office_info(office: Office) -> OfficeInfo:
    phones = sorted(
        office.phones,
        key=lambda p: (PHONE_PURPOSES.index(p.purpose) if p.purpose in PHONE_PURPOSES else 9, p.position),
    )
    return OfficeInfo(
        id=office.id,
        country_code=office.country_code,
        kind=office.kind,
        city=office.city,
        name_vi=office.name_vi,
        name_en=office.name_en,
        phones=tuple(Phone(p.purpose, p.number) for p in phones),
        email=office.email,
        address=office.address,
        hours_vi=office.hours_vi,
        hours_en=office.hours_en,
        note_vi=office.note_vi,
        note_en=office.note_en,
        source=office.source,
        last_checked=office.last_checked,
        confidence=office.confidence,
    )


def find_consular_contacts(session: Session, country: str, city: str | None = None) -> ConsularResult:
    """Vietnamese missions and labour offices in a country, citizen protection first.

    With a city, only offices in that city plus the country-wide ones (those without a
    city, e.g. a labour management board); when no office is listed in that city, all
    of the country's offices, with `city_matched` False.
    """
    country = (country or "").upper()
    offices = list(session.execute(select(Office).where(Office.country_code == country)).scalars())
    for office in offices:
        _ = office.phones  # load now: the session closes before the reply is formatted
    city_matched = True
    if city:
        key = _city_key(city)
        in_city = [o for o in offices if o.city and _city_key(o.city) == key]
        if in_city:
            offices = in_city + [o for o in offices if not o.city]
        else:
            city_matched = False
    offices.sort(key=_office_order)
    return ConsularResult(country, city, tuple(_office_info(o) for o in offices), city_matched)


def find_partners(
    session: Session,
    need: str,
    province: str | None = None,
    country: str | None = None,
    page: int = 1,
    per_page: int = 3,
    include_synthetic: bool = False,
) -> PartnerPage:
    """Partners offering `need`: same province first, then nationwide, then the country.

    With neither province nor country, the nationwide services. Within a rank, higher
    confidence first. Range scans of the coverage table's key, then a sort of the matches.
    """
    page = max(1, int(page or 1))
    country = country.upper() if country else None
    cov = PartnerCoverage.__table__.c
    # (scope, value, rank, label): the places to search, best match first.
    places: list[tuple[str, str, int, str]] = []
    if province:
        places.append(("province", province, 0, "province"))
    if province or not country:
        places.append(("nationwide", "", 1, "nationwide"))
    if country:
        base = 2 if province else 0
        places.append(("country", country, base, "country"))
        places.append(("country", ALL_COUNTRIES, base + 1, "all_countries"))
    # One equality range scan of the coverage key per place (an OR would make the
    # planner scan every row of the need).
    hits = union_all(
        *[
            select(cov.partner_id.label("partner_id"), literal(rank).label("rank")).where(
                cov.service == need, cov.scope == scope, cov.value == value
            )
            for scope, value, rank, _label in places
        ]
    ).subquery()
    matches = (
        select(hits.c.partner_id, func.min(hits.c.rank).label("rank")).group_by(hits.c.partner_id).subquery()
    )
    confidence_order = case((Partner.confidence == "high", 0), (Partner.confidence == "medium", 1), else_=2)
    query = (
        select(Partner, matches.c.rank)
        .join(matches, Partner.id == matches.c.partner_id)
        .order_by(matches.c.rank, confidence_order, Partner.name_vi, Partner.id)
        .offset((page - 1) * per_page)
        .limit(per_page + 1)
    )
    if not include_synthetic:
        query = query.where(Partner.synthetic.is_(False))
    rows = session.execute(query).all()
    labels = {rank: label for _scope, _value, rank, label in places}
    items = tuple(_partner_info(p, labels.get(r, "nationwide")) for p, r in rows[:per_page])
    return PartnerPage(need, province, country, page, per_page, items, len(rows) > per_page)


def _partner_info(p: Partner, match: str) -> PartnerInfo:
    return PartnerInfo(
        id=p.id,
        kind=p.kind,
        name_vi=p.name_vi,
        name_en=p.name_en,
        description_vi=p.description_vi,
        description_en=p.description_en,
        phone=p.phone,
        email=p.email,
        website=p.website,
        address=p.address,
        hours_vi=p.hours_vi,
        hours_en=p.hours_en,
        languages=tuple(x for x in (p.languages or "").split(";") if x),
        source=p.source,
        last_checked=p.last_checked,
        confidence=p.confidence,
        match=match,
    )


def host_countries(session: Session, main_only: bool = True) -> list[CountryInfo]:
    """Host countries in button order (the main ones only, by default)."""
    query = select(HostCountry).order_by(HostCountry.sort_order, HostCountry.code)
    if main_only:
        query = query.where(HostCountry.main_host.is_(True))
    return [CountryInfo(c.code, c.name_vi, c.name_en) for c in session.execute(query).scalars()]


def country_info(session: Session, code: str) -> CountryInfo | None:
    country = session.get(HostCountry, (code or "").upper())
    return CountryInfo(country.code, country.name_vi, country.name_en) if country else None
