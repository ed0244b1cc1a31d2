"""Search the answer cards for the passage that answers a question the classifier missed.

Why: fact questions phrased in an unusual way ("số điện thoại tổng đài bảo hộ công dân của
bộ ngoại giao", "eps") fall below the intent threshold, yet the answer is written in a
card. BM25 over the folded text of the Vietnamese and English cards finds it, and also
chooses the fallback's "did you mean" buttons. Sub-cards count for their topic (the topic
whose `follow_up` lists them, else the topic their id starts with), titles weigh three
times, and each paragraph or list item of a card is a passage. The index is built once
and rebuilt only when a card file changes (one `stat` per file), so an edit by NGO staff
is searchable at once.
"""

from __future__ import annotations

import math
import os
import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from bot.content.cards import ContentLibrary, default_library
from bot.content.topics import topic_ids
from bot.vietnamese.text import fold

LANGUAGES = ("vi", "en")
# A question is read up to here (the NLU reads the first 4,000 characters of a message):
# the cost of a search grows with the number of distinct words asked.
MAX_QUERY_CHARS = 4000
TITLE_WEIGHT = 3
# A question that names something few passages mention ("Danuri", "1955", "111", "EPF")
# asks about that thing: such a term weighs `NAMED_WEIGHT` times, so "đường dây Danuri là
# số mấy" finds the Danuri line, not the passage richest in "đường dây" and "người nước
# ngoài". Named: a number of 3 digits or more, or a word typed as a name (a capital
# letter, not the message's first word, 3 letters or more) found in at most
# `NAMED_MAX_PASSAGES` passages; ordinary words are rare by chance ("million", "giao").
NAMED_WEIGHT = 6.0
NAMED_MAX_PASSAGES = 4
NAMED_MIN_LETTERS = 3  # "Hà", "Ba" are syllables of place names, not names asked about
_NUMBER = re.compile(r"\d{3,}")
_TYPED_WORD = re.compile(r"\w+")
K1, B = 1.2, 0.75
# Cards that are conversation, not facts: never an answer to a fact question.
NOT_SEARCHED = {
    "greet",
    "goodbye",
    "thanks",
    "bot_challenge",
    "out_of_scope",
    "help_menu",
    "change_language",
    "privacy",
}
_TOKEN = re.compile(r"[a-z0-9]+(?:[.+-][a-z0-9]+)*")
# Words that carry no topic in either language (folded); without them a question's
# "của", "the", "is" would decide between cards.
_STOPWORDS = set(
    "a an the of to in on at for and or is are be do does i my me you your it this that what "
    "which who how where when can with from about have has there any "
    "cua la va o tai cho toi em anh chi ban minh co khong ko k gi nao the thi de duoc voi "
    "nhu nay do mot cac nhung ve khi se da dang can phai lam sao bao nhieu hay roi nhe a u "
    "oi vay ma neu".split()
)


def tokens(text: str) -> list[str]:
    """Folded word unigrams and bigrams, stop words dropped from the unigrams."""
    words = _TOKEN.findall(fold(text or ""))
    unigrams = [w for w in words if w not in _STOPWORDS]
    bigrams = [f"{a}_{b}" for a, b in zip(words, words[1:], strict=False)]
    return unigrams + bigrams


@dataclass(frozen=True)
class Passage:
    card_id: str
    topic: str
    lang: str
    title: str
    text: str


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float
    # The share of the query's weight this passage matched (0-1): long questions score
    # high on many passages, so the score alone says little about a good match.
    coverage: float = 0.0


def _passages(body: str) -> list[str]:
    """Paragraphs and list items: the units a short answer can quote."""
    parts: list[str] = []
    for block in re.split(r"\n\s*\n", body):
        lines = [line for line in block.splitlines() if line.strip()]
        items = [line for line in lines if re.match(r"\s*(?:[-*]|\d+\.)\s", line)]
        if len(items) >= 2 and len(items) == len(lines):
            parts.extend(line.strip() for line in lines)
        elif lines:
            parts.append("\n".join(lines).strip())
    return parts


def topic_of(card_id: str, follow_ups: dict[str, str], topics: list[str]) -> str:
    """The topic a card belongs to: itself, the topic listing it as a follow-up, or its prefix."""
    if card_id in topics:
        return card_id
    if card_id in follow_ups:
        return follow_ups[card_id]
    prefixed = [t for t in topics if card_id.startswith(t + "_")]
    return max(prefixed, key=len) if prefixed else card_id


