"""Messaging platforms as Rasa custom channels: Telegram (`telegram.py`), Zalo OA (`zalo.py`)
and the local web chat (`webchat.py`).

What every platform shares lives once, by concern: the webhook turn and the text-plus-buttons
output (`base.py`), the inbound event type (`events.py`), commands and locations
(`commands.py`), the stores kept between calls (`stores.py`), per-chat ordering and
background work (`concurrency.py`), the shared state built from settings (`context.py`) and
the send-failure policy (`delivery.py`). The Zalo API client is `zalo_api.py`. Rasa only ever
sees a pseudonymous sender id (`bot.identity`). `credentials.py` lists the channels that
are switched on; the platforms read their secrets from `bot.settings`.
"""
