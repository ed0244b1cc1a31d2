"""The web chat shows a finished complaint letter as a link that downloads the PDF once,
in a real browser (Playwright with Debian's chromium, skipped without them), with the
stub-Rasa web chat of tests/browser/test_webchat.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.tools import letter_store
from tests.browser.test_webchat import StubWebChat, ask, chromium, open_chat, phone  # noqa: F401 - fixtures

PDF = b"%PDF-1.4\n% a complaint letter\n"


class LetterWebChat(StubWebChat):
    """The stub web chat, answering "letter" with a finished letter as the action sends it."""

    async def _respond(self, message: Any) -> None:
        if message.text != "letter":
            await super()._respond(message)
            return
        out, sender = message.output_channel, message.sender_id
        token = letter_store.store_file(self.engine, sender, "don-khieu-nai.pdf", PDF)
        await out.send_text_message(sender, "Đây là đơn của bạn.")
        await out.send_custom_json(sender, {"letter": {"token": token, "filename": "don-khieu-nai.pdf"}})


@pytest.fixture
def letter_chat(tmp_path: Path) -> Iterator[LetterWebChat]:
    chat = LetterWebChat(tmp_path / "webchat.db").start()
    yield chat
    chat.stop()


def test_the_letter_is_a_download_link_that_works_once(phone, letter_chat):  # noqa: F811 - fixture
    open_chat(phone, letter_chat.base)
    ask(phone, "letter")
    link = phone.locator("#log .msg.bot a.document")
    link.wait_for()
    assert "Tải đơn về" in link.inner_text()
    href = link.get_attribute("href")
    assert href and href.startswith("letter/")
    with phone.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename == "don-khieu-nai.pdf"
    assert Path(download.path()).read_bytes() == PDF
    # Used once: the same link now finds nothing.
    assert httpx.get(letter_chat.base + href).status_code == 404