class CardIndex:
    """BM25 over card passages of both languages."""

    def __init__(self, library: ContentLibrary):
        self.passages: list[Passage] = []
        # card id -> the topic it belongs to
        self.topics: dict[str, str] = {}
        self._docs: list[Counter] = []
        topics = topic_ids()
        cards = {(lang, cid): library.get(cid, lang) for lang in LANGUAGES for cid in library.card_ids(lang)}
        follow_ups: dict[str, str] = {}
        for (_, cid), card in cards.items():
            if card and cid in topics:
                for child in card.follow_up:
                    if child not in topics:
                        follow_ups.setdefault(child, cid)
        for (lang, cid), card in sorted(cards.items()):
            if card is None or cid in NOT_SEARCHED or card.lang != lang:
                continue
            topic = topic_of(cid, follow_ups, topics)
            self.topics[cid] = topic
            title_terms = tokens(card.title) * TITLE_WEIGHT
            for text in _passages(card.body):
                self.passages.append(Passage(cid, topic, lang, card.title, text))
                self._docs.append(Counter(tokens(text) + title_terms))
        lengths = [sum(d.values()) for d in self._docs]
        self._avg = (sum(lengths) / len(lengths)) if lengths else 1.0
        self._lengths = lengths
        frequency: Counter = Counter()
        for doc in self._docs:
            frequency.update(doc.keys())
        n = len(self._docs)
        self._idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in frequency.items()}
        self._frequency = frequency
        self._countries: dict[int, frozenset[str]] = {}

    def named_terms(self, query: str) -> set[str]:
        """The query's single words that name something specific in the cards."""
        typed = _TYPED_WORD.findall((query or "")[:MAX_QUERY_CHARS])
        named = set()
        for position, word in enumerate(typed):
            term = fold(word)
            if term not in self._frequency:
                continue
            if _NUMBER.fullmatch(term) or (
                position > 0
                and len(term) >= NAMED_MIN_LETTERS
                and any(c.isupper() for c in word)
                and self._frequency[term] <= NAMED_MAX_PASSAGES
            ):
                named.add(term)
        return named

    def countries_of(self, index: int) -> frozenset[str]:
        """The host countries a passage is about (ISO codes): those it names, and those its
        card's title names (a list item of "Khó khăn với chủ ở Đài Loan" is about Taiwan).
        Read once per passage."""
        found = self._countries.get(index)
        if found is None:
            from bot.vietnamese.countries import find_countries

            passage = self.passages[index]
            found = frozenset(m.value for m in find_countries(f"{passage.title}\n{passage.text}"))
            self._countries[index] = found
        return found

    def search(
        self,
        query: str,
        lang: str | None = None,
        limit: int = 5,
        where: Callable[[int, Passage], bool] | None = None,
    ) -> list[Hit]:
        """Best passages first; only those sharing a term with the query (and, given
        `where(index, passage)`, only those it accepts: a topic's, a country's)."""
        terms = set(tokens((query or "")[:MAX_QUERY_CHARS]))
        named = self.named_terms(query)
        weight = {t: (NAMED_WEIGHT if t in named else 1.0) * self._idf.get(t, 0.0) for t in terms}
        best_possible = sum(weight.values()) * (K1 + 1) or 1.0
        hits: list[Hit] = []
        for i, doc in enumerate(self._docs):
            passage = self.passages[i]
            if lang and passage.lang != lang:
                continue
            if where is not None and not where(i, passage):
                continue
            score = 0.0
            norm = K1 * (1 - B + B * self._lengths[i] / self._avg)
            for term in terms:
                tf = doc.get(term)
                if tf:
                    score += weight[term] * tf * (K1 + 1) / (tf + norm)
            if score > 0:
                hits.append(Hit(passage, score, score / best_possible))
        hits.sort(key=lambda h: -h.score)
        return hits[:limit]

    def best_topics(self, query: str, lang: str | None = None, limit: int = 3) -> list[tuple[str, float]]:
        """Distinct topics (sub-cards folded into theirs), by their best passage's score."""
        seen: dict[str, float] = {}
        for hit in self.search(query, lang, limit=50):
            seen.setdefault(hit.passage.topic, hit.score)
        return sorted(seen.items(), key=lambda kv: -kv[1])[:limit]


_lock = threading.Lock()
_cached: tuple[tuple, CardIndex] | None = None


def _signature(library: ContentLibrary) -> tuple:
    """Every card file's name, modification time and size: checked on each search, so read
    with `os.scandir` (a fifth of the time of `glob` and `Path.stat`: about 0.4 ms for the
    cards of both languages, measured)."""
    files = []
    for lang in LANGUAGES:
        try:
            with os.scandir(library.root / lang) as found:
                # As glob("*.md") chooses: no hidden files.
                entries = sorted(
                    (e.name, e) for e in found if e.name.endswith(".md") and not e.name.startswith(".")
                )
        except OSError:
            continue
        for name, entry in entries:
            stat = entry.stat()
            files.append((lang, name, stat.st_mtime_ns, stat.st_size))
    return (str(library.root), tuple(files))


def card_index(library: ContentLibrary | None = None) -> CardIndex:
    """The index of the current cards, rebuilt only when a card file changed."""
    global _cached
    library = library or default_library()
    signature = _signature(library)
    with _lock:
        if _cached is not None and _cached[0] == signature:
            return _cached[1]
    index = CardIndex(library)
    with _lock:
        _cached = (signature, index)
    return index
