"""Messages that ask several things at once: "tiền ký quỹ thì sao, với lại lương bị nợ".

The classifier gives one intent per message, so the second need would be lost. Here a
message is cut into clauses (sentence punctuation and connectives such as "và", "với
lại", "còn", "ngoài ra", "and", "also", "plus"); `bot.nlu.svm_classifier` classifies every
clause of at least `MIN_CLAUSE_TOKENS` tokens with the same model (a clause's features are
the sum of its tokens' features, so nothing is featurised twice) and stores the results
under `CLAUSE_INTENTS_KEY`. `MultiNeedDetector`, after the FallbackClassifier, turns a
clause that confidently names another content topic into `also_asked`: a list of topic ids
in the parse data, which the dialogue offers as buttons ("Bạn cũng hỏi về: …").

Meta intents (greetings, thanks, out of scope …) are never offered, and a greeting never
wins over a content clause: "chào bạn. cho em hỏi tiền ký quỹ" classified as a greeting as a
whole becomes the content clause's topic.

Connectives are matched the way the user typed: in a message written with diacritics only
"và"/"còn" count, because the unmarked "va"/"con" are other words there ("con tôi" = my
child); in a message typed without any diacritics the folded forms count too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
)
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.base import StatelessComponent
from bot.vietnamese.text import fold, has_vietnamese_diacritics

ALSO_ASKED_KEY = "also_asked"
CLAUSE_INTENTS_KEY = "clause_intents"
MIN_CLAUSE_TOKENS = 3
DEFAULT_MIN_CONFIDENCE = 0.6
MAX_ALSO_ASKED = 3
# Social intents a content clause outranks.
_PLEASANTRIES = frozenset({"greet", "thanks", "goodbye"})

# One or two words; each entry is the form typed with diacritics.
_CONNECTIVES = (
    ("và",),
    # "chủ nợ lương nên tôi muốn về nước, ...": a cause and what follows from it are two
    # needs ("nen" counts only in a message typed without any marks, as "va" does).
    ("nên",),
    ("với", "lại"),
    ("còn",),
    ("thêm", "nữa"),
    ("ngoài", "ra"),
    ("and",),
    ("also",),
    ("plus",),
)
_SENTENCE_END = re.compile(r"[.?!;\n]")
# A comma ends a clause too ("chủ nợ lương 3 tháng, về rồi ký quỹ có lấy lại được không"),
# but only after a clause long enough to classify: "xin chào, mình là lao động ở Đài Loan"
# stays one greeting instead of a greeting and a stray topic.
_COMMA = re.compile(r",")


def _connective_at(words: Sequence[str], i: int, accented: bool) -> int:
    """How many words from `words[i]` form a connective (0: none)."""
    for connective in _CONNECTIVES:
        n = len(connective)
        window = tuple(words[i : i + n])
        if len(window) < n:
            continue
        if window == connective or (not accented and window == tuple(fold(w) for w in connective)):
            return n
    return 0


def split_clauses(text: str, tokens: Sequence[tuple[str, int, int]]) -> list[list[int]]:
    """Group token indices into clauses; connective words belong to no clause.

    `tokens` are (text, start, end) spans of `text`, as the tokenizer gives them.
    """
    accented = has_vietnamese_diacritics(text)
    words = [t[0].lower() for t in tokens]
    clauses: list[list[int]] = [[]]
    i = 0
    previous_end = 0
    while i < len(tokens):
        _, start, end = tokens[i]
        gap = text[previous_end:start]
        if clauses[-1] and (
            _SENTENCE_END.search(gap) or (_COMMA.search(gap) and len(clauses[-1]) >= MIN_CLAUSE_TOKENS)
        ):
            clauses.append([])
        skip = _connective_at(words, i, accented)
        if skip:
            if clauses[-1]:
                clauses.append([])
            previous_end = tokens[i + skip - 1][2]
            i += skip
            continue
        clauses[-1].append(i)
        previous_end = end
        i += 1
    return [clause for clause in clauses if clause]


def also_asked(
    intent: str | None,
    clause_intents: Sequence[dict[str, Any]],
    content_topics: set[str],
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
) -> list[str]:
    """Content topics that clauses name confidently, other than the message's own intent."""
    found: list[str] = []
    for clause in clause_intents:
        name = clause.get("intent")
        if (
            name in content_topics
            and name != intent
            and name not in found
            and float(clause.get("confidence") or 0.0) >= min_confidence
        ):
            found.append(name)
    return found[:MAX_ALSO_ASKED]


def _content_topics() -> set[str]:
    from bot.content.topics import topic_groups

    return {topic for group, ids in topic_groups().items() if group != "meta" for topic in ids}


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class MultiNeedDetector(StatelessComponent):
    """Adds `also_asked` (topic ids) when a clause confidently asks about another topic."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"min_confidence": DEFAULT_MIN_CONFIDENCE}

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self._min_confidence = float(config.get("min_confidence", DEFAULT_MIN_CONFIDENCE))
        self._topics = _content_topics()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            clauses = message.get(CLAUSE_INTENTS_KEY) or []
            intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            topics = also_asked(intent, clauses, self._topics, self._min_confidence)
            if topics and intent in _PLEASANTRIES:
                self._promote(message, topics[0], clauses)
                topics = topics[1:]
            if topics:
                message.set(ALSO_ASKED_KEY, topics, add_to_output=True)
        return messages

    @staticmethod
    def _promote(message: Message, topic: str, clauses: Sequence[dict[str, Any]]) -> None:
        """Make the content clause's topic the message's intent, ahead of a greeting."""
        confidence = max(float(c.get("confidence") or 0.0) for c in clauses if c.get("intent") == topic)
        top = {INTENT_NAME_KEY: topic, PREDICTED_CONFIDENCE_KEY: confidence}
        ranking = [e for e in message.get(INTENT_RANKING_KEY) or [] if e.get(INTENT_NAME_KEY) != topic]
        message.set(INTENT, top, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [top] + ranking, add_to_output=True)
