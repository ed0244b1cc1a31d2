"""The staff console over HTTP: every route's role, CSRF, login limit, the forced password
change, the inbox and queue over the fake APIs, escaping, headers, cookies, audit entries."""

from __future__ import annotations

import httpx
import pytest
from sanic import Sanic

from bot import db
from bot.settings import load_settings
from bot.staff import accounts, audit
from bot.staff.app import build_app, route_roles
from bot.staff.roles import ROLES
from tests.staff.conftest import PASSWORD, TOPICS, csrf_of, start_console

# Every route and the least role that may use it. A new route must be added here, so its
# role is a decision somebody made, not a default.
EXPECTED_ROUTES = {
    ("GET", "/healthz"): "public",
    ("GET", "/"): "public",
    ("GET", "/lang/<code>"): "public",
    ("GET", "/login"): "public",
    ("POST", "/login"): "public",
    ("POST", "/logout"): "logged_in",
    ("GET", "/password"): "logged_in",
    ("POST", "/password"): "logged_in",
    ("GET", "/inbox"): "agent",
    ("GET", "/inbox/list"): "agent",
    ("GET", "/changes"): "agent",
    ("GET", "/handoffs/<handoff_id:int>"): "agent",
    ("GET", "/handoffs/<handoff_id:int>/turns"): "agent",
    ("POST", "/handoffs/<handoff_id:int>/claim"): "agent",
    ("POST", "/handoffs/<handoff_id:int>/release"): "agent",
    ("POST", "/handoffs/<handoff_id:int>/reply"): "agent",
    ("POST", "/handoffs/<handoff_id:int>/card"): "agent",
    ("POST", "/handoffs/<handoff_id:int>/end"): "agent",
    ("GET", "/queue"): "editor",
    ("POST", "/queue/handled"): "editor",
    ("POST", "/queue/link"): "editor",
    # --- cards (bot/staff/cards.py, verification.py)
    ("GET", "/cards"): "editor",
    ("GET", "/cards/<card_id>"): "editor",
    ("POST", "/cards/<card_id>"): "editor",
    ("POST", "/cards/<card_id>/check"): "editor",
    ("GET", "/cards/revisions/<revision_id:int>"): "editor",
    ("POST", "/cards/revisions/<revision_id:int>/submit"): "editor",
    ("POST", "/cards/revisions/<revision_id:int>/approve"): "reviewer",
    ("POST", "/cards/revisions/<revision_id:int>/reject"): "reviewer",
    ("POST", "/cards/revisions/<revision_id:int>/restore"): "reviewer",
    ("GET", "/verification"): "editor",
    ("POST", "/verification/card"): "reviewer",
    ("POST", "/verification/phone"): "reviewer",
    ("POST", "/verification/flags/<flag_id:int>"): "reviewer",
    ("POST", "/handoffs/<handoff_id:int>/flag"): "agent",
    ("GET", "/admin/audit"): "admin",
    ("GET", "/admin/users"): "admin",
    ("POST", "/admin/users"): "admin",
    ("POST", "/admin/users/role"): "admin",
    ("POST", "/admin/users/disable"): "admin",
    # --- staffdir: the directory and statistics pages (bot/staff/directory.py, statistics.py)
    ("GET", "/directory"): "editor",
    ("GET", "/directory/export/<table>"): "editor",
    ("GET", "/directory/<table>/new"): "editor",
    ("POST", "/directory/<table>/new"): "editor",
    ("GET", "/directory/<table>/<row_id>"): "editor",
    ("POST", "/directory/<table>/<row_id>"): "editor",
    ("POST", "/directory/<table>/<row_id>/retire"): "editor",
    ("POST", "/directory/<table>/<row_id>/verify"): "reviewer",
    ("GET", "/directory/drafts/<draft_id:int>"): "editor",
    ("POST", "/directory/drafts/<draft_id:int>/approve"): "reviewer",
    ("POST", "/directory/drafts/<draft_id:int>/reject"): "reviewer",
    ("GET", "/stats"): "editor",
    ("GET", "/stats/export.csv"): "editor",
    # --- retrain: bot/staff/understanding.py ---
    ("GET", "/understanding"): "editor",
    ("POST", "/understanding/from-queue"): "editor",
    ("POST", "/understanding/examples"): "editor",
    ("POST", "/understanding/retrain"): "reviewer",
    ("GET", "/understanding/jobs/<job_id:int>"): "editor",
    ("POST", "/understanding/jobs/<job_id:int>/rollback"): "reviewer",
    # --- remind (issue 14): returnee profiles, aggregates only ---
    ("GET", "/returnees"): "reviewer",
    ("GET", "/returnees/export.csv"): "reviewer",
}


