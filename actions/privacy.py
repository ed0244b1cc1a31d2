"""Deleting what the assistant stores about a user, on their request.

The deletion itself happens in `bot.tracker_store.PrivacyTrackerStore` when the Rasa
server saves this turn: deleting from here would be undone by that save, which writes
back every event it does not find in the database.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import AllSlotsReset
from rasa_sdk.executor import CollectingDispatcher

from actions.common import user_language
from bot.i18n import gettext

FORGET_ACTION = "action_forget_me"


class ActionForgetMe(Action):
    def name(self) -> str:
        return FORGET_ACTION

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        lang = user_language(tracker)
        dispatcher.utter_message(
            text=gettext(
                lang,
                "Done. I have deleted our conversation and everything I kept about you. "
                "If you write again, I start fresh.",
            )
        )
        return [AllSlotsReset()]
