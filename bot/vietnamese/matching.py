"""Gazetteer matching shared by the country, province, city and need vocabularies.

A `Gazetteer` is built once (at import time of the vocabulary module) from `Alias`
entries and then finds every non-overlapping, leftmost-longest mention of an alias in
a message. Comparison is on the folded text (`fold`: no diacritics, lowercase), so
"Hàn Quốc", "han quoc" and "HAN QUOC" all match, and the offsets returned point into
the text exactly as the user typed it (even if it arrived decomposed, NFD).

Short aliases that are also everyday words need guarding, because most users type
without a Vietnamese keyboard and "han" may be "Hàn" (Korea), "hạn" (deadline) or
"hân"; hence the `Rule`s:

- ANY: matched wherever it appears.
- STRICT: like ANY, but if the user typed diacritics they must be the alias's own
  ("Hải Phòng" yes, "hai phòng" = two rooms, no).
- GUARDED: needs either the alias's own diacritics ("Hàn"), or a context word
  before it ("sang han", "ben nga"); a multi-word alias also passes when every
  word is capitalised ("Ba Lan" but not "ba lan" = "ba lần"). Wrong diacritics
  always reject ("hạn", "hân").
- CONTEXT: needs a context word before it; diacritics alone are not enough ("tổng
  đài" is not Taiwan). Wrong diacritics reject.
- ALONE: only when the whole input is the alias (a button or slot value: "KR", "HQ").

Accent consistency (every rule but ANY): in a message typed with diacritics (at least
half of its words, and at least two, carry marks), a span typed without marks cannot
stand for an alias whose spellings all carry marks. Someone who types "người lao
động" would have typed "Lào" for Laos; folded matching is for messages typed without
a Vietnamese keyboard ("di lao dong o lao" still finds Laos).

An alias whose value is None is a blocker: it wins the span like any other match
(so "thợ hàn", a welder, is not "Hàn") but is never reported. A blocker applies when
each of its words is typed either without marks or with the blocker's own: "lao vào"
blocks "lao vao" and "lao vào" but not "Lào vào".

Text beyond `MAX_MESSAGE_CHARS` is not looked at (see `bot.vietnamese.text`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache

from bot.vietnamese.text import MAX_MESSAGE_CHARS, fold

__all__ = ["Alias", "Gazetteer", "Match", "Rule", "aliases"]


@dataclass(frozen=True)
class Match:
    """One mention: `text == original[start:end]`, `value` is the canonical value."""

    start: int
    end: int
    text: str
    value: str


class Rule(Enum):
    ANY = "any"
    STRICT = "strict"
    GUARDED = "guarded"
    CONTEXT = "context"
    ALONE = "alone"


@dataclass(frozen=True)
class Alias:
    text: str
    value: str | None
    rule: Rule = Rule.ANY


_WORD = re.compile(r"\w+")
# What may stand between the words of one alias: "tp.hcm", "BR-VT", "Bà Rịa – Vũng Tàu".
_INNER_GAP = re.compile(r"[\s\-\u2010-\u2015./]*")
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015./]+")
# Sentence punctuation between a context word and the alias breaks the link.
_CONTEXT_GAP = re.compile(r"[\s\-\u2010-\u2015]*")
_LOOKALIKES = str.maketrans({"ð": "đ", "\u00a0": " "})
_MAX_CONTEXT_WORDS = 4


def _tokens(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(fold(text)))


def _spelling(text: str) -> str:
    """The accented spelling, lowercased, with separators unified, for comparison."""
    lowered = unicodedata.normalize("NFC", text).lower().translate(_LOOKALIKES)
    return _SEPARATORS.sub(" ", lowered).strip()


class _Prepared:
    """A message as the matcher sees it, with a map back to the original offsets."""

    __slots__ = ("original", "lowered", "folded", "starts", "ends", "words", "accented")

    def __init__(self, original: str) -> None:
        original = original[:MAX_MESSAGE_CHARS]
        self.original = original
        if unicodedata.is_normalized("NFC", original):
            lowered_text = original.lower().translate(_LOOKALIKES)
            if len(lowered_text) == len(original):
                # Already composed, and lowercasing keeps every character's place: the
                # offsets map one to one (the usual case, and much faster).
                self._set(original, lowered_text, fold(lowered_text), range(len(original)))
                return
        lowered: list[str] = []
        folded: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        # Compose one base character with its combining marks at a time, so every
        # composed character knows which span of the original it came from.
        cluster_start = 0
        for index in range(1, len(original) + 1):
            if index < len(original) and unicodedata.combining(original[index]):
                continue
            cluster = unicodedata.normalize("NFC", original[cluster_start:index])
            for char in cluster:
                low = char.lower().translate(_LOOKALIKES)[:1] or " "
                flat = fold(low)[:1] or " "
                lowered.append(low)
                folded.append(flat)
                starts.append(cluster_start)
                ends.append(index)
            cluster_start = index
        self._set(original, "".join(lowered), "".join(folded), starts, ends)

    def _set(
        self,
        original: str,
        lowered: str,
        folded: str,
        starts: Sequence[int],
        ends: Sequence[int] | None = None,
    ) -> None:
        self.lowered = lowered
        self.folded = folded
        self.starts = starts
        self.ends = ends if ends is not None else range(1, len(original) + 1)
        self.words = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(self.folded)]
        marked = sum(1 for start, end, _ in self.words if self.has_marks(start, end))
        self.accented = marked >= max(2, len(self.words) / 2)

    def has_marks(self, start: int, end: int) -> bool:
        return self.lowered[start:end] != self.folded[start:end]

    def spelling(self, start: int, end: int) -> str:
        return _SEPARATORS.sub(" ", self.lowered[start:end]).strip()

    def typed_words(self, first: int, last: int) -> list[str]:
        """Words `first..last` as typed (lowercased, composed)."""
        return [self.lowered[start:end] for start, end, _ in self.words[first : last + 1]]

    def title_cased(self, start: int, end: int) -> bool:
        """Every whitespace-separated word of the span starts with a capital."""
        o_start, o_end = self.starts[start], self.ends[end - 1]
        words = self.original[o_start:o_end].split()
        return bool(words) and all(w[:1].isupper() for w in words)

    def to_match(self, start: int, end: int, value: str) -> Match:
        o_start, o_end = self.starts[start], self.ends[end - 1]
        return Match(o_start, o_end, self.original[o_start:o_end], value)


@lru_cache(maxsize=8)
def _prepare(text: str) -> _Prepared:
    """One preparation per message, shared by the country, province, city and need finders."""
    return _Prepared(text)


@dataclass
class _Variant:
    """One value a folded key can stand for; "my" is both "MY" (Malaysia) and "Mỹ"."""

    value: str | None
    rules: set[Rule]
    spellings: set[str]
    words: int
    # Spellings that may match inside a free message (not ALONE codes such as "LAO").
    free_spellings: set[str] = field(default_factory=set)

    @property
    def always_marked(self) -> bool:
        """Every spelling used in free text carries a diacritic ("Lào"; not "Nga")."""
        return all(spelling != fold(spelling) for spelling in self.free_spellings)


class Gazetteer:
    """Longest-match finder over a fixed set of aliases; build once, call per message."""

    def __init__(self, aliases: Iterable[Alias], context_words: Iterable[str] = ()) -> None:
        self._entries: dict[tuple[str, ...], list[_Variant]] = {}
        # A token trie: word -> (child trie, entry key if an alias ends here).
        self._trie: dict = {}
        for alias in aliases:
            self._add(alias)
        self._context = {_tokens(word) for word in context_words}
        self._context.discard(())

    def _add(self, alias: Alias) -> None:
        key = _tokens(alias.text)
        if not key:
            raise ValueError(f"empty alias {alias!r}")
        variants = self._entries.get(key)
        if variants is None:
            variants = self._entries[key] = []
            node = self._trie
            for word in key:
                node = node.setdefault(word, {})
            node[None] = key
        variant = next((v for v in variants if v.value == alias.value), None)
        if variant is None:
            variant = _Variant(alias.value, set(), set(), len(key))
            variants.append(variant)
        spelling = _spelling(alias.text)
        if any(spelling in v.spellings for v in variants if v is not variant):
            raise ValueError(f"alias {alias.text!r} is spelled the same for two values")
        variant.rules.add(alias.rule)
        variant.spellings.add(spelling)
        if alias.rule is not Rule.ALONE:
            variant.free_spellings.add(spelling)

    @property
    def values(self) -> set[str]:
        return {v.value for vs in self._entries.values() for v in vs if v.value is not None}

    # -- matching ---------------------------------------------------------------

    def find(self, text: str) -> list[Match]:
        """All mentions in a free message, leftmost-longest, non-overlapping."""
        if not text:
            return []
        prepared = _prepare(text[:MAX_MESSAGE_CHARS])
        candidates = self._candidates(prepared)
        chosen: list[Match] = []
        last_end = -1
        for start, end, value in candidates:
            if start < last_end:
                continue
            last_end = end
            if value is not None:
                chosen.append(prepared.to_match(start, end, value))
        return chosen

    def lookup(self, text: str) -> str | None:
        """The value of a single mention (button, slot value, short reply).

        The whole input equal to an alias wins, whatever its rule (wrong diacritics
        still reject). Otherwise the mentions found in it decide, if they agree.
        """
        if not text or not text.strip():
            return None
        prepared = _prepare(text[:MAX_MESSAGE_CHARS])
        key = tuple(word for _, _, word in prepared.words)
        variants = self._entries.get(key)
        if variants:
            start, end = prepared.words[0][0], prepared.words[-1][1]
            only_punctuation = not _WORD.search(prepared.folded[:start] + prepared.folded[end:])
            fitting = [v for v in variants if self._spelled_right(prepared, v, start, end)]
            if only_punctuation and fitting:
                return self._best(prepared, fitting, start, end).value
        values = {match.value for match in self.find(text)}
        return values.pop() if len(values) == 1 else None

    def _candidates(self, prepared: _Prepared) -> list[tuple[int, int, str | None]]:
        words = prepared.words
        found: list[tuple[int, int, str | None]] = []
        for first in range(len(words)):
            node = self._trie
            for last in range(first, len(words)):
                if last > first:
                    gap = prepared.folded[words[last - 1][1] : words[last][0]]
                    if not _INNER_GAP.fullmatch(gap):
                        break
                child = node.get(words[last][2])
                if child is None:
                    break
                node = child
                key = node.get(None)
                if key is None:
                    continue
                start, end = words[first][0], words[last][1]
                accepted = [v for v in self._entries[key] if self._accepts(prepared, v, first, last)]
                if accepted:
                    found.append((start, end, self._best(prepared, accepted, start, end).value))
        # Leftmost first, then longest.
        found.sort(key=lambda c: (c[0], -c[1]))
        return found

    @staticmethod
    def _best(prepared: _Prepared, variants: list[_Variant], start: int, end: int) -> _Variant:
        """Among variants that fit, the one spelled exactly as typed; else a blocker, since
        "dai han" after "visa" is far more often "dài hạn" than "Đại Hàn"."""
        typed = prepared.spelling(start, end)
        exact = next((v for v in variants if typed in v.spellings), None)
        if exact is not None:
            return exact
        return next((v for v in variants if v.value is None), variants[0])

    def _accepts(self, prepared: _Prepared, entry: _Variant, first_word: int, last_word: int) -> bool:
        start, end = prepared.words[first_word][0], prepared.words[last_word][1]
        if entry.value is None:
            return self._blocker_fits(prepared, entry, first_word, last_word)
        if Rule.ANY in entry.rules:
            return True
        if not self._spelled_right(prepared, entry, start, end):
            return False
        if Rule.STRICT in entry.rules:
            return True
        guarded = Rule.GUARDED in entry.rules
        if guarded and prepared.has_marks(start, end):
            return True
        if guarded and entry.words > 1 and prepared.title_cased(start, end):
            return True
        if (guarded or Rule.CONTEXT in entry.rules) and self._after_context(prepared, first_word):
            return True
        return False

    @staticmethod
    def _spelled_right(prepared: _Prepared, entry: _Variant, start: int, end: int) -> bool:
        """Typed with exactly the alias's own diacritics, or without any where that is
        plausible: not in a message typed with diacritics when the alias always has them."""
        if Rule.ANY in entry.rules:
            return True
        if not prepared.has_marks(start, end):
            return not (prepared.accented and entry.always_marked)
        return prepared.spelling(start, end) in entry.spellings

    @staticmethod
    def _blocker_fits(prepared: _Prepared, entry: _Variant, first_word: int, last_word: int) -> bool:
        """Each typed word is unmarked or spelled as in one of the blocker's spellings."""
        typed = prepared.typed_words(first_word, last_word)
        for spelling in entry.spellings:
            own = _WORD.findall(spelling)
            if len(own) == len(typed) and all(
                t == fold(t) or t == o for t, o in zip(typed, own, strict=True)
            ):
                return True
        return False

    def _after_context(self, prepared: _Prepared, first_word: int) -> bool:
        if not self._context:
            return False
        words = prepared.words
        for count in range(1, min(_MAX_CONTEXT_WORDS, first_word) + 1):
            begin = first_word - count
            # Every gap up to the alias must be plain spacing.
            gap = prepared.folded[words[begin][1] : words[begin + 1][0]]
            if not _CONTEXT_GAP.fullmatch(gap):
                return False
            if tuple(w for _, _, w in words[begin:first_word]) in self._context:
                return True
        return False


def aliases(value: str | None, texts: Iterable[str], rule: Rule = Rule.ANY) -> list[Alias]:
    """Shorthand for many aliases of one value under one rule."""
    return [Alias(text, value, rule) for text in texts]
