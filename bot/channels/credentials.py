"""Rasa's `credentials` for our channels, from environment variables.

`build_credentials(os.environ)` returns a dict keyed by channel module path, the form Rasa
expects for custom connectors. A channel appears only when its variables are set; setting
some of a channel's required variables but not all is an error (a half-configured channel
would otherwise be silently off, or worse, on without its webhook secret).

Telegram: TELEGRAM_TOKEN, TELEGRAM_SECRET_TOKEN (required together), TELEGRAM_API_BASE_URL.
Zalo: ZALO_APP_ID, ZALO_OA_SECRET_KEY, ZALO_APP_SECRET (required together), ZALO_ACCESS_TOKEN,
ZALO_REFRESH_TOKEN (needed until the database holds a token pair), ZALO_API_BASE_URL,
ZALO_OAUTH_BASE_URL, ZALO_SIGNATURE_WINDOW_SECONDS.
Shared: DATABASE_URL, REDIS_URL, SENDER_ID_SECRET.

The result holds secrets: if it is written to a credentials file, make it readable by the
bot's user only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

TELEGRAM_CLASS = "bot.channels.telegram.TelegramInput"
ZALO_CLASS = "bot.channels.zalo.ZaloInput"

TELEGRAM_REQUIRED = ("TELEGRAM_TOKEN", "TELEGRAM_SECRET_TOKEN")
ZALO_REQUIRED = ("ZALO_APP_ID", "ZALO_OA_SECRET_KEY", "ZALO_APP_SECRET")


_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def valid_secret_token(token: str) -> bool:
    """Telegram accepts 1-256 characters of A-Z a-z 0-9 _ - as a webhook secret."""
    return bool(_SECRET_TOKEN.match(token or ""))


class ChannelConfigError(ValueError):
    """A channel is partly configured; the message names the missing variables."""


def _shared(env: Mapping[str, str]) -> dict[str, Any]:
    return {
        "database_url": env.get("DATABASE_URL") or None,
        "redis_url": env.get("REDIS_URL") or None,
        "sender_id_secret": env.get("SENDER_ID_SECRET") or None,
    }


def _check(env: Mapping[str, str], required: tuple[str, ...]) -> bool:
    present = [name for name in required if env.get(name)]
    if not present:
        return False
    missing = [name for name in required if not env.get(name)]
    if missing:
        raise ChannelConfigError(f"{', '.join(present)} set but {', '.join(missing)} missing")
    return True


def build_credentials(env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Rasa credentials for the channels configured in `env` (may be empty)."""
    credentials: dict[str, dict[str, Any]] = {}
    if _check(env, TELEGRAM_REQUIRED):
        if not valid_secret_token(env["TELEGRAM_SECRET_TOKEN"]):
            raise ChannelConfigError("TELEGRAM_SECRET_TOKEN must be 1-256 characters of A-Z a-z 0-9 _ -")
        credentials[TELEGRAM_CLASS] = {
            "token": env["TELEGRAM_TOKEN"],
            "secret_token": env["TELEGRAM_SECRET_TOKEN"],
            "api_base_url": env.get("TELEGRAM_API_BASE_URL") or None,
            **_shared(env),
        }
    if _check(env, ZALO_REQUIRED):
        window = env.get("ZALO_SIGNATURE_WINDOW_SECONDS") or None
        if window is not None and not window.isdigit():
            raise ChannelConfigError("ZALO_SIGNATURE_WINDOW_SECONDS must be a whole number of seconds")
        credentials[ZALO_CLASS] = {
            "app_id": env["ZALO_APP_ID"],
            "oa_secret_key": env["ZALO_OA_SECRET_KEY"],
            "app_secret": env["ZALO_APP_SECRET"],
            "access_token": env.get("ZALO_ACCESS_TOKEN") or None,
            "refresh_token": env.get("ZALO_REFRESH_TOKEN") or None,
            "api_base_url": env.get("ZALO_API_BASE_URL") or None,
            "oauth_base_url": env.get("ZALO_OAUTH_BASE_URL") or None,
            "signature_window_seconds": int(window) if window else None,
            **_shared(env),
        }
    return credentials