def test_every_route_has_the_role_the_table_says(sqlite_url):
    assert route_roles() == EXPECTED_ROUTES


def test_no_route_bypasses_the_checks(sqlite_url):
    """Every route on the app is a declared page (wrapped in the checks) or a static file."""
    engine = db.get_engine(sqlite_url)
    app = build_app(
        engine, settings=load_settings({}), handoff_api=object(), feedback_api=object(), topics=[]
    )
    app.router.finalize()
    seen = {}
    for route in app.router.routes:
        if route.name.endswith(".static"):
            continue
        role = getattr(route.handler, "staff_role", None)
        assert role is not None, f"route {route.path} is not declared with @page"
        for method in route.methods:
            seen[(method, route.path)] = role
    assert len(seen) == len(EXPECTED_ROUTES)
    Sanic._app_registry.pop(app.name, None)
    db.dispose_engines()


GET_PAGES = [
    ("/inbox", "agent"),
    ("/inbox/list", "agent"),
    ("/handoffs/1", "agent"),
    ("/handoffs/1/turns", "agent"),
    ("/queue", "editor"),
    ("/admin/audit", "admin"),
    ("/admin/users", "admin"),
    ("/returnees", "reviewer"),
]


def test_each_role_reaches_exactly_its_pages(console):
    console.handoff.add("TG-AAAAAA")
    for role in ROLES:
        client = console.as_role(role)
        for path, minimum in GET_PAGES:
            allowed = ROLES.index(role) >= ROLES.index(minimum)
            response = client.get(path)
            assert response.status_code == (200 if allowed else 403), (role, path)
            if not allowed:
                assert (
                    "Your role does not allow this page." in response.text
                    or "Vai trò của bạn" in response.text
                )


def test_without_a_session_pages_send_to_the_login_and_json_says_401(console):
    client = console.client()
    for path, _ in GET_PAGES:
        response = client.get(path)
        assert response.status_code == 302 and response.headers["location"].startswith("/login"), path
    assert client.get("/changes?cursor=0").status_code == 401


def test_a_post_without_the_csrf_token_is_refused(console):
    handoff_id = console.handoff.add("TG-AAAAAA")
    client = console.as_role("agent")
    assert client.post(f"/handoffs/{handoff_id}/claim").status_code == 403
    assert client.post(f"/handoffs/{handoff_id}/claim", data={"csrf": "forged"}).status_code == 403
    assert console.handoff.items[handoff_id].claimed_by is None
    # The login form has its own token (a cookie set with the form).
    fresh = console.client()
    response = fresh.post("/login", data={"email": "agent@ngo.example", "password": PASSWORD})
    assert response.status_code == 403 and "staff_session" not in response.headers.get("set-cookie", "")
    token = csrf_of(client.get("/inbox").text)
    assert client.post(f"/handoffs/{handoff_id}/claim", data={"csrf": token}).status_code == 303
    assert console.handoff.items[handoff_id].claimed_by == "agent@ngo.example"


def test_logins_are_rate_limited_with_a_clear_message(console):
    client = console.client()
    for _ in range(5):
        response = console.post_login(client, "agent@ngo.example", "wrong password")
        assert response.status_code == 401 and "Sai e-mail hoặc mật khẩu." in response.text
    response = console.post_login(client, "agent@ngo.example", PASSWORD)
    assert response.status_code == 429
    assert "Đăng nhập sai quá nhiều lần. Hãy đợi 15 phút rồi thử lại." in response.text
    assert [e.action for e in audit.recent(console.engine, staff="agent@ngo.example")][:6] == [
        "login.failed"
    ] * 6


def test_the_one_time_password_must_be_changed_at_first_login(console):
    _user, one_time = accounts.create_user(console.engine, "new@ngo.example", "agent")
    client = console.client()
    response = console.post_login(client, "new@ngo.example", one_time)
    assert response.status_code == 303 and response.headers["location"] == "/password"
    assert client.get("/inbox").headers["location"] == "/password"
    token = csrf_of(client.get("/password").text)
    short = client.post(
        "/password", data={"csrf": token, "current": one_time, "new": "short", "confirm": "short"}
    )
    assert short.status_code == 400 and "Mật khẩu mới phải có ít nhất 12 ký tự." in short.text
    new = "my own long password"
    done = client.post("/password", data={"csrf": token, "current": one_time, "new": new, "confirm": new})
    assert done.status_code == 303 and done.headers["location"].startswith("/inbox")
    assert client.get("/inbox").status_code == 200
    assert console.post_login(console.client(), "new@ngo.example", one_time).status_code == 401
    assert "password.change" in [e.action for e in audit.recent(console.engine, staff="new@ngo.example")]


