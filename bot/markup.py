"""The answer cards' Markdown subset, rendered for each kind of screen.

Cards are written in paragraphs, **bold**, "1. " and "- " lists and plain URLs (the
content checks forbid anything else). Telegram gets HTML (`to_html`), Zalo plain text
(`to_plain`), the web chat HTML with links and `tel:` links (`to_web_html`, so a phone
number is one tap away). `split_message` cuts a long card on paragraph boundaries under a
platform's size limit, rendering each piece on its own so no tag is ever cut in half.
There is one bold rule (`BOLD`) for every renderer.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

# **bold**: at least one character, no space just inside the stars.
BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_BULLET = re.compile(r"^\s*[-*•]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*(\d{1,3})[.)]\s+(.*)$")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_URL = re.compile(r"https?://[^\s<]+[^\s<.,;:!?)\]'\"]")


def _render_lines(text: str, inline: Callable[[str], str]) -> str:
    lines = []
    for line in text.split("\n"):
        bullet = _BULLET.match(line)
        numbered = _NUMBERED.match(line)
        if bullet:
            lines.append("• " + inline(bullet.group(1)))
        elif numbered:
            lines.append(f"{numbered.group(1)}. " + inline(numbered.group(2)))
        else:
            lines.append(inline(line.rstrip()))
    return "\n".join(lines)


def _html_inline(text: str) -> str:
    # Escape first: the only tags in the output are the ones added here, always balanced.
    return BOLD.sub(r"<b>\1</b>", html.escape(text, quote=False))


def _plain_inline(text: str) -> str:
    return BOLD.sub(r"\1", text)


def to_html(text: str) -> str:
    """Card Markdown -> Telegram HTML (escaped text, <b> for **bold**, "•" bullets)."""
    return _render_lines(text, _html_inline)


def to_plain(text: str) -> str:
    """Card Markdown -> plain text for platforms that show markup literally (Zalo)."""
    return _render_lines(text, _plain_inline)


def _tel(number: str) -> str:
    return "tel:" + ("+" if number.lstrip().startswith("+") else "") + re.sub(r"\D", "", number)


def to_web_html(text: str) -> str:
    """Card Markdown -> HTML for the web chat: bold, clickable URLs and `tel:` phone links."""
    from bot.content.checks import find_phone_numbers  # the cards' one phone-number rule

    numbers = sorted({html.escape(n, quote=False) for n in find_phone_numbers(text)}, key=len, reverse=True)
    # A number counts only on its own, never as a piece of a longer figure ("1.111.000").
    links = re.compile(
        "|".join([_URL.pattern, *(rf"(?<![\w.+]){re.escape(n)}(?![\w]|[.,]\d)" for n in numbers)])
    )

    def link(match: re.Match[str]) -> str:
        found = match.group(0)
        if found.startswith("http"):
            # Quotes escaped too: a URL from user input must not close the attribute (review 13).
            url = html.escape(html.unescape(found), quote=True)
            return f'<a href="{url}" target="_blank" rel="noopener">{url}</a>'
        return f'<a href="{_tel(html.unescape(found))}">{found}</a>'

    # Tags are left alone: only the text between them gets links.
    pieces = re.split(r"(<[^>]+>)", to_html(text))
    return "".join(p if p.startswith("<") else links.sub(link, p) for p in pieces)


def utf16_length(text: str) -> int:
    """Telegram counts message length in UTF-16 code units (an emoji counts twice)."""
    return len(text.encode("utf-16-le")) // 2


_SEPARATORS = ("\n\n", "\n", " ", "")


def _pack(text: str, level: int, fits: Callable[[str], bool]) -> list[str]:
    """Greedy packing of `text`'s units at one separator level; oversize units go a level down."""
    separator = _SEPARATORS[level]
    if separator == "\n\n":
        units = [p.strip("\n") for p in _PARAGRAPH_BREAK.split(text) if p.strip()]
    elif separator:
        units = [u for u in text.split(separator) if u]
    else:
        units = list(text)
    pieces: list[str] = []
    for unit in units:
        if fits(unit) or not separator:
            pieces.append(unit)
        else:
            pieces.extend(_pack(unit, level + 1, fits))
    chunks: list[str] = []
    current = ""
    for piece in pieces:
        candidate = f"{current}{separator}{piece}" if current else piece
        if current and not fits(candidate):
            chunks.append(current)
            current = piece
        else:
            current = candidate
    if current:
        chunks.append(current)
    return chunks


def split_message(
    text: str,
    limit: int,
    render: Callable[[str], str] = to_plain,
    measure: Callable[[str], int] = len,
) -> list[str]:
    """Render `text` and cut it into pieces of at most `limit` (as `measure`d after rendering).

    Cuts fall between paragraphs when possible, else between lines, then words, then
    characters. Each piece is rendered separately, so HTML pieces are each well formed.
    """
    if not text or not text.strip():
        return []

    def fits(chunk: str) -> bool:
        return measure(render(chunk)) <= limit

    return [render(chunk) for chunk in _pack(text.strip(), 0, fits)]
