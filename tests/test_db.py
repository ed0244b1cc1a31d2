"""The database layer: one engine per URL, and migrations that keep an NGO's data.

Run against SQLite and PostgreSQL (`database_url` fixture). The "today's schema" cases build
the database the way the bot did before migrations existed (`create_all`, no
`alembic_version`), put rows in it, and upgrade.
"""

from __future__ import annotations

import datetime as _dt
import importlib

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from bot import db
from bot.channels.stores import PayloadStore
from bot.identity import IdentityStore, pseudonymize
from bot.settings import load_settings

NOW = _dt.datetime(2026, 11, 30, 12, 0)


@pytest.fixture
def engine(database_url):
    engine = db.get_engine(database_url)
    yield engine
    db.dispose_engines()


def _tables(engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def _pre_migration_database(engine) -> None:
    """The schema and rows as the code before migrations left them (the baseline's tables;
    tables added by later revisions did not exist then)."""
    baseline = importlib.import_module("bot.migrations.versions.0001_baseline").TABLES
    db.all_metadata().create_all(
        engine, tables=[t for t in db.all_metadata().sorted_tables if t.name in baseline]
    )
    with engine.begin() as conn:
        conn.execute(
            sa.insert(db.identities).values(
                sender_id="telegram-abc", platform="telegram", platform_user_id="42", updated_at=NOW
            )
        )
        conn.execute(sa.insert(db.pseudonym_secrets).values(name="sender_id_secret", value="kept-key"))
        conn.execute(
            sa.insert(db.zalo_tokens).values(
                app_id="1", access_token="a1", refresh_token="r1", updated_at=NOW
            )
        )
        conn.execute(sa.insert(db.processed_updates).values(key="telegram:1:7", created_at=NOW))
        conn.execute(sa.insert(db.button_payloads).values(key="p:x", payload="/greet", created_at=NOW))
        conn.execute(
            sa.text(
                "INSERT INTO dir_host_countries (code, name_vi, name_en, main_host, sort_order) "
                "VALUES ('KR', 'Hàn Quốc', 'South Korea', :t, 1)"
            ),
            {"t": True},
        )


def test_an_existing_database_without_migrations_is_adopted_with_its_rows(engine):
    _pre_migration_database(engine)
    assert db.current_revision(engine) is None
    db.upgrade(engine)
    assert db.current_revision(engine) == db.head_revision()
    with engine.connect() as conn:
        assert conn.execute(sa.select(db.identities.c.platform_user_id)).scalar_one() == "42"
        assert conn.execute(sa.select(db.pseudonym_secrets.c.value)).scalar_one() == "kept-key"
        assert conn.execute(sa.select(db.zalo_tokens.c.refresh_token)).scalar_one() == "r1"
        assert conn.execute(sa.select(db.processed_updates.c.key)).scalar_one() == "telegram:1:7"
        assert conn.execute(sa.select(db.button_payloads.c.payload)).scalar_one() == "/greet"
        assert conn.execute(sa.text("SELECT name_en FROM dir_host_countries")).scalar_one() == "South Korea"
    db.upgrade(engine)  # running it again changes nothing
    assert db.current_revision(engine) == db.head_revision()


def test_a_database_with_only_some_tables_gets_the_missing_ones(engine):
    db.all_metadata().create_all(engine, tables=[db.identities])
    with engine.begin() as conn:
        conn.execute(
            sa.insert(db.identities).values(
                sender_id="s", platform="zalo", platform_user_id="9", updated_at=NOW
            )
        )
    db.upgrade(engine)
    assert {"dir_offices", "zalo_oauth_tokens", "channel_processed_updates"} <= _tables(engine)
    assert IdentityStore(engine).lookup("s").platform_user_id == "9"


def test_the_migrations_build_exactly_the_declared_schema(engine):
    db.upgrade(engine)
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), db.all_metadata())
    assert differences == [], (
        "a model changed without a migration: add a revision in bot/migrations/versions/"
    )


def test_downgrade_to_base_and_up_again(engine):
    from alembic import command

    db.upgrade(engine)
    with engine.begin() as conn:
        command.downgrade(db._alembic_config(conn), "base")
    assert _tables(engine) - {"alembic_version"} == set()
    db.upgrade(engine)
    assert "platform_identities" in _tables(engine)


def test_the_stores_work_on_a_fresh_database_through_the_migrations(engine):
    store = IdentityStore(engine)
    sender = pseudonymize("telegram", 5, "k")
    store.remember(sender, "telegram", 5)
    assert store.lookup(sender).platform_user_id == "5"
    assert db.current_revision(engine) == db.head_revision()


async def test_postgres_scheme_from_hosting_platforms_works_for_the_channel_stores(postgres_url):
    url = postgres_url.replace("postgresql://", "postgres://", 1)
    settings = load_settings({"DATABASE_URL": url})
    store = PayloadStore(db.get_engine(settings.database_url))
    short = await store.encode("/x" + "y" * 100, 64)
    assert await store.decode(short) == "/x" + "y" * 100
    db.dispose_engines()


def test_sqlite_foreign_keys_are_enforced_and_directories_created(tmp_path):
    url = f"sqlite:///{tmp_path / 'deep' / 'dir' / 'bot.db'}"
    engine = db.get_engine(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert (tmp_path / "deep" / "dir").is_dir()
    assert db.get_engine(url) is engine
    db.dispose_engines()


def test_db_commands(tmp_path, monkeypatch, capsys):
    from bot.__main__ import main

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    assert main(["db", "current"]) == 1
    assert "unversioned" in capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0
    assert db.head_revision() in capsys.readouterr().out
    assert main(["db", "current"]) == 0
    assert "(head)" in capsys.readouterr().out
    db.dispose_engines()


def test_a_busy_sqlite_file_still_connects_when_it_cannot_switch_to_write_ahead_log(tmp_path):
    import sqlite3

    from bot.db import _create_engine

    path = tmp_path / "bot.db"
    holder = sqlite3.connect(path)
    holder.execute("create table t (x)")
    holder.commit()
    holder.execute("begin")
    holder.execute("select * from t").fetchall()  # another reader, in the middle of a read
    engine = _create_engine(f"sqlite:///{path}?timeout=0.1")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "delete"  # not switched
            assert conn.exec_driver_sql("select count(*) from t").scalar() == 0
    finally:
        holder.rollback()
        holder.close()
        engine.dispose()
    with _create_engine(f"sqlite:///{path}").connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
