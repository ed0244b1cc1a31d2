"""After the urgent card: the local help the same message asked for.

Why a separate action: the urgent card itself is rendered in-process (bot/nlg.py) so it
never waits on this server or the database. This action runs after it and adds what
needs the directory: shelters or anti-trafficking partners when the message names such a
need (for its province, else for all of Viet Nam), or the Vietnamese missions when it
names a host country. It ends any pending question: danger always wins.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import language_events, latest_entity, user_language
from actions.dialogue import URGENT_TOPIC
from actions.replies import REQUESTED, consular_answer, partner_answer, truncation_notice
from bot.directory.lookups import city_country, city_name, country_code, need_key, province_name
from bot.directory.render import NATIONWIDE


class ActionUrgentFollowUp(Action):
    def name(self) -> str:
        return "action_urgent_follow_up"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        lang = user_language(tracker)
        # Any pending question (a look-up, or a tool's: its unfinished answers are dropped) ends.
        events = [
            *language_events(tracker),
            SlotSet("topic", URGENT_TOPIC),
            SlotSet(REQUESTED, None),
            SlotSet("tool_answers", None),
        ]
        need = need_key(latest_entity(tracker, "need"))
        province = province_name(latest_entity(tracker, "province") or tracker.get_slot("province"))
        city = city_name(latest_entity(tracker, "city"))
        country = country_code(latest_entity(tracker, "country")) or city_country(city)
        if need:
            place = province or (None if country else NATIONWIDE)
            events += await partner_answer(dispatcher, lang, need, place, None if province else country)
            events.append(SlotSet("topic", URGENT_TOPIC))
        elif country:
            events += await consular_answer(dispatcher, lang, country, city)
            events.append(SlotSet("topic", URGENT_TOPIC))
        notice = truncation_notice(tracker.latest_message or {}, lang)
        if notice:
            dispatcher.utter_message(text=notice)
        return events
