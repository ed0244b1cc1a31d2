"""Which channels Rasa starts, from the environment."""

from __future__ import annotations

import pytest

from bot.channels.credentials import TELEGRAM_CLASS, ZALO_CLASS, ChannelConfigError, build_credentials

TELEGRAM_ENV = {"TELEGRAM_TOKEN": "1:abc", "TELEGRAM_SECRET_TOKEN": "s3cret_x"}
ZALO_ENV = {
    "ZALO_APP_ID": "1",
    "ZALO_OA_SECRET_KEY": "oa",
    "ZALO_APP_SECRET": "app",
    "ZALO_ACCESS_TOKEN": "a",
    "ZALO_REFRESH_TOKEN": "r",
}


def test_no_channel_variables_no_channels():
    assert build_credentials({"DATABASE_URL": "sqlite:///x.db"}) == {}


def test_telegram_only():
    env = {
        **TELEGRAM_ENV,
        "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9/bot",
        "DATABASE_URL": "sqlite:///x.db",
        "SENDER_ID_SECRET": "k",
    }
    credentials = build_credentials(env)
    assert list(credentials) == [TELEGRAM_CLASS]
    assert credentials[TELEGRAM_CLASS] == {
        "token": "1:abc",
        "secret_token": "s3cret_x",
        "api_base_url": "http://127.0.0.1:9/bot",
        "database_url": "sqlite:///x.db",
        "redis_url": None,
        "sender_id_secret": "k",
    }


def test_zalo_only_with_defaults():
    credentials = build_credentials({**ZALO_ENV, "ZALO_SIGNATURE_WINDOW_SECONDS": "600"})
    assert list(credentials) == [ZALO_CLASS]
    zalo = credentials[ZALO_CLASS]
    assert (zalo["app_id"], zalo["oa_secret_key"], zalo["app_secret"]) == ("1", "oa", "app")
    assert zalo["api_base_url"] is None and zalo["oauth_base_url"] is None  # the channel's real defaults
    assert zalo["signature_window_seconds"] == 600


def test_both_channels():
    assert set(build_credentials({**TELEGRAM_ENV, **ZALO_ENV})) == {TELEGRAM_CLASS, ZALO_CLASS}


@pytest.mark.parametrize(
    "env, missing",
    [
        ({"TELEGRAM_TOKEN": "1:abc"}, "TELEGRAM_SECRET_TOKEN"),
        ({"ZALO_APP_ID": "1", "ZALO_APP_SECRET": "x"}, "ZALO_OA_SECRET_KEY"),
    ],
)
def test_a_half_configured_channel_is_an_error_naming_the_missing_variable(env, missing):
    with pytest.raises(ChannelConfigError, match=missing):
        build_credentials(env)


def test_an_invalid_telegram_secret_is_an_error():
    with pytest.raises(ChannelConfigError):
        build_credentials({"TELEGRAM_TOKEN": "1:abc", "TELEGRAM_SECRET_TOKEN": "has spaces!"})


def test_the_class_paths_load_as_rasa_would():
    from rasa.shared.utils.common import class_from_module_path

    assert class_from_module_path(TELEGRAM_CLASS).name() == "telegram"
    assert class_from_module_path(ZALO_CLASS).name() == "zalo"
