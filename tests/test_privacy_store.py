"""Forget me: after the forget action, nothing of the conversation stays stored."""

from __future__ import annotations

import sqlalchemy as sa
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.identity import IdentityStore
from bot.tracker_store import PrivacyTrackerStore, asked_to_forget


def _store(tmp_path, identity_url):
    return PrivacyTrackerStore(
        domain=Domain.empty(),
        dialect="sqlite",
        db=str(tmp_path / "tracker.db"),
        identity_database_url=identity_url,
    )


def _rows(tmp_path, sender):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'tracker.db'}", future=True)
    with engine.connect() as conn:
        return conn.execute(
            sa.text("select count(*) from events where sender_id = :s"), {"s": sender}
        ).scalar()


def _tracker(sender, *events):
    return DialogueStateTracker.from_events(sender, list(events))


def test_asked_to_forget_only_when_the_action_ran_after_the_last_message():
    forgot = _tracker("p1", UserUttered("/forget_me"), ActionExecuted("action_forget_me"))
    assert asked_to_forget(forgot)
    later = _tracker("p1", UserUttered("/forget_me"), ActionExecuted("action_forget_me"), UserUttered("hi"))
    assert not asked_to_forget(later)


async def test_forget_deletes_the_conversation_and_the_identity_map(tmp_path):
    identity_url = f"sqlite:///{tmp_path / 'bot.db'}"
    identities = IdentityStore(sa.create_engine(identity_url, future=True))
    identities.remember("pseudo-1", "telegram", 123456789)
    identities.remember("pseudo-2", "telegram", 987654321)
    store = _store(tmp_path, identity_url)

    conversation = [
        UserUttered("tiền ký quỹ"),
        ActionExecuted("action_answer_topic"),
        SlotSet("language", "vi"),
    ]
    await store.save(_tracker("pseudo-1", *conversation))
    await store.save(_tracker("pseudo-2", *conversation))
    assert _rows(tmp_path, "pseudo-1") > 0

    await store.save(
        _tracker("pseudo-1", *conversation, UserUttered("/forget_me"), ActionExecuted("action_forget_me"))
    )

    assert _rows(tmp_path, "pseudo-1") == 0
    assert identities.lookup("pseudo-1") is None
    assert _rows(tmp_path, "pseudo-2") > 0, "other users' conversations stay"
    assert identities.lookup("pseudo-2") is not None
    assert await store.retrieve("pseudo-1") is None
