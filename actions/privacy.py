"""Deleting what the assistant stores about a user, on their request.

The conversation itself is deleted by `bot.tracker_store.PrivacyTrackerStore` when the
Rasa server saves this turn: deleting it from here would be undone by that save, which
writes back every event it does not find in the database. The votes and unanswered-queue
items (`bot.feedback`) are deleted here, before the reply, so that a failure is told to
the user instead of a "done" that is not true.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import AllSlotsReset
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions.common import user_language
from actions.replies import in_thread
from bot import db, feedback
from bot.i18n import gettext

log = logging.getLogger(__name__)

FORGET_ACTION = "action_forget_me"


class ActionForgetMe(Action):
    def name(self) -> str:
        return FORGET_ACTION

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        lang = user_language(tracker)
        try:
            await in_thread(feedback.forget, db.get_engine(), tracker.sender_id)
        except SQLAlchemyError as error:
            # The error's message would quote the statement's parameters: its type only.
            log.error("could not delete a sender's feedback on request (%s)", type(error).__name__)
            dispatcher.utter_message(
                text=gettext(
                    lang,
                    "Sorry, I deleted our conversation but could not delete the notes kept for "
                    "the team (your feedback and unanswered questions). Please ask me to forget "
                    "you again later.",
                )
            )
            return [AllSlotsReset()]
        dispatcher.utter_message(
            text=gettext(
                lang,
                "Done. I have deleted our conversation and everything I kept about you. "
                "If you write again, I start fresh.",
            )
        )
        return [AllSlotsReset()]
