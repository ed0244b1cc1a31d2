"""Which channels Rasa starts, from the settings; the credentials themselves hold no secret."""

from __future__ import annotations

import pytest

from bot.channels.credentials import TELEGRAM_CLASS, ZALO_CLASS, build_credentials
from bot.settings import SettingsError, load_settings

TELEGRAM_ENV = {"TELEGRAM_TOKEN": "1:abc", "TELEGRAM_SECRET_TOKEN": "s3cret_x"}
ZALO_ENV = {
    "ZALO_APP_ID": "1",
    "ZALO_OA_SECRET_KEY": "oa",
    "ZALO_APP_SECRET": "app",
    "ZALO_ACCESS_TOKEN": "a",
    "ZALO_REFRESH_TOKEN": "r",
}


def test_no_channel_variables_no_channels():
    assert build_credentials(load_settings({"DATABASE_URL": "sqlite:///x.db"})) == {}


def test_telegram_only_and_no_secret_in_the_credentials():
    env = {**TELEGRAM_ENV, "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9/bot", "SENDER_ID_SECRET": "k"}
    credentials = build_credentials(load_settings(env))
    assert credentials == {TELEGRAM_CLASS: None}


def test_zalo_only_with_defaults():
    settings = load_settings({**ZALO_ENV, "ZALO_SIGNATURE_WINDOW_SECONDS": "600"})
    assert build_credentials(settings) == {ZALO_CLASS: None}
    assert settings.zalo.api_base_url == "https://openapi.zalo.me"
    assert settings.zalo.signature_window_seconds == 600


def test_both_channels():
    assert set(build_credentials(load_settings({**TELEGRAM_ENV, **ZALO_ENV}))) == {TELEGRAM_CLASS, ZALO_CLASS}


@pytest.mark.parametrize(
    "env, missing",
    [
        ({"TELEGRAM_TOKEN": "1:abc"}, "TELEGRAM_SECRET_TOKEN"),
        ({"ZALO_APP_ID": "1", "ZALO_APP_SECRET": "x"}, "ZALO_OA_SECRET_KEY"),
    ],
)
def test_a_half_configured_channel_is_an_error_naming_the_missing_variable(env, missing):
    with pytest.raises(SettingsError, match=missing):
        load_settings(env)


def test_an_invalid_telegram_secret_is_an_error_that_does_not_quote_it():
    with pytest.raises(SettingsError, match="TELEGRAM_SECRET_TOKEN") as error:
        load_settings({"TELEGRAM_TOKEN": "1:abc", "TELEGRAM_SECRET_TOKEN": "has spaces!"})
    assert "has spaces" not in str(error.value)


def test_the_class_paths_load_as_rasa_would():
    from rasa.shared.utils.common import class_from_module_path

    assert class_from_module_path(TELEGRAM_CLASS).name() == "telegram"
    assert class_from_module_path(ZALO_CLASS).name() == "zalo"
