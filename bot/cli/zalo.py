"""`python -m bot zalo refresh-token`: renew the Zalo OA access token now.

The assistant refreshes the token by itself when Zalo says it expired; this command is for
operators (after re-authorising the OA, or to check that the stored refresh token still
works). It uses the same client and token table as the channel (`bot.channels.zalo_api`)
and never prints a token.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.settings import Settings, get_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "zalo",
        help="Zalo OA tools (token refresh)",
        description="Zalo Official Account tools. Reads ZALO_* and DATABASE_URL.",
    )
    commands = parser.add_subparsers(dest="zalo_command", metavar="{refresh-token}")
    refresh = commands.add_parser(
        "refresh-token",
        help="exchange the stored refresh token for a new token pair and store it",
    )
    refresh.set_defaults(func=refresh_command)
    parser.set_defaults(func=lambda _args: parser.print_help() or 2)


async def refresh_token(settings: Settings) -> str:
    """Refresh now; returns when the new pair expires (or "unknown")."""
    from bot.channels.zalo_api import ZaloClient, ZaloConfig, ZaloTokenStore
    from bot.db import get_engine

    config = ZaloConfig.from_settings(settings.zalo)
    store = ZaloTokenStore(get_engine(settings.database_url), config.app_id, config.seed())
    client = ZaloClient(config, store)
    try:
        current = await asyncio.to_thread(store.current)
        await client.refresh(current.access_token)
    finally:
        await client.close()
    expires = (await asyncio.to_thread(store.current)).expires_at
    return f"{expires:%Y-%m-%d %H:%M} UTC" if expires else "unknown"


def refresh_command(args: argparse.Namespace, settings: Settings | None = None) -> int:
    from bot.channels.zalo_api import ZaloAuthError

    settings = settings or get_settings()
    if not settings.zalo.enabled:
        print(
            "Zalo is not configured: set ZALO_APP_ID, ZALO_APP_SECRET and ZALO_OA_SECRET_KEY.",
            file=sys.stderr,
        )
        return 2
    try:
        expires = asyncio.run(refresh_token(settings))
    except ZaloAuthError as error:
        print(f"Zalo refused the refresh ({error}): re-authorise the OA (docs/channels.md).", file=sys.stderr)
        return 1
    print(f"Zalo access token refreshed and stored; it expires {expires}.")
    return 0
