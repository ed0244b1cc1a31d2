"""The pseudonym key never sits in the database beside the map; database and key files are 0600."""

from __future__ import annotations

import stat

import pytest
import sqlalchemy as sa

from bot import db
from bot.db import get_engine, pseudonym_secrets
from bot.identity import KEY_FILE_NAME, sender_id_secret
from bot.settings import SettingsError
from bot.tracker_store import sql_store_kwargs


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_sqlite_key_is_generated_once_into_its_own_0600_file_not_the_database(tmp_path):
    engine = get_engine(f"sqlite:///{tmp_path / 'bot.db'}")
    first = sender_id_secret(engine)
    assert len(first) >= 40 and sender_id_secret(engine) == first
    key_file = tmp_path / KEY_FILE_NAME
    assert key_file.read_text().strip() == first and _mode(key_file) == 0o600
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(pseudonym_secrets)).scalar() == 0
    assert first.encode() not in (tmp_path / "bot.db").read_bytes()
    assert sender_id_secret(engine, "configured") == "configured"


def test_a_key_an_older_version_kept_in_the_database_moves_to_the_file(tmp_path):
    engine = get_engine(f"sqlite:///{tmp_path / 'bot.db'}")
    db.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(sa.insert(pseudonym_secrets).values(name="sender_id_secret", value="legacy-key"))
    assert sender_id_secret(engine) == "legacy-key"  # same pseudonyms as before
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(pseudonym_secrets)).scalar() == 0
    assert (tmp_path / KEY_FILE_NAME).read_text().strip() == "legacy-key"


def test_a_database_server_requires_the_key_from_the_environment(postgres_url):
    engine = get_engine(postgres_url)
    with pytest.raises(SettingsError, match="SENDER_ID_SECRET must be set"):
        sender_id_secret(engine)
    assert sender_id_secret(engine, "from-env") == "from-env"


def test_sqlite_database_files_are_created_0600(tmp_path):
    engine = get_engine(f"sqlite:///{tmp_path / 'var' / 'bot.db'}")
    db.upgrade(engine)
    assert _mode(tmp_path / "var" / "bot.db") == 0o600
    sql_store_kwargs(f"sqlite:///{tmp_path / 'var' / 'tracker.db'}")
    assert _mode(tmp_path / "var" / "tracker.db") == 0o600


def test_an_existing_world_readable_database_is_made_private(tmp_path):
    path = tmp_path / "old.db"
    path.write_bytes(b"")
    path.chmod(0o644)
    get_engine(f"sqlite:///{path}")
    assert _mode(path) == 0o600


def test_bot_run_credentials_hold_no_secret():
    from bot.cli.run import channel_credentials
    from bot.settings import Settings

    settings = Settings(
        telegram={"token": "123:tok", "secret_token": "whsecret"},
        rest_token="rest-secret",
        sender_id_secret="hmac-key",
    )
    text = repr(channel_credentials(settings))
    for secret in ("123:tok", "whsecret", "rest-secret", "hmac-key"):
        assert secret not in text
