"""`python -m bot telegram ...`: connect the Telegram bot to this server.

`setup` registers the webhook (with the secret token and the update types we handle) and
the "/" command menu in Vietnamese and English; `info` shows what Telegram has on file.
Both read TELEGRAM_TOKEN, TELEGRAM_SECRET_TOKEN and TELEGRAM_API_BASE_URL from the
environment and never print the token.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Mapping

from bot.settings import Settings, SettingsError, get_settings, load_settings, valid_telegram_secret_token

WEBHOOK_PATH = "/webhooks/telegram/webhook"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `telegram` command and its `setup` / `info` subcommands."""
    parser = subparsers.add_parser(
        "telegram",
        help="connect the Telegram bot (webhook, command menu)",
        description="Telegram channel tools. Reads TELEGRAM_TOKEN, TELEGRAM_SECRET_TOKEN and "
        "TELEGRAM_API_BASE_URL from the environment.",
    )
    commands = parser.add_subparsers(dest="telegram_command", metavar="{setup,info}")
    setup = commands.add_parser(
        "setup",
        help="register the webhook and the command menu with Telegram",
        description="Tell Telegram where to deliver updates (setWebhook with the secret token "
        "and allowed_updates) and register the command menu in Vietnamese and English "
        "(setMyCommands). Run it once after deploying, and again when the URL changes.",
    )
    setup.add_argument(
        "--url",
        default=None,
        help="the public HTTPS address of this server, e.g. https://bot.example.org "
        f"(the path {WEBHOOK_PATH} is added unless given; default: env PUBLIC_URL)",
    )
    setup.add_argument(
        "--drop-pending-updates",
        action="store_true",
        help="discard updates Telegram queued while the webhook was unreachable",
    )
    setup.set_defaults(func=setup_command)
    info = commands.add_parser("info", help="show the webhook Telegram has on file (getWebhookInfo)")
    info.set_defaults(func=info_command)
    parser.set_defaults(func=lambda _args: _usage(parser))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def webhook_url(url: str) -> str:
    """The full webhook URL for a server address (or the webhook URL itself)."""
    url = url.rstrip("/")
    return url if url.endswith(WEBHOOK_PATH) else url + WEBHOOK_PATH


def _config(settings: Settings) -> tuple[str, str, str | None] | None:
    telegram = settings.telegram
    token = telegram.token.get_secret_value() if telegram.token else ""
    secret = telegram.secret_token.get_secret_value() if telegram.secret_token else ""
    if not token:
        print("TELEGRAM_TOKEN is not set (the token @BotFather gave you).", file=sys.stderr)
        return None
    if not valid_telegram_secret_token(secret):
        print(
            "TELEGRAM_SECRET_TOKEN must be set to 1-256 characters of A-Z a-z 0-9 _ -.\n"
            'Generate one with: python -c "import secrets; print(secrets.token_urlsafe(32))"',
            file=sys.stderr,
        )
        return None
    return token, secret, telegram.api_base_url


async def _setup(token: str, secret: str, base_url: str | None, url: str, drop: bool) -> None:
    from telegram import BotCommand

    from bot.channels.base import t
    from bot.channels.commands import COMMAND_DESCRIPTIONS
    from bot.channels.telegram import ALLOWED_UPDATES, make_bot

    bot = make_bot(token, base_url)
    async with bot:
        await bot.set_webhook(
            url=url,
            secret_token=secret,
            allowed_updates=ALLOWED_UPDATES,
            drop_pending_updates=drop,
            max_connections=40,
        )
        for language in ("vi", "en", None):
            # No language code = users whose app is in another language: Vietnamese.
            commands = [
                BotCommand(name, t(language or "vi", text)) for name, text in COMMAND_DESCRIPTIONS.items()
            ]
            await bot.set_my_commands(commands, language_code=language)


def _settings(env: Mapping[str, str] | None) -> Settings | None:
    """Settings from `env` (tests) or the process; None after printing what is wrong."""
    try:
        return load_settings(env) if env is not None else get_settings()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return None


def setup_command(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> int:
    settings = _settings(env)
    if settings is None:
        return 2
    config = _config(settings)
    if config is None:
        return 2
    address = args.url or settings.public_url or ""
    if not address:
        print(
            "Give the server's public address: --url https://bot.example.org (or set PUBLIC_URL).",
            file=sys.stderr,
        )
        return 2
    if not address.startswith("https://"):
        print("Telegram only delivers to HTTPS addresses (ports 443, 80, 88 or 8443).", file=sys.stderr)
        return 2
    url = webhook_url(address)
    try:
        asyncio.run(_setup(*config, url, args.drop_pending_updates))
    except Exception as exc:  # noqa: BLE001 - report, never show a traceback with the token URL
        print(
            f"Telegram refused the setup: {type(exc).__name__}: {_redact(str(exc), config[0])}",
            file=sys.stderr,
        )
        return 1
    print(f"Webhook set to {url}; command menu registered in Vietnamese and English.")
    return 0


async def _info(token: str, base_url: str | None) -> dict:
    from bot.channels.telegram import make_bot

    bot = make_bot(token, base_url)
    async with bot:
        info = await bot.get_webhook_info()
    return {
        "url": info.url,
        "pending_update_count": info.pending_update_count,
        "last_error_message": info.last_error_message,
        "allowed_updates": list(info.allowed_updates or []),
    }


def info_command(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> int:
    settings = _settings(env)
    config = _config(settings) if settings is not None else None
    if config is None:
        return 2
    try:
        info = asyncio.run(_info(config[0], config[2]))
    except Exception as exc:  # noqa: BLE001
        print(
            f"Telegram did not answer: {type(exc).__name__}: {_redact(str(exc), config[0])}", file=sys.stderr
        )
        return 1
    for key, value in info.items():
        print(f"{key}: {value}")
    return 0


def _redact(text: str, token: str) -> str:
    return text.replace(token, "<token>") if token else text
