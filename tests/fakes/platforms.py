"""The settings that point a test's Telegram and Zalo channels at the fakes: one place for
every test that builds the channels from `bot.settings` (handoff, reminders), so that a new
platform setting is added once."""

from __future__ import annotations

from typing import Any

from tests.fakes.telegram import TELEGRAM_SECRET, TELEGRAM_TOKEN
from tests.fakes.zalo import ZALO_APP_ID, ZALO_APP_SECRET, ZALO_OA_SECRET


def point_at_fakes(
    monkeypatch: Any, database_url: str, fake_telegram: Any, fake_zalo: Any, **extra: str
) -> dict[str, str]:
    """Set (for this test) the database, the pseudonym secret and Telegram and Zalo on,
    pointed at the fakes, plus `extra`; returns the variables set."""
    values = {
        "DATABASE_URL": database_url,
        "SENDER_ID_SECRET": "test-secret",
        "TELEGRAM_TOKEN": TELEGRAM_TOKEN,
        "TELEGRAM_SECRET_TOKEN": TELEGRAM_SECRET,
        "TELEGRAM_API_BASE_URL": fake_telegram.api_base_url,
        "ZALO_APP_ID": ZALO_APP_ID,
        "ZALO_OA_SECRET_KEY": ZALO_OA_SECRET,
        "ZALO_APP_SECRET": ZALO_APP_SECRET,
        "ZALO_ACCESS_TOKEN": "access-0",
        "ZALO_REFRESH_TOKEN": "refresh-0",
        "ZALO_API_BASE_URL": fake_zalo.base,
        "ZALO_OAUTH_BASE_URL": fake_zalo.base,
        **extra,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values
