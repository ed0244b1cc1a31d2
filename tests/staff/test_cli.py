"""`python -m bot staff …`: accounts from the command line, each change in the audit log."""

from __future__ import annotations

import re

import pytest

from bot import db
from bot.__main__ import main
from bot.staff import accounts, audit


@pytest.fixture
def engine(sqlite_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    yield db.get_engine(sqlite_url)
    db.dispose_engines()


def test_add_user_prints_a_one_time_password_that_works_once(engine, capsys):
    assert main(["staff", "add-user", "Lan@NGO.example", "--role", "admin"]) == 0
    out = capsys.readouterr().out
    password = re.search(r"One-time password: (\S+)", out).group(1)
    user = accounts.authenticate(engine, "lan@ngo.example", password, "127.0.0.1")
    assert user.role == "admin" and user.must_change_password
    assert [(e.staff, e.action, e.detail) for e in audit.recent(engine)] == [
        ("cli", "user.create", "lan@ngo.example as admin")
    ]
    assert main(["staff", "add-user", "lan@ngo.example", "--role", "agent"]) == 1
    assert "already exists" in capsys.readouterr().err


def test_list_set_role_and_disable(engine, capsys):
    main(["staff", "add-user", "a@ngo.example", "--role", "agent"])
    assert main(["staff", "set-role", "a@ngo.example", "editor"]) == 0
    assert main(["staff", "disable", "a@ngo.example"]) == 0
    capsys.readouterr()
    assert main(["staff", "list-users"]) == 0
    assert capsys.readouterr().out == "a@ngo.example\teditor\tdisabled\n"
    assert main(["staff", "disable", "nobody@ngo.example"]) == 1
    assert "No account with this e-mail." in capsys.readouterr().err
    assert [e.action for e in audit.recent(engine)] == ["user.disable", "user.role", "user.create"]
