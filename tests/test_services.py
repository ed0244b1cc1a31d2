"""What `python -m bot run` gives Rasa: endpoints and credentials without a secret, and the
stores configured from the settings."""

from __future__ import annotations

import os

import yaml

from bot.cli.run import channel_credentials
from bot.services import endpoints
from bot.settings import REPO_ROOT, load_settings
from bot.tracker_store import redis_lock_kwargs, sql_store_kwargs


def test_endpoints_are_the_committed_file_with_the_action_port_and_no_url_or_password():
    config = endpoints(6000)
    committed = yaml.safe_load((REPO_ROOT / "endpoints.yml").read_text(encoding="utf-8"))
    assert config["action_endpoint"] == {"url": "http://127.0.0.1:6000/webhook"}
    assert config["nlg"] == {"type": "bot.nlg.ContentNLG"} == committed["nlg"]
    assert config["tracker_store"] == {"type": "bot.tracker_store.PrivacyTrackerStore"}
    assert config["lock_store"] == {"type": "bot.tracker_store.ConfiguredLockStore"}


def test_credentials_name_the_channels_that_are_on_and_hold_no_secret():
    env = {"TELEGRAM_TOKEN": "1:secret-token", "TELEGRAM_SECRET_TOKEN": "webhook_secret"}
    credentials = channel_credentials(load_settings(env))
    assert credentials == {
        "bot.ops.OpsInput": None,
        "bot.live_model.ModelInput": None,
        "bot.channels.rest.RestInput": None,
        "bot.channels.webchat.WebChatInput": None,
        "bot.channels.telegram.TelegramInput": None,
    }
    assert "secret" not in yaml.safe_dump(credentials)


def test_the_committed_credentials_load_as_rasa_reads_them():
    committed = yaml.safe_load((REPO_ROOT / "credentials.yml").read_text(encoding="utf-8"))
    assert committed == {"rest": None, "bot.channels.webchat.WebChatInput": None}


def test_sqlite_tracker_store_from_the_default_url():
    store = sql_store_kwargs(load_settings({}).tracker_store_url)
    assert store["dialect"] == "sqlite" and store["db"].endswith("var/tracker.db")


def test_postgres_tracker_store_and_redis_lock_store_from_urls():
    settings = load_settings(
        {
            "TRACKER_STORE_URL": "postgres://rasa:p%40ss@db.internal:5433/conversations",
            "REDIS_URL": "redis://:pw@cache.internal:6380/2",
        }
    )
    store = sql_store_kwargs(settings.tracker_store_url)
    assert (store["dialect"], store["host"], store["port"], store["db"]) == (
        "postgresql",
        "db.internal",
        5433,
        "conversations",
    )
    assert (store["username"], store["password"]) == ("rasa", "p@ss")
    lock = redis_lock_kwargs(settings.redis_url)
    assert (lock["host"], lock["port"], lock["db"], lock["password"]) == ("cache.internal", 6380, 2, "pw")


def test_the_tracker_store_named_in_endpoints_reads_its_database_from_the_settings(tmp_path, monkeypatch):
    from bot.tracker_store import PrivacyTrackerStore

    monkeypatch.setenv("TRACKER_STORE_URL", f"sqlite:///{tmp_path / 'conversations' / 'tracker.db'}")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bot.db'}")
    store = PrivacyTrackerStore(host=None)  # how Rasa builds it from `type:` alone
    assert (tmp_path / "conversations" / "tracker.db").exists()
    assert store._identity_database_url == f"sqlite:///{tmp_path / 'bot.db'}"


def test_the_lock_store_is_in_memory_without_redis_and_redis_with_it(monkeypatch, redis_url):
    from rasa.core.lock_store import InMemoryLockStore, RedisLockStore

    from bot.tracker_store import ConfiguredLockStore

    monkeypatch.delenv("REDIS_URL", raising=False)
    assert isinstance(ConfiguredLockStore()._store, InMemoryLockStore)
    monkeypatch.setenv("REDIS_URL", redis_url)
    store = ConfiguredLockStore()
    assert isinstance(store._store, RedisLockStore)
    lock = store.create_lock("conversation-1")
    store.save_lock(lock)
    assert store.get_lock("conversation-1") is not None
    store.delete_lock("conversation-1")
    assert store.get_lock("conversation-1") is None


def test_start_up_deprecation_noise_is_dropped_until_the_start_and_errors_always_pass():
    import io
    import threading
    import time

    from bot.logs import pass_stderr_quietly

    reader, writer = os.pipe()
    out = io.StringIO()
    started = threading.Event()
    pass_stderr_quietly(os.fdopen(reader, "rb"), out, started)
    with os.fdopen(writer, "wb") as child:
        child.write(
            b"/x/sanic_cors/extension.py:39: DeprecationWarning: distutils Version classes are deprecated.\n"
            b"  SANIC_VERSION = LooseVersion(sanic_version)\n"
            b"/x/pkg_resources/__init__.py:3117: DeprecationWarning: Deprecated call to `declare_namespace`.\n"
            b"Implementing implicit namespace packages (as specified in PEP 420) is preferred.\n"
            b"  declare_namespace(pkg)\n"
            b"ERROR rasa: the model could not be loaded\n"
        )
        child.flush()
        time.sleep(0.3)
        started.set()
        child.write(b"/x/a.py:1: DeprecationWarning: after the start\n")
    deadline = time.monotonic() + 5
    while "after the start" not in out.getvalue() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert out.getvalue() == (
        "ERROR rasa: the model could not be loaded\n/x/a.py:1: DeprecationWarning: after the start\n"
    )


def test_a_second_sigterm_during_the_stop_is_ignored():
    """`bot run`'s SIGTERM handler stops everything once; a second SIGTERM (a supervisor and
    `timeout` both sending one) must not cut that stop short with a traceback."""
    import signal

    import pytest

    from bot.cli.run import _stop_on_sigterm

    before = signal.getsignal(signal.SIGTERM)
    try:
        signal.signal(signal.SIGTERM, _stop_on_sigterm)
        with pytest.raises(KeyboardInterrupt):
            _stop_on_sigterm(signal.SIGTERM, None)
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGTERM, before)
