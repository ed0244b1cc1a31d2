"""A running staff console over a migrated database, with fake handoff/feedback APIs and
one account per role, and an HTTP client that logs in the way a browser does."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy.engine import Engine

from bot import db
from bot.settings import load_settings
from bot.staff import accounts
from bot.staff.app import build_app
from bot.staff.roles import ROLES
from tests.staff.fakes import FakeFeedback, FakeHandoff
from tests.staff.server import serving

PASSWORD = "correct horse battery"
TOPICS = ["complaint_employer", "complaint_agency", "deposit_refund"]
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at its cheapest: the real cost (64 MiB, 3 passes) would make each test's
    accounts take seconds on a shared CI machine. What is tested is that Argon2 is used."""
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def make_user(engine: Engine, email: str, role: str, password: str = PASSWORD) -> accounts.User:
    user, one_time = accounts.create_user(engine, email, role)
    accounts.change_password(engine, user, one_time, password, password)
    return user


@dataclass
class Console:
    base: str
    engine: Engine
    handoff: FakeHandoff
    feedback: FakeFeedback
    clients: list[httpx.Client] = field(default_factory=list)

    def client(self) -> httpx.Client:
        client = httpx.Client(base_url=self.base, follow_redirects=False, timeout=30)
        self.clients.append(client)
        return client

    def login(self, email: str, password: str = PASSWORD, ip: str | None = None) -> httpx.Client:
        client = self.client()
        response = self.post_login(client, email, password)
        assert response.status_code == 303, response.text
        return client

    def post_login(self, client: httpx.Client, email: str, password: str) -> httpx.Response:
        token = csrf_of(client.get("/login").text)
        return client.post("/login", data={"csrf": token, "email": email, "password": password})

    def as_role(self, role: str) -> httpx.Client:
        return self.login(f"{role}@ngo.example")


def start_console(database_url: str, **settings: str) -> Iterator[Console]:
    engine = db.get_engine(database_url)
    db.upgrade(engine)
    for role in ROLES:
        make_user(engine, f"{role}@ngo.example", role)
    handoff, feedback = FakeHandoff(), FakeFeedback()
    app = build_app(
        engine,
        settings=load_settings(settings),
        handoff_api=handoff,
        feedback_api=feedback,
        topics=TOPICS,
        poll_seconds=1,
    )
    with serving(app) as base:
        console = Console(base, engine, handoff, feedback)
        yield console
        for client in console.clients:
            client.close()
    db.dispose_engines()


@pytest.fixture
def console(sqlite_url: str) -> Iterator[Console]:
    yield from start_console(sqlite_url)


@pytest.fixture
def console_any_db(database_url: str) -> Iterator[Console]:
    """The console on SQLite and on PostgreSQL."""
    yield from start_console(database_url)