def test_the_inbox_lists_urgent_first_with_the_pseudonymous_label(console):
    console.handoff.add("TG-OLDEST", minutes_ago=30)
    console.handoff.add(
        "ZL-URGENT", urgent=True, minutes_ago=2, channel="zalo", country="JP", province="Hà Tĩnh"
    )
    page = console.as_role("agent").get("/inbox").text
    assert page.index("ZL-URGENT") < page.index("TG-OLDEST")
    assert "Khẩn cấp" in page and "Zalo" in page and "JP" in page and "Hà Tĩnh" in page


def test_message_text_is_escaped_everywhere(console):
    handoff_id = console.handoff.add("TG-AAAAAA", text="<script>alert('x')</script><b>hi</b>")
    client = console.as_role("agent")
    for path in (f"/handoffs/{handoff_id}", f"/handoffs/{handoff_id}/turns"):
        page = client.get(path).text
        assert "<script>alert" not in page and "<b>hi</b>" not in page
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&lt;b&gt;hi&lt;/b&gt;" in page


def test_claim_reply_card_and_end_reach_the_handoff_api_and_the_audit_log(console):
    handoff_id = console.handoff.add("TG-AAAAAA")
    client = console.as_role("agent")
    token = csrf_of(client.get(f"/handoffs/{handoff_id}").text)
    assert client.post(f"/handoffs/{handoff_id}/claim", data={"csrf": token}).status_code == 303
    sent = client.post(
        f"/handoffs/{handoff_id}/reply", data={"csrf": token, "text": "Chào bạn, mình là Lan."}
    )
    assert sent.status_code == 303 and sent.headers["location"].endswith("notice=sent")
    assert console.handoff.sent == [(handoff_id, "agent@ngo.example", "Chào bạn, mình là Lan.")]
    assert (
        client.post(f"/handoffs/{handoff_id}/card", data={"csrf": token, "topic": "nope"}).status_code == 400
    )
    assert (
        client.post(
            f"/handoffs/{handoff_id}/card", data={"csrf": token, "topic": "complaint_employer"}
        ).status_code
        == 303
    )
    assert console.handoff.cards == [(handoff_id, "agent@ngo.example", "complaint_employer")]
    ended = client.post(
        f"/handoffs/{handoff_id}/end", data={"csrf": token, "outcome": "bot_should_have_known"}
    )
    assert ended.status_code == 303
    assert console.handoff.ended == [(handoff_id, "agent@ngo.example", "bot_should_have_known")]
    entries = [(e.action, e.detail) for e in audit.recent(console.engine, staff="agent@ngo.example")]
    assert entries[:4] == [
        ("handoff.end", f"handoff {handoff_id}: bot_should_have_known, user told"),
        ("handoff.card", f"handoff {handoff_id}: complaint_employer, delivered"),
        ("handoff.reply", f"handoff {handoff_id}: delivered"),
        ("handoff.claim", f"handoff {handoff_id}"),
    ]
    assert not any("Lan" in detail for _action, detail in entries)  # no message text in the log


def test_a_conversation_held_by_someone_else_cannot_be_answered(console):
    handoff_id = console.handoff.add("TG-AAAAAA")
    assert console.handoff.claim(None, handoff_id, "editor@ngo.example")
    client = console.as_role("agent")
    page = client.get(f"/handoffs/{handoff_id}").text
    assert "Do editor@ngo.example đang giữ." in page
    token = csrf_of(page)
    refused = client.post(f"/handoffs/{handoff_id}/reply", data={"csrf": token, "text": "xin chào"})
    assert refused.status_code == 409 and "Một nhân viên khác đang giữ cuộc trò chuyện này." in refused.text
    assert console.handoff.sent == []


