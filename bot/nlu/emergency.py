"""A graph component that makes `emergency_help` win whenever a message expresses danger.

It runs after the intent classifier and before the FallbackClassifier: the rules in
`bot.emergency` override the prediction with full confidence, so neither a low score nor
a competing topic can hide the urgent answer.

A story often asks something else too ("... giữ hộ chiếu, không cho về. Em muốn hỏi về
hợp đồng"). The topics the classifier saw, and that the override hides, go into the parse
data as `also_asked` (topic ids, most likely first), so the dialogue can offer them after
the urgent card instead of losing them.

The other way round, one narrow case: the classifier alone, unsure, on a few words that
only name a place after "and"/"còn" ("and in Doha?", "còn ở Đài thì sao") is reading the
place, not danger (no danger rule fired). Such an `emergency_help` is taken out of the
ranking, so the dialogue treats the message as the follow-up it is (the same question for
that place); the FallbackClassifier then sees the next intent.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.emergency import detect_danger
from bot.nlu.base import StatelessComponent
from bot.payloads import EMERGENCY_INTENT
from bot.vietnamese.text import fold

logger = logging.getLogger(__name__)

PREDICTED_CONFIDENCE_KEY = "confidence"
ENTITIES_KEY = "entities"
# Below this, a classifier-only `emergency_help` on a place follow-up is not believed.
UNSURE_DANGER = 0.5
FOLLOW_UP_MAX_WORDS = 6
_PLACE_FOLLOW_UP = re.compile(r"^\s*(?:and|what about|how about|the con|con|vay con|the thi)\b")
_PLACE_ENTITIES = ("country", "province", "city")
ALSO_ASKED_KEY = "also_asked"

# Intents that are conversation, not a topic to offer back ("you also asked about: hi").
_NOT_TOPICS = frozenset(
    {
        EMERGENCY_INTENT,
        "greet",
        "goodbye",
        "thanks",
        "help_menu",
        "change_language",
        "human_handoff",
        "privacy",
        "bot_challenge",
        "out_of_scope",
        "show_card",
        "forget_me",
        "nlu_fallback",
    }
)


def _answer_topics() -> frozenset[str] | None:
    """Ids of the answer topics in topics.yml (not the meta group), or None if unreadable."""
    try:
        from bot.content.topics import load_topics

        return frozenset(t.id for t in load_topics() if t.group != "meta")
    except Exception:  # the urgent answer must not depend on the topics file
        logger.warning("topics.yml could not be read; offering every non-meta intent back")
        return None


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class EmergencyIntentGuard(StatelessComponent):
    """Overrides the predicted intent with `emergency_help` when danger is expressed."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # A displaced topic is offered back when the classifier gave it at least this
        # confidence; at most `also_asked_max` of them.
        return {"intent": EMERGENCY_INTENT, "also_asked_min_confidence": 0.3, "also_asked_max": 2}

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self._intent = config.get("intent", EMERGENCY_INTENT)
        self._min_confidence = float(config.get("also_asked_min_confidence", 0.3))
        self._max = int(config.get("also_asked_max", 2))

    def displaced_topics(self, message: Message) -> list[str]:
        """Topic intents the classifier ranked high enough, most likely first."""
        ranking = list(message.get(INTENT_RANKING_KEY) or [])
        top = message.get(INTENT) or {}
        if top.get(INTENT_NAME_KEY) and not any(
            e.get(INTENT_NAME_KEY) == top[INTENT_NAME_KEY] for e in ranking
        ):
            ranking.insert(0, top)
        topics = _answer_topics()
        found: list[str] = []
        for entry in ranking:
            name = entry.get(INTENT_NAME_KEY)
            confidence = float(entry.get(PREDICTED_CONFIDENCE_KEY) or 0.0)
            if not name or name in found or name in _NOT_TOPICS or name == self._intent:
                continue
            if topics is not None and name not in topics:
                continue
            if confidence >= self._min_confidence:
                found.append(name)
            if len(found) >= self._max:
                break
        return found

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if not detect_danger(text):
                if self._unsure_on_a_place_follow_up(message, text):
                    ranking = [
                        e
                        for e in message.get(INTENT_RANKING_KEY) or []
                        if e.get(INTENT_NAME_KEY) != self._intent
                    ]
                    top = ranking[0] if ranking else {INTENT_NAME_KEY: None, PREDICTED_CONFIDENCE_KEY: 0.0}
                    message.set(INTENT, top, add_to_output=True)
                    message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
                continue
            displaced = self.displaced_topics(message)
            top = {INTENT_NAME_KEY: self._intent, PREDICTED_CONFIDENCE_KEY: 1.0}
            ranking = [
                entry
                for entry in message.get(INTENT_RANKING_KEY) or []
                if entry.get(INTENT_NAME_KEY) != self._intent
            ]
            message.set(INTENT, top, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [top] + ranking, add_to_output=True)
            earlier = [t for t in message.get(ALSO_ASKED_KEY) or [] if t not in displaced]
            if displaced or earlier:
                message.set(ALSO_ASKED_KEY, displaced + earlier, add_to_output=True)
        return messages

    def _unsure_on_a_place_follow_up(self, message: Message, text: str) -> bool:
        """ "and in Doha?": the classifier's unsure `emergency_help` on a place follow-up."""
        intent = message.get(INTENT) or {}
        if intent.get(INTENT_NAME_KEY) != self._intent:
            return False
        if float(intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0) >= UNSURE_DANGER:
            return False
        folded = fold(text[:200]).lower()
        if len(folded.split()) > FOLLOW_UP_MAX_WORDS or not _PLACE_FOLLOW_UP.search(folded):
            return False
        return any(e.get("entity") in _PLACE_ENTITIES for e in message.get(ENTITIES_KEY) or [])
