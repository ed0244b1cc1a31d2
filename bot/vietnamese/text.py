"""Normalise Vietnamese (and English) user text, and fold away diacritics.

`normalize` keeps the string's length whenever the input is already composed, so that
entity offsets found on the normalised text still point into what the user typed.
`fold` maps a text to its unaccented form ("Hàn Quốc" -> "han quoc"), the form many
migrants type on phones without a Vietnamese keyboard.

`MAX_MESSAGE_CHARS` bounds what any component reads of one message: a real question fits
in far less, and a megabyte pasted into the web chat must not hold up the server (nor the
urgent answer to someone else). The normaliser, the place finders, the danger rules and
the language guess all read only the first `MAX_MESSAGE_CHARS` characters; the
normaliser marks the message `truncated` so the reply can say the rest was not read.
"""

from __future__ import annotations

import re
import unicodedata

MAX_MESSAGE_CHARS = 4000

_SPACES = re.compile(r"\s+")
# Old-style tone placement ("hoà", "thuý") and the common composed/decomposed mix are
# handled by NFC; these are the few characters NFC does not unify.
_LOOKALIKES = str.maketrans({"Ð": "Đ", "ð": "đ", "\u00a0": " ", "\u2019": "'", "\u2018": "'"})


def truncate(text: str | None) -> str:
    """The part of a message the bot reads: its first `MAX_MESSAGE_CHARS` characters."""
    return (text or "")[:MAX_MESSAGE_CHARS]


def normalize(text: str) -> str:
    """NFC, lowercase, unify look-alike characters, collapse runs of whitespace.

    Only the first `MAX_MESSAGE_CHARS` characters are read.
    """
    text = unicodedata.normalize("NFC", truncate(text)).translate(_LOOKALIKES)
    return _SPACES.sub(" ", text.lower()).strip()


class _FoldTable(dict):
    """`str.translate` table that works out each character's folded form on first use."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        if char in ("đ", "ð"):
            folded = "d"
        else:
            base = unicodedata.normalize("NFD", char)[0]
            # Only Latin letters lose their marks: Korean or Japanese text stays as written.
            folded = base if base.isascii() else char
        if code < 0x2000:  # Latin and its marks: worth remembering; the rest is rare
            self[code] = folded
        return folded


_FOLD = _FoldTable()


def fold(text: str) -> str:
    """Lowercase and strip every diacritic: "Đà Nẵng" -> "da nang".

    One character in, one character out, so offsets found on the folded form of an
    NFC string are valid on that string.
    """
    lowered = unicodedata.normalize("NFC", text or "").lower()
    return lowered if lowered.isascii() else lowered.translate(_FOLD)


def has_vietnamese_diacritics(text: str) -> bool:
    """True when the text carries a letter only Vietnamese (among vi/en) would type."""
    folded = fold(text)
    lowered = unicodedata.normalize("NFC", text or "").lower()
    return any(a != b and b.isalpha() for a, b in zip(lowered, folded, strict=False))
