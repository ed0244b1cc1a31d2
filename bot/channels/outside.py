"""Sending to a Telegram or Zalo user outside a Rasa turn (staff replies, cards from the console).

Why here: a card staff send from the console must look exactly like the bot's own reply
(same HTML, same inline keyboard or `oa.query.show` buttons, same splitting and the same
failure policy), so it goes through the channel's own output class, built on the caller's
database engine, instead of a second, text-only sender (issue 11). The Zalo reply names
the user's latest message when it is still within Zalo's free-reply window
(`bot.channels.stores.reply_target`), else it is a proactive message.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.channels.base import ButtonTextOutput
from bot.channels.concurrency import BackgroundTasks, ChatSequencer
from bot.channels.context import ChannelContext
from bot.channels.stores import PayloadStore, SqlDedupeStore, reply_target
from bot.identity import IdentityStore
from bot.settings import Settings


def _context(engine: Engine, settings: Settings) -> ChannelContext:
    return ChannelContext(
        engine=engine,
        identities=IdentityStore(engine),
        payloads=PayloadStore(engine),
        dedupe=SqlDedupeStore(engine),
        secret="",  # not needed: the platform id is known
        sequencer=ChatSequencer(),
        tasks=BackgroundTasks(),
        send_retry_seconds=settings.send_retry_seconds,
    )


@contextlib.asynccontextmanager
async def outside_output(
    engine: Engine,
    settings: Settings,
    channel: str,
    platform_user_id: str,
    sender_id: str,
    lang: str | None,
    free_reply: bool = True,
) -> AsyncIterator[ButtonTextOutput]:
    """The output of `channel` ("telegram" or "zalo", configured) for one user."""
    context = _context(engine, settings)
    if channel == "telegram":
        from bot.channels.telegram import TelegramInput, TelegramOutput

        telegram = settings.telegram
        assert telegram.token is not None and telegram.secret_token is not None
        bot_channel = TelegramInput(
            telegram.token.get_secret_value(),
            telegram.secret_token.get_secret_value(),
            telegram.api_base_url,
            context,
        )
        try:
            yield TelegramOutput(bot_channel, platform_user_id, sender_id, lang)
        finally:
            with contextlib.suppress(Exception):
                await bot_channel.sender.bot.shutdown()
        return
    if channel == "zalo":
        from bot.channels.zalo import ZaloConfig, ZaloInput, ZaloOutput

        zalo_channel = ZaloInput(ZaloConfig.from_settings(settings.zalo), context)
        target = None
        if free_reply:
            with contextlib.suppress(SQLAlchemyError):
                target = await asyncio.to_thread(reply_target, engine, sender_id)
        try:
            yield ZaloOutput(zalo_channel, platform_user_id, sender_id, lang, reply_to=target)
        finally:
            await zalo_channel.client.close()
        return
    raise ValueError(f"no output outside a turn for channel {channel!r}")
