"""Deleting what the assistant stores about a user, on their request.

The action deletes at once (`bot.privacy.forget_everything`: conversation, pseudonym map
and every other per-user store) and says "done" only when all of it was deleted; otherwise
it says so, and the purge job retries. The Rasa server's save of this turn
(`bot.tracker_store.PrivacyTrackerStore`) then deletes again instead of storing, because
Rasa's save writes back every event it does not find in the database.

The web chat keeps its own copy of the conversation: a message carrying `FORGOTTEN_MARKER`
tells it to clear that copy.
"""

from __future__ import annotations

import asyncio
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import AllSlotsReset
from rasa_sdk.executor import CollectingDispatcher

from actions.common import user_language
from bot.i18n import gettext
from bot.payloads import FORGET_ACTION
from bot.privacy import forget_everything

FORGOTTEN_MARKER = {"forgotten": True}
DONE = (
    "Done. I have deleted our conversation and everything I kept about you. "
    "If you write again, I start fresh."
)
FAILED = (
    "Sorry, I could not delete everything just now. I will keep trying automatically "
    "within a day. You can also send /forget again later."
)


class ActionForgetMe(Action):
    def name(self) -> str:
        return FORGET_ACTION

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        lang = user_language(tracker)
        result = await asyncio.to_thread(forget_everything, tracker.sender_id)
        dispatcher.utter_message(text=gettext(lang, DONE if result.ok else FAILED))
        if result.ok:
            dispatcher.utter_message(json_message=FORGOTTEN_MARKER)
        return [AllSlotsReset()]
