"""The staff console's web application: routes, each with its minimum role, and their pages.

Every route is declared with `@page(path, role)`, and `build_app` wraps each handler in the
same checks, so no route can forget them: the session (cookie -> hashed token), the forced
password change, the role (`ROUTE_ROLES` is the table the tests compare), and, for every
POST, the CSRF token of the session (or, on the login form, of a pre-login cookie).

The inbox and the queue are built on `bot.handoff` and `bot.feedback` (TEAM2.md contracts),
passed in as `handoff_api` / `feedback_api` so tests substitute in-memory fakes; the
defaults import the real modules when they are installed. Their synchronous calls run in
a worker thread so a slow database does not stall the other staff members' pages.

Pages with conversation text are sent with `Cache-Control: no-store` (every page is), and
a Content-Security-Policy that allows no inline script: the only scripts are
static/staff.js, which polls `changes_since` and swaps in a server-rendered fragment, and
static/cards.js, which does the same with the card editor's checks and preview.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import functools
import hashlib
import importlib
import itertools
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sanic import Sanic, response
from sanic.exceptions import NotFound
from sanic.request import Request
from sanic.response import BaseHTTPResponse, HTTPResponse
from sqlalchemy.engine import Engine

from bot.content.cards import ContentLibrary
from bot.i18n import SUPPORTED_LANGUAGES, gettext
from bot.settings import Settings, get_settings
from bot.staff import accounts, audit
from bot.staff.roles import ROLES, at_least

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "staff_session"
LOGIN_CSRF_COOKIE = "staff_login_csrf"
LANG_COOKIE = "staff_lang"
PUBLIC = "public"  # no login needed
LOGGED_IN = "logged_in"  # any role, even before the forced password change
OUTCOMES = ("resolved", "bot_should_have_known", "no_reply")
POLL_SECONDS = 4

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}

# Notices shown after a redirect (?notice=key): fixed msgids, so no text is reflected from the URL.
NOTICES = {
    "claimed": "You now hold this conversation.",
    "released": "You released this conversation.",
    "sent": "Reply sent.",
    "card_sent": "Card sent.",
    "ended": "The conversation went back to the assistant.",
    "handled": "Marked as handled.",
    "linked": "Linked to the topic.",
    "password_changed": "Your password was changed.",
    "role_changed": "Role changed.",
    "disabled": "Account disabled.",
    "enabled": "Account enabled.",
}
OUTCOME_LABELS = {
    "resolved": "Resolved",
    "bot_should_have_known": "The assistant should have known",
    "no_reply": "No reply from the person",
}
CHANNEL_LABELS = {"telegram": "Telegram", "zalo": "Zalo", "webchat": "Web chat", "rest": "REST"}
ROLE_LABELS = {"agent": "Agent", "editor": "Editor", "reviewer": "Reviewer", "admin": "Admin"}

Handler = Callable[..., Coroutine[Any, Any, HTTPResponse]]


@dataclass(frozen=True)
class Page:
    path: str
    methods: tuple[str, ...]
    role: str
    handler: Handler
    json: bool = False  # answers 401 instead of redirecting to the login page


PAGES: list[Page] = []


def page(
    path: str, role: str, methods: tuple[str, ...] = ("GET",), json: bool = False
) -> Callable[[Handler], Handler]:
    """Declare a route and its minimum role (one of ROLES, LOGGED_IN or PUBLIC)."""
    assert role in (*ROLES, LOGGED_IN, PUBLIC), role

    def register(handler: Handler) -> Handler:
        PAGES.append(Page(path, methods, role, handler, json))
        return handler

    return register


def route_roles() -> dict[tuple[str, str], str]:
    """(method, path) -> minimum role, for every declared route (the area modules' too)."""
    for module in PAGE_MODULES:  # their pages are declared when imported
        importlib.import_module(module)
    return {(method, p.path): p.role for p in PAGES for method in p.methods}


# --- context ----------------------------------------------------------------------------------


@dataclass
class Console:
    """What the handlers need, kept on `app.ctx.console`."""

    engine: Engine
    settings: Settings
    handoff: Any  # bot.handoff or a fake with the same functions
    feedback: Any  # bot.feedback or a fake
    topics: list[str]
    templates: Environment
    poll_seconds: int
    library: ContentLibrary

    def card_title(self, topic: str, lang: str) -> str:
        """The answer card's title in `lang` (what the person will see), else the topic id."""
        card = self.library.get(topic, lang)
        return card.title if card else topic

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """A blocking (database) call in a worker thread."""
        return await asyncio.get_running_loop().run_in_executor(None, functools.partial(fn, *args))


def console_of(request: Request) -> Console:
    return request.app.ctx.console


def _default_module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:  # the branch that provides it is not merged yet
        return None


_APP_NUMBERS = itertools.count(1)

# Modules that declare more pages with `@page` (one per console area). This module's own
# pages (login, inbox, queue, accounts) are declared below.
PAGE_MODULES: tuple[str, ...] = (
    "bot.staff.cards",
    "bot.staff.verification",
    "bot.staff.directory",
    "bot.staff.statistics",
    "bot.staff.understanding",
    "bot.staff.returnees",
)


def build_app(
    engine: Engine,
    settings: Settings | None = None,
    handoff_api: Any = None,
    feedback_api: Any = None,
    topics: list[str] | None = None,
    poll_seconds: int = POLL_SECONDS,
) -> Sanic:
    """The console as a Sanic app over `engine` (already migrated)."""
    settings = settings or get_settings()
    if topics is None:
        from bot.content.topics import topic_ids

        topics = topic_ids(settings.topics_file)
    templates = Environment(
        loader=FileSystemLoader(str(HERE / "templates")),
        autoescape=select_autoescape(["html"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    app = Sanic(f"staff_console_{next(_APP_NUMBERS)}")
    app.config.REQUEST_MAX_SIZE = 1_000_000
    app.config.FALLBACK_ERROR_FORMAT = "html"
    app.ctx.console = Console(
        engine=engine,
        settings=settings,
        handoff=handoff_api if handoff_api is not None else _default_module("bot.handoff"),
        feedback=feedback_api if feedback_api is not None else _default_module("bot.feedback"),
        topics=topics,
        templates=templates,
        poll_seconds=poll_seconds,
        library=ContentLibrary(settings.content_dir),
    )
    # Each area of the console (inbox, cards, directory, statistics, ...) declares its pages
    # with `@page` in its own module; importing it registers them.
    for module in PAGE_MODULES:
        importlib.import_module(module)
    for index, spec in enumerate(PAGES):
        app.add_route(_guarded(spec), spec.path, methods=list(spec.methods), name=f"page_{index}")
    app.static("/static", str(HERE / "static"), name="static")
    app.register_middleware(_security_headers, "response")
    app.error_handler.add(NotFound, _not_found)
    return app


# --- the checks every route goes through --------------------------------------------------------


def _https(request: Request) -> bool:
    console = console_of(request)
    if console.settings.staff_secure_cookies or request.scheme == "https":
        return True
    return request.ip in console.settings.trusted_proxies and (
        request.headers.get("x-forwarded-proto", "").lower() == "https"
    )


def client_ip(request: Request) -> str:
    """The peer's address, or the one a trusted proxy says it forwarded for."""
    forwarded = request.headers.get("x-forwarded-for", "")
    if forwarded and request.ip in console_of(request).settings.trusted_proxies:
        return forwarded.split(",")[-1].strip()[:64] or request.ip
    return request.ip


def _lang(request: Request) -> str:
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in SUPPORTED_LANGUAGES:
        return chosen
    accept = request.headers.get("accept-language", "")
    first = accept.split(",")[0].split(";")[0].strip().lower()[:2]
    return first if first in SUPPORTED_LANGUAGES else "vi"


def _set_cookie(
    request: Request, resp: HTTPResponse, name: str, value: str, max_age: int | None = None
) -> None:
    resp.cookies[name] = value
    cookie = resp.cookies[name]
    cookie["path"] = "/"
    cookie["httponly"] = True
    cookie["samesite"] = "Lax"
    if _https(request):
        cookie["secure"] = True
    if max_age is not None:
        cookie["max-age"] = max_age


def _safe_next(target: str | None, default: str = "/inbox") -> str:
    """Only a path on this site (no //host, no scheme): no open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def _guarded(spec: Page) -> Handler:
    async def guarded(request: Request, **params: Any) -> HTTPResponse:
        console = console_of(request)
        request.ctx.lang = _lang(request)
        session = await console.run(
            accounts.load_session, console.engine, request.cookies.get(SESSION_COOKIE)
        )
        request.ctx.session = session
        if spec.role != PUBLIC:
            if session is None:
                if spec.json:
                    return response.json({"error": "login"}, status=401)
                if request.method == "GET":
                    return response.redirect("/login?next=" + quote(request.path))
                return response.redirect("/login")
            if session.user.must_change_password and spec.role != LOGGED_IN:
                return response.redirect("/password")
            if spec.role != LOGGED_IN and not at_least(session.user.role, spec.role):
                return render(
                    request, "error.html", status=403, message="Your role does not allow this page."
                )
        if request.method == "POST" and not _csrf_ok(request):
            return render(
                request,
                "error.html",
                status=403,
                message="This form has expired. Go back, reload the page and try again.",
            )
        return await spec.handler(request, **params)

    guarded.__name__ = spec.handler.__name__
    guarded.staff_role = spec.role  # type: ignore[attr-defined]  # what the route-table test reads
    return guarded


def _csrf_ok(request: Request) -> bool:
    sent = request.form.get("csrf") if request.form else None
    session = request.ctx.session
    expected = session.csrf_token if session else request.cookies.get(LOGIN_CSRF_COOKIE)
    return bool(sent and expected) and secrets.compare_digest(str(sent), str(expected))


async def _security_headers(request: Request, resp: BaseHTTPResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        resp.headers.setdefault(name, value)
    if not request.path.startswith("/static/"):
        resp.headers["Cache-Control"] = "no-store"
    if _https(request):
        resp.headers.setdefault("Strict-Transport-Security", "max-age=31536000")


async def _not_found(request: Request, _exception: Exception) -> HTTPResponse:
    request.ctx.lang = _lang(request)
    if not hasattr(request.ctx, "session"):
        request.ctx.session = None
    return render(request, "error.html", status=404, message="There is no such page.")


# --- rendering ----------------------------------------------------------------------------------


def _ago(value: _dt.datetime | None, lang: str) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=_dt.timezone.utc)
    minutes = max(0, int((_dt.datetime.now(_dt.timezone.utc) - value).total_seconds() // 60))
    if minutes < 1:
        return gettext(lang, "just now", domain="staff")
    if minutes < 60:
        return gettext(lang, "{n} min ago", domain="staff", n=minutes)
    if minutes < 60 * 24:
        return gettext(lang, "{n} h ago", domain="staff", n=minutes // 60)
    return gettext(lang, "{n} days ago", domain="staff", n=minutes // (60 * 24))


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTTPResponse:
    console = console_of(request)
    lang = request.ctx.lang
    session = getattr(request.ctx, "session", None)

    def translate(msgid: str, **params: Any) -> str:
        return gettext(lang, msgid, domain="staff", **params)

    body = console.templates.get_template(template).render(
        _=translate,
        lang=lang,
        user=session.user if session else None,
        csrf=session.csrf_token if session else "",
        at_least=at_least,
        ago=lambda value: _ago(value, lang),
        path=request.path,
        notice=NOTICES.get(request.args.get("notice", "")),
        channel_labels=CHANNEL_LABELS,
        role_labels=ROLE_LABELS,
        outcome_labels=OUTCOME_LABELS,
        poll_seconds=console.poll_seconds,
        card_title=console.card_title,
        **context,
    )
    return response.html(body, status=status)


def _unavailable(request: Request, what: str) -> HTTPResponse:
    return render(request, "error.html", status=503, message=what)


# --- login, logout, password, language -------------------------------------------------------------


@page("/healthz", PUBLIC)
async def healthz(request: Request) -> HTTPResponse:
    return response.text("ok")


@page("/", PUBLIC)
async def home(request: Request) -> HTTPResponse:
    return response.redirect("/inbox" if request.ctx.session else "/login")


@page("/lang/<code>", PUBLIC)
async def choose_language(request: Request, code: str) -> HTTPResponse:
    resp = response.redirect(_safe_next(request.args.get("next"), "/"))
    if code in SUPPORTED_LANGUAGES:
        _set_cookie(request, resp, LANG_COOKIE, code, max_age=365 * 24 * 3600)
    return resp


def _login_page(
    request: Request, status: int = 200, error: str | None = None, email: str = ""
) -> HTTPResponse:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    resp = render(
        request,
        "login.html",
        status=status,
        login_csrf=token,
        error=error,
        email=email,
        next=_safe_next(request.args.get("next") or (request.form.get("next") if request.form else None)),
    )
    _set_cookie(request, resp, LOGIN_CSRF_COOKIE, token)
    return resp


@page("/login", PUBLIC)
async def login_form(request: Request) -> HTTPResponse:
    if request.ctx.session:
        return response.redirect("/inbox")
    return _login_page(request)


@page("/login", PUBLIC, methods=("POST",))
async def login(request: Request) -> HTTPResponse:
    console = console_of(request)
    email = (request.form.get("email") or "").strip()[:254]
    password = request.form.get("password") or ""
    try:
        user = await console.run(accounts.authenticate, console.engine, email, password, client_ip(request))
    except accounts.AccountError as error:
        await console.run(
            audit.record, console.engine, accounts.normalize_email(email) or "-", "login.failed", str(error)
        )
        status = 429 if "Too many" in str(error) else 401
        return _login_page(request, status=status, error=str(error), email=email)
    token = await console.run(accounts.start_session, console.engine, user)
    await console.run(audit.record, console.engine, user.email, "login", f"role {user.role}")
    target = "/password" if user.must_change_password else _safe_next(request.form.get("next"))
    resp = response.redirect(target, status=303)
    _set_cookie(request, resp, SESSION_COOKIE, token)
    return resp


@page("/logout", LOGGED_IN, methods=("POST",))
async def logout(request: Request) -> HTTPResponse:
    console = console_of(request)
    await console.run(accounts.end_session, console.engine, request.cookies.get(SESSION_COOKIE))
    await console.run(audit.record, console.engine, request.ctx.session.user.email, "logout", "")
    resp = response.redirect("/login", status=303)
    _set_cookie(request, resp, SESSION_COOKIE, "", max_age=0)
    return resp


@page("/password", LOGGED_IN)
async def password_form(request: Request) -> HTTPResponse:
    return render(request, "password.html")


@page("/password", LOGGED_IN, methods=("POST",))
async def change_password(request: Request) -> HTTPResponse:
    console = console_of(request)
    user = request.ctx.session.user
    form = request.form
    try:
        await console.run(
            accounts.change_password,
            console.engine,
            user,
            form.get("current") or "",
            form.get("new") or "",
            form.get("confirm") or "",
        )
    except accounts.AccountError as error:
        return render(request, "password.html", status=400, error=str(error))
    await console.run(audit.record, console.engine, user.email, "password.change", "")
    # Every session of the account ended with the change: this one starts afresh.
    token = await console.run(accounts.start_session, console.engine, user)
    resp = response.redirect("/inbox?notice=password_changed", status=303)
    _set_cookie(request, resp, SESSION_COOKIE, token)
    return resp


# --- the inbox (bot.handoff) -------------------------------------------------------------------------


NO_HANDOFF = "The handoff module is not installed: the inbox is not available."


async def _cursor(console: Console) -> int:
    cursor, _ids = await console.run(console.handoff.changes_since, console.engine, 0)
    return cursor


@page("/inbox", "agent")
async def inbox(request: Request) -> HTTPResponse:
    console = console_of(request)
    if console.handoff is None:
        return _unavailable(request, NO_HANDOFF)
    items = await console.run(console.handoff.inbox, console.engine)
    return render(request, "inbox.html", items=items, cursor=await _cursor(console))


@page("/inbox/list", "agent")
async def inbox_list(request: Request) -> HTTPResponse:
    console = console_of(request)
    if console.handoff is None:
        return _unavailable(request, NO_HANDOFF)
    items = await console.run(console.handoff.inbox, console.engine)
    return render(request, "_inbox_list.html", items=items)


@page("/changes", "agent", json=True)
async def changes(request: Request) -> HTTPResponse:
    console = console_of(request)
    if console.handoff is None:
        return response.json({"error": "unavailable"}, status=503)
    try:
        cursor = int(request.args.get("cursor", "0"))
    except ValueError:
        return response.json({"error": "cursor must be a number"}, status=400)
    new_cursor, ids = await console.run(console.handoff.changes_since, console.engine, cursor)
    return response.json({"cursor": new_cursor, "changed": list(ids)})


async def _handoff_or_404(request: Request, handoff_id: int) -> Any:
    console = console_of(request)
    if console.handoff is None:
        return None
    return await console.run(console.handoff.get, console.engine, handoff_id)


async def _handoff_page(
    request: Request, summary: Any, status: int = 200, error: str | None = None
) -> HTTPResponse:
    console = console_of(request)
    turns = await console.run(console.handoff.transcript, console.engine, summary.id, 30)
    likely = await console.run(console.handoff.likely_topics, console.engine, summary.id)
    return render(
        request,
        "handoff.html",
        status=status,
        item=summary,
        turns=turns,
        likely=likely,
        outcomes=OUTCOMES,
        error=error,
        cursor=await _cursor(console),
        topics=console.topics,
    )


@page("/handoffs/<handoff_id:int>", "agent")
async def handoff_page(request: Request, handoff_id: int) -> HTTPResponse:
    summary = await _handoff_or_404(request, handoff_id)
    if summary is None:
        return await _not_found(request, NotFound("handoff"))
    return await _handoff_page(request, summary)


@page("/handoffs/<handoff_id:int>/turns", "agent")
async def handoff_turns(request: Request, handoff_id: int) -> HTTPResponse:
    console = console_of(request)
    summary = await _handoff_or_404(request, handoff_id)
    if summary is None:
        return await _not_found(request, NotFound("handoff"))
    turns = await console.run(console.handoff.transcript, console.engine, handoff_id, 30)
    return render(request, "_transcript.html", item=summary, turns=turns)


CLOSED = "This conversation is closed."
HELD_BY_OTHER = "Another staff member holds this conversation."
REFUSALS = (CLOSED, HELD_BY_OTHER)


async def _hold(request: Request, summary: Any) -> str | None:
    """Claim the conversation for the current staff member unless they hold it; None when
    they hold it now, else the reason they cannot act on it."""
    console = console_of(request)
    me = request.ctx.session.user.email
    if summary.state == "closed":
        return CLOSED
    if summary.claimed_by == me:
        return None
    if not await console.run(console.handoff.claim, console.engine, summary.id, me):
        return HELD_BY_OTHER
    await console.run(audit.record, console.engine, me, "handoff.claim", f"handoff {summary.id}")
    return None


def _back(handoff_id: int, notice: str) -> HTTPResponse:
    return response.redirect(f"/handoffs/{handoff_id}?notice={notice}", status=303)


@page("/handoffs/<handoff_id:int>/claim", "agent", methods=("POST",))
async def claim(request: Request, handoff_id: int) -> HTTPResponse:
    summary = await _handoff_or_404(request, handoff_id)
    if summary is None:
        return await _not_found(request, NotFound("handoff"))
    problem = await _hold(request, summary)
    if problem:
        return await _handoff_page(request, summary, status=409, error=problem)
    return _back(handoff_id, "claimed")


@page("/handoffs/<handoff_id:int>/release", "agent", methods=("POST",))
async def release(request: Request, handoff_id: int) -> HTTPResponse:
    console = console_of(request)
    summary = await _handoff_or_404(request, handoff_id)
    if summary is None:
        return await _not_found(request, NotFound("handoff"))
    me = request.ctx.session.user.email
    if summary.claimed_by != me:
        return await _handoff_page(request, summary, status=409, error="You do not hold this conversation.")
    await console.run(console.handoff.release, console.engine, handoff_id, me)
    await console.run(audit.record, console.engine, me, "handoff.release", f"handoff {handoff_id}")
    return _back(handoff_id, "released")


async def _deliver(
    request: Request,
    summary: Any,
    send: Callable[[Engine, str], Coroutine[Any, Any, Any]],
    action: str,
    what: str,
    failed: str,
    notice: str,
) -> HTTPResponse:
    """What a reply and a card share: the Zalo window, claiming, sending through the
    user's channel, the audit log (`what` names the card, never message text), the outcome."""
    console = console_of(request)
    if not summary.can_reply:
        return await _handoff_page(
            request, summary, status=409, error=summary.reply_note or "A reply cannot be sent now."
        )
    problem = await _hold(request, summary)
    if problem:
        return await _handoff_page(request, summary, status=409, error=problem)
    me = request.ctx.session.user.email
    delivery = await send(console.engine, me)
    outcome = "delivered" if delivery.ok else f"not delivered: {delivery.reason}"
    await console.run(audit.record, console.engine, me, action, f"handoff {summary.id}: {what}{outcome}")
    if not delivery.ok:
        return await _handoff_page(request, summary, status=502, error=delivery.reason or failed)
    return _back(summary.id, notice)


@page("/handoffs/<handoff_id:int>/reply", "agent", methods=("POST",))
async def reply(request: Request, handoff_id: int) -> HTTPResponse:
    console = console_of(request)
    summary = await _handoff_or_404(request, handoff_id)
    if summary is None:
        return await _not_found(request, NotFound("handoff"))
    text = (request.form.get("text") or "").strip()
    if not text:
        return await _handoff_page(request, summary, status=400, error="Write a reply first.")

    def send(engine: Engine, me: str) -> Coroutine[Any, Any, Any]:
        return console.handoff.send_staff_reply(engine, handoff_id, me, text[:4000])

    return await _deliver(
        request, summary, send, "handoff.reply", "", failed="The reply was not delivered.", notice="sent"
    )


@page("/handoffs/<handoff_id:int>/card", "agent", methods=("POST",))
async def send_card(request: Request, handoff_id: int) -> HTTPResponse:
    console = console_of(request)
    summary = await _handoff_or_404(request, handoff_id)
    if summary is None:
        return await _not_found(request, NotFound("handoff"))
    topic = request.form.get("topic") or ""
    if topic not in console.topics:
        return await _handoff_page(request, summary, status=400, error="Unknown topic.")

    def send(engine: Engine, me: str) -> Coroutine[Any, Any, Any]:
        return console.handoff.send_card(engine, handoff_id, me, topic)

    return await _deliver(
        request,
        summary,
        send,
        "handoff.card",
        f"{topic}, ",
        failed="The card was not delivered.",
        notice="card_sent",
    )


@page("/handoffs/<handoff_id:int>/end", "agent", methods=("POST",))
async def end(request: Request, handoff_id: int) -> HTTPResponse:
    console = console_of(request)
    summary = await _handoff_or_404(request, handoff_id)
    if summary is None:
        return await _not_found(request, NotFound("handoff"))
    outcome = request.form.get("outcome") or ""
    if outcome not in OUTCOMES:
        return await _handoff_page(request, summary, status=400, error="Choose an outcome.")
    problem = await _hold(request, summary)
    if problem:
        return await _handoff_page(request, summary, status=409, error=problem)
    me = request.ctx.session.user.email
    delivery = await console.handoff.end(console.engine, handoff_id, me, outcome)
    told = "user told" if delivery.ok else f"user not told: {delivery.reason}"
    await console.run(
        audit.record, console.engine, me, "handoff.end", f"handoff {handoff_id}: {outcome}, {told}"
    )
    return response.redirect("/inbox?notice=ended", status=303)


# --- the unanswered queue (bot.feedback) ----------------------------------------------------------------

NO_FEEDBACK = "The feedback module is not installed: the queue is not available."
QUEUE_STATUSES = ("open", "handled", "linked")
QUEUE_STATUS_LABELS = {"open": "Open", "handled": "Handled", "linked": "Linked to a topic"}


def _group_ref(key: str) -> str:
    """A queue group named in the audit log by a digest of its key: the key is (masked)
    user text, deleted after RETENTION_DAYS or on "forget me", and the audit log is kept
    longer, so it must not hold a copy."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


@page("/queue", "editor")
async def queue(request: Request) -> HTTPResponse:
    console = console_of(request)
    if console.feedback is None:
        return _unavailable(request, NO_FEEDBACK)
    status = request.args.get("status", "open")
    if status not in QUEUE_STATUSES:
        status = "open"
    groups = await console.run(console.feedback.queue, console.engine, status)
    return render(
        request,
        "queue.html",
        groups=groups,
        current=status,
        statuses=QUEUE_STATUSES,
        status_labels=QUEUE_STATUS_LABELS,
        topics=console.topics,
    )


@page("/queue/handled", "editor", methods=("POST",))
async def queue_handled(request: Request) -> HTTPResponse:
    console = console_of(request)
    if console.feedback is None:
        return _unavailable(request, NO_FEEDBACK)
    key = request.form.get("key") or ""
    me = request.ctx.session.user.email
    await console.run(console.feedback.mark_handled, console.engine, key, me)
    await console.run(audit.record, console.engine, me, "queue.handled", f"group {_group_ref(key)}")
    return response.redirect("/queue?notice=handled", status=303)


@page("/queue/link", "editor", methods=("POST",))
async def queue_link(request: Request) -> HTTPResponse:
    console = console_of(request)
    if console.feedback is None:
        return _unavailable(request, NO_FEEDBACK)
    key = request.form.get("key") or ""
    topic = request.form.get("topic") or ""
    if topic not in console.topics:
        return render(request, "error.html", status=400, message="Unknown topic.")
    me = request.ctx.session.user.email
    await console.run(console.feedback.link_topic, console.engine, key, topic, me)
    await console.run(audit.record, console.engine, me, "queue.link", f"group {_group_ref(key)} -> {topic}")
    return response.redirect("/queue?notice=linked", status=303)


# --- administration -----------------------------------------------------------------------------------


@page("/admin/audit", "admin")
async def audit_page(request: Request) -> HTTPResponse:
    console = console_of(request)
    who = request.args.get("staff") or None
    entries = await console.run(audit.recent, console.engine, 300, who)
    return render(request, "audit.html", entries=entries, who=who or "")


@page("/admin/users", "admin")
async def users_page(request: Request) -> HTTPResponse:
    return await _users(request)


async def _users(request: Request, status: int = 200, **extra: Any) -> HTTPResponse:
    console = console_of(request)
    users = await console.run(accounts.list_users, console.engine)
    return render(request, "users.html", status=status, users=users, roles=ROLES, **extra)


@page("/admin/users", "admin", methods=("POST",))
async def create_user(request: Request) -> HTTPResponse:
    console = console_of(request)
    me = request.ctx.session.user.email
    email = request.form.get("email") or ""
    role = request.form.get("role") or ""
    try:
        user, password = await console.run(accounts.create_user, console.engine, email, role)
    except accounts.AccountError as error:
        return await _users(request, status=400, error=str(error))
    await console.run(audit.record, console.engine, me, "user.create", f"{user.email} as {user.role}")
    # Shown once, on this response only (never in a URL or a log).
    return await _users(request, created=user.email, one_time_password=password)


@page("/admin/users/role", "admin", methods=("POST",))
async def set_role(request: Request) -> HTTPResponse:
    console = console_of(request)
    me = request.ctx.session.user.email
    email = request.form.get("email") or ""
    try:
        user = await console.run(accounts.set_role, console.engine, email, request.form.get("role") or "")
    except accounts.AccountError as error:
        return await _users(request, status=400, error=str(error))
    await console.run(audit.record, console.engine, me, "user.role", f"{user.email} -> {user.role}")
    return response.redirect("/admin/users?notice=role_changed", status=303)


@page("/admin/users/disable", "admin", methods=("POST",))
async def disable_user(request: Request) -> HTTPResponse:
    console = console_of(request)
    me = request.ctx.session.user.email
    email = request.form.get("email") or ""
    disabled = request.form.get("disabled") != "0"
    if disabled and accounts.normalize_email(email) == me:
        return await _users(request, status=400, error="You cannot disable your own account.")
    try:
        user = await console.run(accounts.set_disabled, console.engine, email, disabled)
    except accounts.AccountError as error:
        return await _users(request, status=400, error=str(error))
    await console.run(
        audit.record, console.engine, me, "user.disable" if disabled else "user.enable", user.email
    )
    return response.redirect("/admin/users?notice=" + ("disabled" if disabled else "enabled"), status=303)