def test_when_the_channel_cannot_take_a_reply_the_box_is_disabled_with_the_reason(console):
    note = "The Zalo reply window has closed: the user last wrote more than 7 days ago."
    handoff_id = console.handoff.add("ZL-AAAAAA", channel="zalo", can_reply=False, reply_note=note)
    client = console.as_role("agent")
    page = client.get(f"/handoffs/{handoff_id}").text
    assert note in page  # an msgid the console's catalog does not know yet falls back to English
    assert 'name="text" rows="4" maxlength="4000" required disabled' in page
    refused = client.post(f"/handoffs/{handoff_id}/reply", data={"csrf": csrf_of(page), "text": "hello"})
    assert refused.status_code == 409 and console.handoff.sent == []


def test_a_failed_delivery_is_shown_not_hidden(console):
    handoff_id = console.handoff.add("TG-AAAAAA")
    console.handoff.deliver_ok = False
    client = console.as_role("agent")
    token = csrf_of(client.get(f"/handoffs/{handoff_id}").text)
    response = client.post(f"/handoffs/{handoff_id}/reply", data={"csrf": token, "text": "hello"})
    assert response.status_code == 502 and "The user&#39;s channel refused the message." in response.text
    assert audit.recent(console.engine, staff="agent@ngo.example")[0].detail.endswith(
        "not delivered: The user's channel refused the message."
    )


def test_the_poll_endpoint_reports_changes_since_the_cursor(console):
    first = console.handoff.add("TG-AAAAAA")
    second = console.handoff.add("TG-BBBBBB")
    client = console.as_role("agent")
    cursor = client.get("/changes?cursor=0").json()["cursor"]
    assert client.get(f"/changes?cursor={cursor}").json() == {"cursor": cursor, "changed": []}
    console.handoff.user_says(second, "còn đó không?")
    assert client.get(f"/changes?cursor={cursor}").json() == {"cursor": cursor + 1, "changed": [second]}
    assert "còn đó không?" in client.get(f"/handoffs/{second}/turns").text
    assert client.get("/changes?cursor=abc").status_code == 400
    assert first != second


def test_the_queue_shows_groups_and_marks_them_handled_or_linked(console):
    console.feedback.add_group("tien ky quy", "làm sao lấy lại tiền ký quỹ, sđt ***", count=4)
    console.feedback.add_group("visa het han", "visa hết hạn thì sao", count=2)
    client = console.as_role("editor")
    page = client.get("/queue").text
    assert page.index("tiền ký quỹ") < page.index("visa hết hạn") and "4 lần" in page
    token = csrf_of(page)
    assert client.post("/queue/handled", data={"csrf": token, "key": "visa het han"}).status_code == 303
    assert (
        client.post("/queue/link", data={"csrf": token, "key": "tien ky quy", "topic": "bogus"}).status_code
        == 400
    )
    assert (
        client.post("/queue/link", data={"csrf": token, "key": "tien ky quy", "topic": TOPICS[2]}).status_code
        == 303
    )
    assert console.feedback.calls == [
        ("mark_handled", "visa het han", "editor@ngo.example"),
        ("link_topic", "tien ky quy", TOPICS[2], "editor@ngo.example"),
    ]
    assert "Không có gì ở đây." in client.get("/queue").text
    entries = audit.recent(console.engine, staff="editor@ngo.example")[:2]
    assert [e.action for e in entries] == ["queue.link", "queue.handled"]
    assert entries[0].detail.endswith(f"-> {TOPICS[2]}")
    assert not any("ky quy" in e.detail or "visa" in e.detail for e in entries)  # no user text kept


def test_an_admin_creates_an_account_and_sees_its_password_once(console):
    client = console.as_role("admin")
    token = csrf_of(client.get("/admin/users").text)
    response = client.post("/admin/users", data={"csrf": token, "email": "mai@ngo.example", "role": "editor"})
    assert response.status_code == 200 and "Đã tạo tài khoản cho mai@ngo.example" in response.text
    user = accounts.get_user(console.engine, "mai@ngo.example")
    assert user.role == "editor" and user.must_change_password
    assert "mai@ngo.example" in client.get("/admin/users").text
    assert "Mật khẩu dùng một lần" not in client.get("/admin/users").text
    assert (
        client.post("/admin/users/disable", data={"csrf": token, "email": "admin@ngo.example"}).status_code
        == 400
    )
    assert (
        client.post("/admin/users/disable", data={"csrf": token, "email": "mai@ngo.example"}).status_code
        == 303
    )
    assert accounts.get_user(console.engine, "mai@ngo.example").disabled
    audit_page = client.get("/admin/audit").text
    assert "user.create" in audit_page and "user.disable" in audit_page


