"""In-memory stand-ins for `bot.handoff` and `bot.feedback` (the TEAM2.md contracts), so
the console is tested before those branches are merged. Same function names and
signatures and the real modules' dataclasses. They record what the console
asked (replies sent, cards sent, outcomes) so tests can assert on it.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import replace
from typing import Any

from bot.feedback import QueueGroup
from bot.handoff import Delivery, HandoffSummary, Turn

UTC = _dt.timezone.utc


class FakeHandoff:
    """The `bot.handoff` API over a dict; `engine` arguments are ignored."""

    def __init__(self) -> None:
        self.items: dict[int, HandoffSummary] = {}
        self.turns: dict[int, list[Turn]] = {}
        self.likely: dict[int, list[str]] = {}
        self.sent: list[tuple[int, str, str]] = []  # (handoff, staff, text)
        self.cards: list[tuple[int, str, str]] = []  # (handoff, staff, topic)
        self.ended: list[tuple[int, str, str]] = []  # (handoff, staff, outcome)
        self.events: list[int] = []  # handoff id per change; the cursor is the list length
        self.deliver_ok = True

    def add(
        self, label: str, urgent: bool = False, minutes_ago: int = 5, text: str = "xin chào", **fields: Any
    ) -> int:
        handoff_id = len(self.items) + 1
        created = _dt.datetime.now(UTC) - _dt.timedelta(minutes=minutes_ago)
        values: dict[str, Any] = dict(
            id=handoff_id,
            label=label,
            channel="telegram",
            lang="vi",
            country="KR",
            province="Nghệ An",
            topic="complaint_employer",
            state="waiting",
            urgent=urgent,
            claimed_by=None,
            created_at=created,
            last_user_message_at=created,
            can_reply=True,
            reply_note=None,
        )
        values.update(fields)
        self.items[handoff_id] = HandoffSummary(**values)
        self.turns[handoff_id] = [Turn("user", text, created)]
        self.likely[handoff_id] = ["complaint_employer", "complaint_agency"]
        self.events.append(handoff_id)
        return handoff_id

    def user_says(self, handoff_id: int, text: str) -> None:
        at = _dt.datetime.now(UTC)
        self.turns[handoff_id].append(Turn("user", text, at))
        self.items[handoff_id] = replace(self.items[handoff_id], last_user_message_at=at)
        self.events.append(handoff_id)

    def _change(self, handoff_id: int, **fields: Any) -> None:
        self.items[handoff_id] = replace(self.items[handoff_id], **fields)
        self.events.append(handoff_id)

    # --- the contract ---

    def inbox(self, engine: Any) -> list[HandoffSummary]:
        open_items = [item for item in self.items.values() if item.state != "closed"]
        return sorted(open_items, key=lambda item: (not item.urgent, item.created_at))

    def get(self, engine: Any, handoff_id: int) -> HandoffSummary | None:
        return self.items.get(handoff_id)

    def transcript(self, engine: Any, handoff_id: int, limit: int = 30) -> list[Turn]:
        return self.turns.get(handoff_id, [])[-limit:]

    def likely_topics(self, engine: Any, handoff_id: int) -> list[str]:
        return self.likely.get(handoff_id, [])

    def claim(self, engine: Any, handoff_id: int, staff: str) -> bool:
        item = self.items[handoff_id]
        if item.claimed_by not in (None, staff):
            return False
        self._change(handoff_id, claimed_by=staff, state="active")
        return True

    def release(self, engine: Any, handoff_id: int, staff: str) -> None:
        if self.items[handoff_id].claimed_by == staff:
            self._change(handoff_id, claimed_by=None, state="waiting")

    async def send_staff_reply(self, engine: Any, handoff_id: int, staff: str, text: str) -> Delivery:
        if not self.deliver_ok:
            return Delivery(False, "The user's channel refused the message.")
        self.sent.append((handoff_id, staff, text))
        self.turns[handoff_id].append(Turn("staff", text, _dt.datetime.now(UTC), staff))
        self.events.append(handoff_id)
        return Delivery(True)

    async def send_card(self, engine: Any, handoff_id: int, staff: str, topic_id: str) -> Delivery:
        self.cards.append((handoff_id, staff, topic_id))
        self.events.append(handoff_id)
        return Delivery(True)

    async def end(self, engine: Any, handoff_id: int, staff: str, outcome: str) -> Delivery:
        self.ended.append((handoff_id, staff, outcome))
        self._change(handoff_id, state="closed", claimed_by=None)
        return Delivery(True)

    def changes_since(self, engine: Any, cursor: int) -> tuple[int, list[int]]:
        return len(self.events), sorted(set(self.events[cursor:]))


class FakeFeedback:
    """The `bot.feedback` queue functions the console uses, over a dict."""

    def __init__(self) -> None:
        self.groups: dict[str, QueueGroup] = {}
        self.calls: list[tuple[str, ...]] = []

    def add_group(
        self, key: str, sample: str, count: int = 1, kinds: tuple[str, ...] = ("fallback",)
    ) -> None:
        now = _dt.datetime.now(UTC)
        self.groups[key] = QueueGroup(key, sample, count, kinds, ("vi",), now, now, "open", None)

    def queue(self, engine: Any, status: str = "open") -> list[QueueGroup]:
        return sorted((g for g in self.groups.values() if g.status == status), key=lambda g: -g.count)

    def mark_handled(self, engine: Any, key: str, staff: str) -> None:
        self.calls.append(("mark_handled", key, staff))
        self.groups[key] = replace(self.groups[key], status="handled")

    def link_topic(self, engine: Any, key: str, topic: str, staff: str) -> None:
        self.calls.append(("link_topic", key, topic, staff))
        self.groups[key] = replace(self.groups[key], status="linked", topic=topic)
