"""Messaging platforms as Rasa custom channels: Telegram (`telegram.py`), Zalo OA (`zalo.py`)
and the local web chat (`webchat.py`).

Everything that is not platform-specific lives once in `common.py` (markup, splitting,
button ids, commands, polite replies, per-chat ordering) and `dedupe.py` (redelivered
updates). Rasa only ever sees a pseudonymous sender id (`bot.identity`). `credentials.py`
switches the channels on from environment variables; `cli.py` adds
`python -m bot telegram setup`.
"""
