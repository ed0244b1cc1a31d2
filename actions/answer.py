"""The answer action: the card of the predicted topic, in the user's language.

With a place known (this message or earlier) a card that has local services is followed
by up to three of them; a country named in the message picks that country's variant of
the card; other topics asked in the same message come as buttons. Two meta answers live
here too: where answers come from (the current card's sources) and a calm reply to abuse.
"""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import latest_entity, latest_intent, latest_text, typed_text
from actions.conversation import ConversationAction
from actions.dialogue import asks_nearby, card_for_country
from actions.feedback import to_queue
from actions.replies import Events, card_answer, search_answer
from bot.answers import card_title, menu_button
from bot.content import default_library
from bot.directory.lookups import country_code, province_name
from bot.i18n import format_date, gettext
from bot.payloads import HANDOFF_CARD, SHOW_CARD_INTENT

SOURCES_INTENT = "ask_sources"
INSULT_INTENT = "insult"
OUT_OF_SCOPE_INTENT = "out_of_scope"


def sources_text(topic: str | None, lang: str) -> str:
    """Where answers come from: the sources of the card last answered, or how it works."""
    card = default_library().get(topic, lang) if topic else None
    general = gettext(
        lang,
        "My answers come from information cards written by the team behind this service. "
        "Each card lists its sources (laws, official websites) and the date it was last "
        "reviewed. Always confirm with the office named in the answer before you act.",
    )
    if card is None or not card.sources:
        return general
    lines = [
        gettext(
            lang,
            'The answer about "{title}" is based on these sources (last reviewed {date}):',
            title=card.title,
            date=format_date(card.last_reviewed, lang),
        )
    ]
    lines += [f"- {source}" for source in card.sources]
    return "\n".join(lines) + "\n\n" + general


class ActionAnswerTopic(ConversationAction):
    """Renders `content/<lang>/<topic>.md` for the latest intent (or a requested card)."""

    def name(self) -> str:
        return "action_answer_topic"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker, lang: str) -> Events:
        intent = latest_intent(tracker)
        if intent == SOURCES_INTENT:
            dispatcher.utter_message(
                text=sources_text(tracker.get_slot("topic"), lang), buttons=[menu_button(lang)]
            )
            return []
        if intent == INSULT_INTENT:
            buttons = [menu_button(lang)]
            handoff = card_title(HANDOFF_CARD, lang)
            if handoff:
                buttons.append({"title": handoff, "payload": f"/{HANDOFF_CARD}"})
            dispatcher.utter_message(
                text=gettext(
                    lang,
                    "I am sorry if my answers have not helped. Tell me what you need, or "
                    "choose a topic, or ask to talk to a person.",
                ),
                buttons=buttons,
            )
            return [SlotSet("requested_slot", None)]
        if intent == OUT_OF_SCOPE_INTENT:
            # Fact questions phrased unusually land here: answer from the cards if they can.
            answered = search_answer(dispatcher, typed_text(tracker), lang)
            if answered:
                return [SlotSet("topic", answered), SlotSet("requested_slot", None)]
            await to_queue(tracker, "out_of_scope", lang)
        card_id = latest_entity(tracker, "card") if intent == SHOW_CARD_INTENT else intent
        if not card_id:
            dispatcher.utter_message(
                text=gettext(lang, "Sorry, I have no answer on this yet."), buttons=[menu_button(lang)]
            )
            return []
        said_country = country_code(latest_entity(tracker, "country"))
        if intent != SHOW_CARD_INTENT:
            card_id = card_for_country(card_id, said_country)
        province = province_name(latest_entity(tracker, "province") or tracker.get_slot("province"))
        country = said_country or country_code(tracker.get_slot("country"))
        return await card_answer(
            dispatcher,
            lang,
            card_id,
            province=province,
            country=country,
            nearby=asks_nearby(latest_text(tracker)),
        )
