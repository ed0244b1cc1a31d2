"""The web chat with its database down (PostgreSQL unreachable): danger still gets the card."""

from __future__ import annotations

import socket
import uuid
from types import SimpleNamespace

import httpx
from sanic import Sanic

from bot.channels.webchat import WebChatInput
from bot.db import get_engine
from bot.services import free_port


async def test_the_web_chat_answers_with_its_database_down(monkeypatch, stub_rasa):
    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    monkeypatch.setenv("DATABASE_URL", dead)
    monkeypatch.setenv("SENDER_ID_SECRET", "x")

    async def urgent(message):
        await message.output_channel.send_text_message(
            message.sender_id, "**Cần giúp khẩn cấp**\n\ngọi 113", utter_action="utter_emergency_help"
        )

    stub_rasa.respond = urgent
    Sanic.test_mode = True
    app = Sanic(f"webchat_down_{uuid.uuid4().hex[:8]}")

    class Gone:  # the tracker store answers "no such conversation" while the database is down
        async def exists(self, sender_id: str) -> bool:
            return False

    app.ctx.agent = SimpleNamespace(tracker_store=Gone())
    channel = WebChatInput(engine=get_engine(dead), poll_seconds=1)
    app.blueprint(channel.blueprint(stub_rasa), url_prefix="/webhooks/webchat")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(10)
    server = await app.create_server(sock=sock, return_asyncio_server=True, access_log=False)
    await server.startup()
    await server.start_serving()
    try:
        async with httpx.AsyncClient() as client:
            reply = await client.post(
                f"http://127.0.0.1:{sock.getsockname()[1]}/webhooks/webchat/webhook",
                json={"sender": "reliab00000001", "message": "chủ đánh em, cứu em với"},
                timeout=10,
            )
        assert reply.status_code == 200, reply.text
        assert reply.json()[0]["urgent"] is True
    finally:
        server.close()
        await server.wait_closed()
