"""Accounts, passwords, sessions and the login rate limit, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as _dt

import pytest
import sqlalchemy as sa

from bot import db
from bot.staff import accounts, audit
from bot.staff.roles import at_least


@pytest.fixture
def engine(database_url):
    engine = db.get_engine(database_url)
    db.upgrade(engine)
    yield engine
    db.dispose_engines()


def test_a_new_account_has_a_one_time_password_hashed_with_argon2(engine):
    user, password = accounts.create_user(engine, " Lan@NGO.example ", "agent")
    assert user.email == "lan@ngo.example" and user.must_change_password
    with engine.connect() as conn:
        stored = conn.execute(sa.select(db.staff_users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and password not in stored
    assert accounts.authenticate(engine, "lan@ngo.example", password, "10.0.0.1").id == user.id
    with pytest.raises(accounts.AccountError, match="already exists"):
        accounts.create_user(engine, "lan@ngo.example", "admin")
    with pytest.raises(accounts.AccountError, match="Unknown role"):
        accounts.create_user(engine, "b@ngo.example", "boss")


def test_changing_the_password_clears_the_flag_and_ends_every_session(engine):
    user, one_time = accounts.create_user(engine, "a@ngo.example", "agent")
    token = accounts.start_session(engine, user)
    with pytest.raises(accounts.AccountError, match="at least 12"):
        accounts.change_password(engine, user, one_time, "short", "short")
    with pytest.raises(accounts.AccountError, match="differ"):
        accounts.change_password(engine, user, one_time, "a long new password", "another long one!")
    with pytest.raises(accounts.AccountError, match="current password is wrong"):
        accounts.change_password(engine, user, "not it", "a long new password", "a long new password")
    accounts.change_password(engine, user, one_time, "a long new password", "a long new password")
    assert accounts.load_session(engine, token) is None
    assert not accounts.get_user(engine, "a@ngo.example").must_change_password
    with pytest.raises(accounts.AccountError):
        accounts.authenticate(engine, "a@ngo.example", one_time, "10.0.0.1")


def test_five_failures_block_the_account_even_with_the_right_password(engine):
    user, password = accounts.create_user(engine, "a@ngo.example", "agent")
    for n in range(accounts.LOGIN_LIMIT):
        with pytest.raises(accounts.AccountError, match="Wrong e-mail or password"):
            accounts.authenticate(engine, "a@ngo.example", f"guess {n}", f"10.0.0.{n}")
    with pytest.raises(accounts.AccountError, match="Too many failed logins"):
        accounts.authenticate(engine, "a@ngo.example", password, "10.0.0.99")
    later = accounts.now() + accounts.LOGIN_WINDOW + _dt.timedelta(seconds=1)
    assert not accounts.login_blocked(engine, "a@ngo.example", "10.0.0.99", at=later)


def test_five_failures_from_one_address_block_that_address_for_every_account(engine):
    _user, password = accounts.create_user(engine, "a@ngo.example", "agent")
    for n in range(accounts.LOGIN_LIMIT):
        with pytest.raises(accounts.AccountError):
            accounts.authenticate(engine, f"nobody{n}@ngo.example", "guess", "10.0.0.7")
    with pytest.raises(accounts.AccountError, match="Too many failed logins"):
        accounts.authenticate(engine, "a@ngo.example", password, "10.0.0.7")
    assert accounts.authenticate(engine, "a@ngo.example", password, "10.0.0.8").email == "a@ngo.example"


def test_sessions_are_stored_hashed_and_expire_when_idle_or_old(engine):
    user, _ = accounts.create_user(engine, "a@ngo.example", "agent")
    token = accounts.start_session(engine, user)
    with engine.connect() as conn:
        stored = conn.execute(sa.select(db.staff_sessions.c.token_hash)).scalar_one()
    assert token not in stored and len(stored) == 64
    now = accounts.now()
    assert accounts.load_session(engine, token, at=now).user.email == "a@ngo.example"
    assert accounts.load_session(engine, "forged", at=now) is None
    # Used every 20 minutes it survives the idle limit, but not the absolute one.
    at = now
    while at < now + accounts.ABSOLUTE - _dt.timedelta(minutes=20):
        at += _dt.timedelta(minutes=20)
        assert accounts.load_session(engine, token, at=at) is not None
    assert accounts.load_session(engine, token, at=now + accounts.ABSOLUTE + _dt.timedelta(minutes=1)) is None
    idle = accounts.start_session(engine, user)
    assert (
        accounts.load_session(engine, idle, at=accounts.now() + accounts.IDLE + _dt.timedelta(minutes=1))
        is None
    )


def test_disabling_an_account_ends_its_sessions_and_its_logins(engine):
    user, password = accounts.create_user(engine, "a@ngo.example", "agent")
    token = accounts.start_session(engine, user)
    accounts.set_disabled(engine, "a@ngo.example")
    assert accounts.load_session(engine, token) is None
    with pytest.raises(accounts.AccountError, match="Wrong e-mail or password"):
        accounts.authenticate(engine, "a@ngo.example", password, "10.0.0.1")


def test_roles_are_ordered():
    assert at_least("admin", "agent") and at_least("editor", "editor")
    assert not at_least("agent", "editor") and not at_least("reviewer", "admin")
    assert not at_least(None, "agent") and not at_least("boss", "agent")


def test_the_audit_log_keeps_who_what_and_when(engine):
    audit.record(engine, "a@ngo.example", "handoff.claim", "handoff 3")
    audit.record(engine, "b@ngo.example", "queue.handled", "group 'x'")
    entries = audit.recent(engine)
    assert [(e.staff, e.action, e.detail) for e in entries] == [
        ("b@ngo.example", "queue.handled", "group 'x'"),
        ("a@ngo.example", "handoff.claim", "handoff 3"),
    ]
    assert entries[0].at.tzinfo is not None
    assert [e.action for e in audit.recent(engine, staff="a@ngo.example")] == ["handoff.claim"]
