"""Rasa's `credentials` for our channels: which input channels to start.

`build_credentials(settings)` returns a dict keyed by channel class path, the form Rasa
expects for custom connectors, with one entry per configured channel. The entries carry
no values: each channel reads its own secrets from `bot.settings` in `from_credentials`,
so the credentials Rasa is given (and any file they are written to) hold no secret.
Whether a channel is configured, and completely, is decided by `bot.settings`.
"""

from __future__ import annotations

from bot.settings import Settings

TELEGRAM_CLASS = "bot.channels.telegram.TelegramInput"
ZALO_CLASS = "bot.channels.zalo.ZaloInput"
WEBCHAT_CLASS = "bot.channels.webchat.WebChatInput"

_CLASSES = {"telegram": TELEGRAM_CLASS, "zalo": ZALO_CLASS}


def build_credentials(settings: Settings) -> dict[str, None]:
    """Rasa credentials for the channels configured in `settings` (may be empty)."""
    return {_CLASSES[name]: None for name in settings.enabled_channels()}
