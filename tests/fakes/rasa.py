"""A stand-in for Rasa's message handler (`agent.handle_message`) for channel tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any


class StubRasa:
    """Records messages and replies with `respond`, or with "echo <n>" by default."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.respond: Callable[[Any], Awaitable[None]] | None = None

    async def __call__(self, message: Any) -> None:
        self.messages.append(message)
        if self.respond is not None:
            await self.respond(message)
        else:
            await message.output_channel.send_text_message(message.sender_id, f"echo {len(self.messages)}")
