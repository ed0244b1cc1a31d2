"""How a card (saved or still a draft) will look on each platform, for the staff console.

Editors must see what a person will get before they publish: where Telegram and Zalo
split a long card, which buttons show, and how long each message is against the
platform's limit. None of that is re-implemented here: the preview runs the channels' own
output classes (`TelegramOutput`, `ZaloOutput`: their `render`, `measure`, `limit`,
`buttons_per_message` and the shared `ButtonTextOutput._send`), with the one hook that
would reach the network (`_deliver`) collecting the messages instead, and the web chat's
own `web_fields` (bot.channels.webchat). The card is the one the assistant would send:
`render_card` on the parsed draft.

Every text in the result is already escaped HTML (Telegram's and the web chat's renderers
escape before adding their few tags) or plain text (Zalo), so the console can show it
as-is without letting a card's text run as markup.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from bot.channels.telegram import TelegramOutput
from bot.channels.webchat import web_fields
from bot.channels.zalo import ZaloOutput
from bot.content.cards import Card, ContentLibrary
from bot.content.render import render_card

PREVIEW_ID = "preview"
URGENT_CARDS = ("emergency_help",)


@dataclass
class Message:
    html: str  # safe to insert: escaped text with the platform's few tags
    length: int  # as the platform counts it
    buttons: list[str] = field(default_factory=list)


@dataclass
class PlatformPreview:
    platform: str
    limit: int | None  # None: the web chat shows a reply whole
    messages: list[Message]

    @property
    def over_limit(self) -> bool:
        return self.limit is not None and any(m.length > self.limit for m in self.messages)


class _Collecting:
    """Mixed into a channel's output: the messages are kept instead of sent."""

    collected: list[tuple[str, Any]]
    measure: Any

    async def _platform_recipient(self, recipient_id: str) -> str | None:
        return PREVIEW_ID

    def _url_button(self, title: str, url: str) -> Any:
        return title

    async def _payload_button(self, recipient_id: str, title: str, payload: str) -> Any:
        return title

    def _group(self, buttons: list[Any]) -> Any:
        return list(buttons)

    async def _deliver(self, platform_id: str, text: str, buttons: Any | None) -> bool:
        self.collected.append((text, buttons))
        return True


class _TelegramPreview(_Collecting, TelegramOutput):
    pass


class _ZaloPreview(_Collecting, ZaloOutput):
    pass


async def _collect(output_class: type, lang: str, reply: dict[str, Any]) -> list[tuple[str, Any]]:
    output = output_class(None, PREVIEW_ID, PREVIEW_ID, lang)
    output.collected = []
    buttons = reply["buttons"]
    if buttons:
        await output.send_text_with_buttons(PREVIEW_ID, reply["text"], buttons)
    else:
        await output.send_text_message(PREVIEW_ID, reply["text"])
    return output.collected


async def preview_card(card: Card, library: ContentLibrary) -> list[PlatformPreview]:
    """The card as Telegram, Zalo and the web chat will show it (follow-up buttons take
    their titles from `library`, the live cards)."""
    reply = render_card(card, library)
    previews = []
    for name, output_class, escape in (
        ("telegram", _TelegramPreview, False),  # Telegram HTML: already escaped
        ("zalo", _ZaloPreview, True),  # plain text: escape it for the page
    ):
        messages = [
            Message(
                html=html.escape(text) if escape else text,
                length=output_class.measure(text),
                buttons=[str(b) for b in (group or [])],
            )
            for text, group in await _collect(output_class, card.lang, reply)
        ]
        previews.append(PlatformPreview(name, output_class.limit, messages))
    web = web_fields(str(reply["text"]), urgent=card.id in URGENT_CARDS)
    buttons = [str(b.get("title") or "") for b in reply["buttons"]]  # type: ignore[attr-defined]
    previews.append(
        PlatformPreview(
            "webchat", None, [Message(str(web.get("html", "")), len(str(reply["text"])), buttons)]
        )
    )
    return previews
