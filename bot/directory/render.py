"""Directory results as chat replies (text and buttons) in the user's language.

Every entry shows its source and the date it was last checked; a low-confidence entry
says to confirm by calling before going. When nothing matches, the reply says so and
gives the national fallback, so a user is never left without somewhere to turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.directory.queries import (
    ConsularResult,
    CountryInfo,
    OfficeInfo,
    PartnerInfo,
    PartnerPage,
)
from bot.i18n import format_date, gettext
from bot.payloads import CONSULAR_INTENT, REFERRAL_INTENT
from bot.payloads import compact_payload as payload
from bot.vietnamese.countries import COUNTRY_NAMES
from bot.vietnamese.needs import NEED_LABELS, NEEDS
from bot.vietnamese.provinces import NATIONWIDE

DOMAIN = "directory"

# The national fallback (content.md §3 row 1, HIGH). The Department of Overseas Labour's
# own hotline is UNCONFIRMED there, so the office is named without a number.
MOFA_HOTLINE = "+84 981 84 84 84"
MOFA_SOURCE = "dofabrvt.gov.vn (MOFA doc 2544/BNG-LS, 2015); baodansinh via baomoi (2020)"


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)


def _(lang: str, msgid: str, **params: object) -> str:
    return gettext(lang, msgid, domain=DOMAIN, **params)


def _pick(lang: str, vi: str | None, en: str | None) -> str | None:
    return (vi or en) if lang == "vi" else (en or vi)


def need_label(need: str, lang: str) -> str:
    labels = NEED_LABELS.get(need) or {}
    return labels.get(lang) or labels.get("en") or need


def country_name(country: CountryInfo | None, code: str, lang: str) -> str:
    if country:
        return _pick(lang, country.name_vi, country.name_en) or code
    return (COUNTRY_NAMES.get(code) or {}).get(lang) or code


def _checked_line(lang: str, source: str, last_checked) -> str:
    return _(
        lang, "Source: {source}. Last checked: {date}.", source=source, date=format_date(last_checked, lang)
    )


def _confirm_line(lang: str, confidence: str) -> str | None:
    if confidence == "low":
        return _(lang, "Please confirm by calling before you go: this information may be out of date.")
    return None


_PURPOSE_MSGIDS = {
    "citizen_protection": "Citizen protection (emergencies)",
    "general": "General enquiries",
    "labour": "Labour matters",
}


def _office_block(office: OfficeInfo, lang: str) -> str:
    lines = [f"**{_pick(lang, office.name_vi, office.name_en)}**"]
    for phone in office.phones:
        label = _(lang, _PURPOSE_MSGIDS.get(phone.purpose, "General enquiries"))
        lines.append(f"- {label}: {phone.number}")
    if office.email:
        lines.append(f"- {_(lang, 'E-mail')}: {office.email}")
    if office.address:
        lines.append(f"- {_(lang, 'Address')}: {office.address}")
    hours = _pick(lang, office.hours_vi, office.hours_en)
    if hours:
        lines.append(f"- {_(lang, 'Hours')}: {hours}")
    note = _pick(lang, office.note_vi, office.note_en)
    if note:
        lines.append(note)
    confirm = _confirm_line(lang, office.confidence)
    if confirm:
        lines.append(confirm)
    lines.append(_checked_line(lang, office.source, office.last_checked))
    return "\n".join(lines)


def _partner_block(partner: PartnerInfo, lang: str, index: int) -> str:
    lines = [f"{index}. **{_pick(lang, partner.name_vi, partner.name_en)}**"]
    description = _pick(lang, partner.description_vi, partner.description_en)
    if description:
        lines.append(description)
    if partner.phone:
        lines.append(f"- {_(lang, 'Phone')}: {partner.phone.replace('; ', ', ')}")
    if partner.email:
        lines.append(f"- {_(lang, 'E-mail')}: {partner.email}")
    if partner.website:
        lines.append(f"- {_(lang, 'Website')}: {partner.website}")
    if partner.address:
        lines.append(f"- {_(lang, 'Address')}: {partner.address}")
    hours = _pick(lang, partner.hours_vi, partner.hours_en)
    if hours:
        lines.append(f"- {_(lang, 'Hours')}: {hours}")
    if partner.match == NATIONWIDE:
        lines.append(f"- {_(lang, 'Serves all of Viet Nam')}")
    confirm = _confirm_line(lang, partner.confidence)
    if confirm:
        lines.append(confirm)
    lines.append(_checked_line(lang, partner.source, partner.last_checked))
    return "\n".join(lines)


def fallback_text(lang: str) -> str:
    """The national fallback: the MOFA citizen-protection hotline, and the Department
    of Overseas Labour named without a number (none is confirmed)."""
    return "\n".join(
        [
            _(lang, "You can still get help here:"),
            "- "
            + _(
                lang,
                "Citizen protection hotline of the Ministry of Foreign Affairs (24/7, "
                "emergencies abroad): {number}",
                number=MOFA_HOTLINE,
            ),
            "- "
            + _(
                lang,
                "Department of Overseas Labour (Cục Quản lý lao động ngoài nước, Ministry "
                "of Home Affairs), for questions about working abroad; ask the Department of "
                "Home Affairs (Sở Nội vụ) of your province how to reach it.",
            ),
            _(lang, "Source: {source}.", source=MOFA_SOURCE),
        ]
    )


def country_buttons(countries: Sequence[CountryInfo], lang: str) -> list[dict[str, str]]:
    return [
        {"title": country_name(c, c.code, lang), "payload": payload(CONSULAR_INTENT, country=c.code)}
        for c in countries
    ]


def ask_country(countries: Sequence[CountryInfo], lang: str) -> Reply:
    return Reply(
        _(lang, "Which country are you in? Choose one, or type its name."),
        country_buttons(countries, lang),
    )


def consular_reply(result: ConsularResult, country: CountryInfo | None, lang: str) -> Reply:
    name = country_name(country, result.country, lang)
    if not result.offices:
        text = "\n\n".join(
            [
                _(lang, "I have no checked contact for a Vietnamese mission in {country} yet.", country=name),
                fallback_text(lang),
            ]
        )
        return Reply(text)
    parts: list[str] = []
    if result.city and not result.city_matched:
        parts.append(
            _(
                lang,
                "I have no office listed in {city}. These are the offices for {country}:",
                city=result.city,
                country=name,
            )
        )
    elif result.city:
        parts.append(_(lang, "Vietnamese offices for {city} ({country}):", city=result.city, country=name))
    else:
        parts.append(_(lang, "Vietnamese offices in {country}:", country=name))
    parts += [_office_block(o, lang) for o in result.offices]
    parts.append(
        _(
            lang,
            "If you cannot reach them in an emergency, call the Ministry of Foreign "
            "Affairs citizen protection hotline (24/7): {number}",
            number=MOFA_HOTLINE,
        )
    )
    return Reply("\n\n".join(parts))


def need_buttons(lang: str) -> list[dict[str, str]]:
    return [{"title": need_label(n, lang), "payload": payload(REFERRAL_INTENT, need=n)} for n in NEEDS]


def ask_need(lang: str) -> Reply:
    return Reply(_(lang, "What kind of help are you looking for?"), need_buttons(lang))


def ask_place(need: str, lang: str) -> Reply:
    return Reply(
        _(
            lang,
            "Which province of Viet Nam are you in (or which country abroad)? Please type "
            "its name, for example Hà Tĩnh or Hàn Quốc. Or choose: services for all of Viet Nam.",
        ),
        [
            {
                "title": _(lang, "All of Viet Nam"),
                "payload": payload(REFERRAL_INTENT, need=need, province=NATIONWIDE),
            }
        ],
    )


def _place_label(page: PartnerPage, country: CountryInfo | None, lang: str) -> str:
    if page.province:
        return page.province
    if page.country:
        return country_name(country, page.country, lang)
    return _(lang, "all of Viet Nam")


def partners_reply(page: PartnerPage, country: CountryInfo | None, lang: str) -> Reply:
    need = need_label(page.need, lang)
    place = _place_label(page, country, lang)
    if not page.items:
        if page.page > 1:
            text = _(lang, "There are no more results for {need} in {place}.", need=need, place=place)
        else:
            text = _(
                lang,
                'Sorry, I have no organisation for "{need}" in {place} in my list yet.',
                need=need,
                place=place,
            )
        return Reply("\n\n".join([text, fallback_text(lang)]))
    heading = _(lang, 'Help with "{need}" for {place}:', need=need, place=place)
    start = (page.page - 1) * page.per_page
    blocks = [_partner_block(p, lang, start + i + 1) for i, p in enumerate(page.items)]
    buttons: list[dict[str, str]] = []
    if page.has_more:
        buttons.append(
            {
                "title": _(lang, "More results"),
                "payload": payload(
                    REFERRAL_INTENT,
                    need=page.need,
                    province=page.province or (None if page.country else NATIONWIDE),
                    country=page.country,
                    page=str(page.page + 1),
                ),
            }
        )
    return Reply("\n\n".join([heading, *blocks]), buttons)
