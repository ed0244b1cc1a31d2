"""Rasa's SQL tracker store, plus "forget me": deleting a user's conversation for good.

Configured in endpoints.yml as `type: bot.tracker_store.PrivacyTrackerStore`. When a turn
ran the forget action, saving it deletes every stored event of that sender and the
channel's map from the pseudonym back to the platform user id, instead of storing.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

logger = logging.getLogger(__name__)

FORGET_ACTION = "action_forget_me"


def asked_to_forget(tracker: DialogueStateTracker) -> bool:
    """True when the forget action ran after the latest user message."""
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            return False
        if isinstance(event, ActionExecuted) and event.action_name == FORGET_ACTION:
            return True
    return False


class PrivacyTrackerStore(SQLTrackerStore):
    """SQLTrackerStore whose save honours a user's request to be forgotten."""

    def __init__(self, *args: Any, identity_database_url: str | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._identity_database_url = identity_database_url

    async def save(self, tracker: DialogueStateTracker) -> None:
        if not asked_to_forget(tracker):
            await super().save(tracker)
            return
        with self.session_scope() as session:
            session.execute(sa.delete(self.SQLEvent).where(self.SQLEvent.sender_id == tracker.sender_id))
            session.commit()
        removed = forget_identity(tracker.sender_id, self._identity_database_url)
        logger.info("Forgot a conversation on request (%d identity rows removed).", removed)


def forget_identity(sender_id: str, database_url: str | None) -> int:
    """Remove the pseudonym -> platform id map of a sender; 0 when there is none."""
    from bot.db import get_engine
    from bot.identity import IdentityStore  # the channels' own table

    return IdentityStore(get_engine(database_url)).forget(sender_id)
