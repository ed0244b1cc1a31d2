"""Issue 11: the human_handoff card and the handoff offer say plainly that a staff member
can reply here, in this chat (not by phone, not elsewhere), in both languages."""

from __future__ import annotations

from bot import handoff
from bot.content.cards import ContentLibrary
from bot.i18n import gettext
from bot.settings import get_settings


def test_the_card_says_staff_can_answer_in_this_chat():
    library = ContentLibrary(get_settings().content_dir)
    assert (
        "Nhân viên của tổ chức hỗ trợ có thể trả lời bạn ngay trong cuộc trò chuyện này"
        in library.get("human_handoff", "vi").body
    )
    assert (
        "Staff of a support organisation can answer you right here in this chat"
        in library.get("human_handoff", "en").body
    )


def test_the_offer_says_staff_will_answer_here():
    assert "NGO staff will answer you here, in this chat." in gettext("en", handoff.OFFER_TEXT)
    assert "sẽ trả lời bạn ngay tại đây, trong cuộc trò chuyện này" in gettext("vi", handoff.OFFER_TEXT)
