"""The staff console in a real browser on a phone-sized screen: log in, the forced password
change, the inbox with the urgent conversation first, claim, reply, a new message showing
up without a reload, and an agent kept out of the admin pages."""

from __future__ import annotations

import re

from bot.staff import accounts
from tests.staff.conftest import PASSWORD


def _log_in(page, base: str, email: str, password: str = PASSWORD) -> None:  # type: ignore[no-untyped-def]
    page.goto(base + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def test_first_login_forces_a_new_password(console, phone):
    _user, one_time = accounts.create_user(console.engine, "lan@ngo.example", "agent")
    _log_in(phone, console.base, "lan@ngo.example", one_time)
    phone.wait_for_url(re.compile(r"/password$"))
    assert "mật khẩu dùng một lần" in phone.inner_text("main")
    phone.goto(console.base + "/inbox")  # cannot skip it
    phone.wait_for_url(re.compile(r"/password$"))
    phone.fill("input[name=current]", one_time)
    phone.fill("input[name=new]", "Lan's own long password")
    phone.fill("input[name=confirm]", "Lan's own long password")
    phone.click("main button[type=submit]")
    phone.wait_for_url(re.compile(r"/inbox"))
    assert "Đã đổi mật khẩu của bạn." in phone.inner_text("main")


def test_an_agent_answers_the_urgent_conversation_first_on_a_phone(console, phone):
    console.handoff.add("TG-CALM01", minutes_ago=40, text="hỏi về hợp đồng")
    urgent = console.handoff.add(
        "ZL-HELP99", urgent=True, minutes_ago=1, channel="zalo", text="<b>chủ giữ hộ chiếu</b> em sợ lắm"
    )
    _log_in(phone, console.base, "agent@ngo.example")
    phone.wait_for_url(re.compile(r"/inbox"))
    cards = phone.locator("li.card")
    assert cards.count() == 2
    first = cards.nth(0)
    assert "ZL-HELP99" in first.inner_text() and "Khẩn cấp" in first.inner_text()
    # Fits the phone: nothing wider than the screen.
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390

    first.locator("a").click()
    phone.wait_for_url(re.compile(rf"/handoffs/{urgent}$"))
    assert "<b>chủ giữ hộ chiếu</b> em sợ lắm" in phone.inner_text("ol.turns")  # shown as text, not markup
    phone.click("text=Nhận xử lý")
    phone.wait_for_selector("text=Bạn đã nhận xử lý cuộc trò chuyện này.")
    assert console.handoff.items[urgent].claimed_by == "agent@ngo.example"

    phone.fill("textarea[name=text]", "Chào bạn, mình là nhân viên. Bạn đang ở đâu?")
    phone.click("text=Gửi trả lời")
    phone.wait_for_selector("text=Đã gửi câu trả lời.")
    assert console.handoff.sent == [
        (urgent, "agent@ngo.example", "Chào bạn, mình là nhân viên. Bạn đang ở đâu?")
    ]

    # The person writes again: the transcript shows it without a reload.
    phone.evaluate("window.__same_page = true")
    console.handoff.user_says(urgent, "em đang ở Busan")
    phone.wait_for_selector("ol.turns >> text=em đang ở Busan", timeout=15_000)
    assert phone.evaluate("window.__same_page") is True


def test_an_agent_cannot_open_the_admin_pages(console, phone):
    _log_in(phone, console.base, "agent@ngo.example")
    phone.wait_for_url(re.compile(r"/inbox"))
    assert phone.locator("nav >> text=Nhật ký thao tác").count() == 0
    for path in ("/admin/users", "/admin/audit", "/queue"):
        response = phone.goto(console.base + path)
        assert response.status == 403, path
        assert "Vai trò của bạn không được mở trang này." in phone.inner_text("main")
