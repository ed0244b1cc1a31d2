"""The endpoints `python -m bot run` writes for Rasa, from the environment."""

from bot.services import endpoints
from bot.settings import load_settings


def test_embedded_defaults_use_sqlite_files_and_the_in_process_nlg():
    config = endpoints(5055, load_settings({}))
    assert config["action_endpoint"] == {"url": "http://127.0.0.1:5055/webhook"}
    assert config["nlg"] == {"type": "bot.nlg.ContentNLG"}
    store = config["tracker_store"]
    assert store["type"] == "bot.tracker_store.PrivacyTrackerStore"
    assert store["dialect"] == "sqlite" and store["db"].endswith("var/tracker.db")
    assert "lock_store" not in config


def test_postgres_tracker_store_and_redis_lock_store_from_urls():
    config = endpoints(
        6000,
        load_settings(
            {
                "TRACKER_STORE_URL": "postgres://rasa:pw@db.internal:5433/conversations",
                "DATABASE_URL": "postgresql://bot@db.internal/bot",
                "REDIS_URL": "redis://cache.internal:6380/2",
            }
        ),
    )
    store = config["tracker_store"]
    assert (store["dialect"], store["url"], store["port"], store["db"]) == (
        "postgresql",
        "db.internal",
        5433,
        "conversations",
    )
    assert (store["username"], store["password"]) == ("rasa", "pw")
    assert store["identity_database_url"] == "postgresql://bot@db.internal/bot"
    assert config["lock_store"]["type"] == "redis"
    assert (config["lock_store"]["url"], config["lock_store"]["port"], config["lock_store"]["db"]) == (
        "cache.internal",
        6380,
        2,
    )
