"""Directory look-ups in conversation: consular contacts and referral partners.

Thin layer over `bot.directory.queries` and `bot.directory.format`: read the entities of
the latest message (falling back to the slots), ask for what is missing with buttons, run
the query in a worker thread so the action server's event loop never waits on the
database, and remember what was used in slots.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions.common import language_events, latest_entity, user_language
from bot.directory import db
from bot.directory.format import NATIONWIDE, Reply, ask_need, ask_place
from bot.directory.replies import (
    city_country,
    city_name,
    consular_lookup,
    country_code,
    need_key,
    partner_lookup,
    province_name,
    unavailable,
)

log = logging.getLogger(__name__)
T = TypeVar("T")


async def _in_thread(func: Callable[..., T], *args: Any) -> T:
    """Run a blocking database call on the default executor."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, partial(func, *args))


def _page(value: str | None) -> int:
    try:
        return max(1, int(value or 1))
    except ValueError:
        return 1


def _utter(dispatcher: CollectingDispatcher, reply: Reply) -> None:
    if reply.buttons:
        dispatcher.utter_message(text=reply.text, buttons=reply.buttons)
    else:
        dispatcher.utter_message(text=reply.text)


class ActionLookupConsularContact(Action):
    """The Vietnamese missions for the user's host country (and city), or asks for it."""

    def name(self) -> str:
        return "action_lookup_consular_contact"

    @staticmethod
    def _request(tracker: Tracker) -> tuple[str | None, str | None]:
        said_country = country_code(latest_entity(tracker, "country"))
        said_city = city_name(latest_entity(tracker, "city"))
        said_city_country = city_country(said_city)
        if said_city and said_city_country and not said_country:
            # "lãnh sự quán ở Osaka" names the country through the city.
            return said_city_country, said_city
        if said_country:
            # A country named without a city asks for the whole country, not the city
            # remembered from an earlier question.
            if said_city and said_city_country in (None, said_country):
                return said_country, said_city
            return said_country, None
        country = country_code(tracker.get_slot("country"))
        city = said_city or city_name(tracker.get_slot("city"))
        if city and country and city_country(city) not in (None, country):
            city = None
        return country, city

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        lang = user_language(tracker)
        country, city = self._request(tracker)
        try:
            reply = await _in_thread(consular_lookup, db.database_url(), lang, country, city)
        except SQLAlchemyError:
            log.exception("consular look-up failed")
            reply = unavailable(lang)
        _utter(dispatcher, reply)
        events = language_events(tracker)
        if country:
            events += [SlotSet("country", country), SlotSet("city", city)]
        return events


class ActionLookupReferralPartner(Action):
    """Partners for a need near the user's province (or in their host country)."""

    def name(self) -> str:
        return "action_lookup_referral_partner"

    @staticmethod
    def _request(tracker: Tracker) -> tuple[str | None, str | None, str | None, int]:
        need = need_key(latest_entity(tracker, "need")) or need_key(tracker.get_slot("need"))
        said_province = province_name(latest_entity(tracker, "province"))
        said_country = country_code(latest_entity(tracker, "country"))
        if said_province or said_country:
            # The place named now replaces the remembered one (no mixing of old and new).
            province, country = said_province, said_country
        else:
            province = province_name(tracker.get_slot("province"))
            country = country_code(tracker.get_slot("country"))
        if province == NATIONWIDE:
            country = None
        return need, province, country, _page(latest_entity(tracker, "page"))

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        lang = user_language(tracker)
        need, province, country, page = self._request(tracker)
        events = language_events(tracker)
        place_events = (
            [SlotSet("province", province), SlotSet("country", country)] if province or country else []
        )
        if not need:
            _utter(dispatcher, ask_need(lang))
            return events + place_events
        if not province and not country:
            _utter(dispatcher, ask_place(need, lang))
            return events + [SlotSet("need", need)]
        try:
            reply = await _in_thread(partner_lookup, db.database_url(), lang, need, province, country, page)
        except SQLAlchemyError:
            log.exception("referral look-up failed")
            reply = unavailable(lang)
        _utter(dispatcher, reply)
        return events + [SlotSet("need", need), *place_events, SlotSet("page", None)]
