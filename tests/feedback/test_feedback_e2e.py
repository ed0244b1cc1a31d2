"""End to end through the REST webhook of a running `python -m bot run` (the server of
tests/e2e/test_conversations.py, reused): a message the bot cannot answer, with a phone
number in it, shows up masked and grouped in the unanswered queue, and a 👍 tapped after
a card is recorded. Skipped like those tests when no model is trained."""

from __future__ import annotations

import uuid

import httpx
import pytest
import sqlalchemy as sa

from bot import db, feedback
from tests.e2e.test_conversations import Chat, base_url, title  # noqa: F401 - base_url is a fixture

pytestmark = pytest.mark.e2e


def _engines(tmp_path_factory: pytest.TempPathFactory) -> list[sa.engine.Engine]:
    """The databases of the running servers (the fixture puts each in a conversationsN
    directory; pytest also links the newest as conversationscurrent)."""
    paths = {path.resolve() for path in tmp_path_factory.getbasetemp().glob("conversations*/bot.db")}
    return [db.get_engine(f"sqlite:///{path}") for path in sorted(paths)]


def test_an_unanswerable_message_with_a_phone_number_is_queued_masked_and_grouped(base_url, tmp_path_factory):  # noqa: F811
    # Out of scope for the classifier (as "the weather" should be), with and without accents.
    Chat(base_url).say("thời tiết hôm nay thế nào, gọi 0912 345 678")
    Chat(base_url).say("thoi tiet hom nay the nao, goi 0987654321")
    key = "thoi tiet hom nay the nao goi [phone]"
    groups = [g for engine in _engines(tmp_path_factory) for g in feedback.queue(engine) if g.key == key]
    assert len(groups) == 1, groups
    (group,) = groups
    assert group.count == 2
    assert group.sample == "thoi tiet hom nay the nao, goi [phone]"
    assert set(group.kinds) <= {"fallback", "out_of_scope"}


def test_thumbs_up_after_a_card_is_recorded(base_url, tmp_path_factory):  # noqa: F811
    # A button tap is a payload only where the channel has buttons (the web chat); REST
    # reads "/…" typed text as text, like every channel where a user types.
    sender = uuid.uuid4().hex
    url = base_url + "/webhooks/webchat/webhook"

    def send(**body: str) -> list[dict]:
        response = httpx.post(url, json={"sender": sender, **body}, timeout=120)
        response.raise_for_status()
        return response.json()

    reply = send(message="làm sao lấy lại tiền ký quỹ")
    assert reply[0]["text"].startswith(f"**{title('deposit_refund', 'vi')}**")
    titles = [b["title"] for m in reply for b in m.get("buttons") or []]
    assert "👍" in titles and "👎" in titles
    thanks = send(payload='/feedback_up{"card": "deposit_refund"}')
    assert "Cảm ơn bạn đã cho tôi biết." in " ".join(m.get("text") or "" for m in thanks)
    key = feedback.sender_key(f"web-{sender}")
    votes = []
    for engine in _engines(tmp_path_factory):
        with engine.connect() as connection:
            votes += connection.execute(
                sa.select(db.feedback_votes.c.topic, db.feedback_votes.c.vote).where(
                    db.feedback_votes.c.sender_key == key
                )
            ).all()
    assert [tuple(v) for v in votes] == [("deposit_refund", "up")]
