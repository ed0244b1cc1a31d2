"""Directory look-ups in conversation: consular contacts and referral partners.

Thin layer over `bot.directory.lookups`: read the entities of the latest message (falling
back to the slots) and answer through `actions.replies`, which asks for what is missing
(setting `requested_slot`, so the next message fills it whatever its intent), runs the
query off the event loop and remembers what was used in slots.
"""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import latest_entity, latest_text
from actions.conversation import ConversationAction
from actions.replies import Events, consular_answer, partner_answer
from bot.directory.lookups import city_country, city_name, country_code, need_key, province_name
from bot.directory.render import NATIONWIDE


def _page(value: str | None) -> int:
    try:
        return max(1, int(value or 1))
    except ValueError:
        return 1


class ActionLookupConsularContact(ConversationAction):
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

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker, lang: str) -> Events:
        country, city = self._request(tracker)
        return await consular_answer(dispatcher, lang, country, city)


class ActionLookupReferralPartner(ConversationAction):
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

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker, lang: str) -> Events:
        need, province, country, page = self._request(tracker)
        text = latest_text(tracker)
        return await partner_answer(
            dispatcher,
            lang,
            need,
            province,
            country,
            page,
            search_text=None if text.startswith("/") else text,
        )