def test_headers_forbid_framing_inline_script_and_caching(console):
    client = console.as_role("agent")
    response = client.get("/inbox")
    assert response.headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
    assert "<script>" not in response.text  # the only script is the file static/staff.js
    assert client.get("/static/staff.js").status_code == 200


def test_the_session_cookie_is_httponly_and_lax_and_not_secure_over_plain_http(console):
    client = console.client()
    response = console.post_login(client, "agent@ngo.example", PASSWORD)
    cookie = response.headers["set-cookie"]
    assert "staff_session=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie


@pytest.mark.parametrize(
    "settings, headers, secure",
    [
        ({"STAFF_SECURE_COOKIES": "true"}, {}, True),
        ({"STAFF_TRUSTED_PROXIES": "127.0.0.1"}, {"X-Forwarded-Proto": "https"}, True),
        ({}, {"X-Forwarded-Proto": "https"}, False),  # not from a trusted proxy: ignored
    ],
)
def test_cookies_are_secure_over_https(sqlite_url, settings, headers, secure):
    for console in start_console(sqlite_url, **settings):
        form = httpx.get(console.base + "/login", headers=headers)
        assert ("Secure" in form.headers["set-cookie"]) is secure
        token = csrf_of(form.text)
        response = httpx.post(
            console.base + "/login",
            headers={**headers, "Cookie": f"staff_login_csrf={token}"},
            data={"csrf": token, "email": "agent@ngo.example", "password": PASSWORD},
        )
        assert response.status_code == 303
        assert "staff_session=" in response.headers["set-cookie"]
        assert ("Secure" in response.headers["set-cookie"]) is secure
        assert ("strict-transport-security" in response.headers) is secure


def test_the_console_speaks_english_when_asked(console):
    client = console.as_role("agent")
    assert "Hộp thư" in client.get("/inbox").text
    client.get("/lang/en?next=/inbox")
    assert ">Inbox</h1>" in client.get("/inbox").text
    assert client.get("/lang/en?next=//evil.example").headers["location"] == "/"


def test_logout_ends_the_session(console):
    client = console.as_role("agent")
    token = csrf_of(client.get("/inbox").text)
    assert client.post("/logout", data={"csrf": token}).status_code == 303
    assert client.get("/inbox").status_code == 302


def test_login_claim_and_audit_on_both_databases(console_any_db):
    handoff_id = console_any_db.handoff.add("TG-AAAAAA")
    client = console_any_db.as_role("agent")
    token = csrf_of(client.get(f"/handoffs/{handoff_id}").text)
    assert client.post(f"/handoffs/{handoff_id}/claim", data={"csrf": token}).status_code == 303
    actions = [e.action for e in audit.recent(console_any_db.engine, staff="agent@ngo.example")]
    assert actions[:2] == ["handoff.claim", "login"]


def test_card_buttons_show_the_card_title_in_the_person_s_language(console):
    vi = console.handoff.add("TG-VIETNAM", lang="vi")
    en = console.handoff.add("TG-ENGLISH", lang="en")
    client = console.as_role("agent")
    assert ">Khó khăn với chủ ở nước ngoài</button>" in client.get(f"/handoffs/{vi}").text
    assert ">Problems with your employer abroad</button>" in client.get(f"/handoffs/{en}").text


def test_behind_a_trusted_proxy_the_login_limit_counts_the_forwarded_address(sqlite_url):
    for console in start_console(sqlite_url, STAFF_TRUSTED_PROXIES="127.0.0.1"):
        client = console.client()
        for n in range(5):
            token = csrf_of(client.get("/login").text)
            response = client.post(
                "/login",
                headers={"X-Forwarded-For": "203.0.113.9"},
                data={"csrf": token, "email": f"guess{n}@ngo.example", "password": "x"},
            )
            assert response.status_code == 401
        token = csrf_of(client.get("/login").text)
        blocked = client.post(
            "/login",
            headers={"X-Forwarded-For": "203.0.113.9"},
            data={"csrf": token, "email": "agent@ngo.example", "password": PASSWORD},
        )
        assert blocked.status_code == 429
        other = client.post(
            "/login",
            headers={"X-Forwarded-For": "198.51.100.4"},
            data={"csrf": token, "email": "agent@ngo.example", "password": PASSWORD},
        )
        assert other.status_code == 303
