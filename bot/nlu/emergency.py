"""A graph component that makes `emergency_help` win whenever a message expresses danger.

It runs after the intent classifier and before the FallbackClassifier: the rules in
`bot.emergency` override the prediction with full confidence, so neither a low score nor
a competing topic can hide the urgent answer.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.emergency import detect_danger
from bot.nlu.base import StatelessComponent

EMERGENCY_INTENT = "emergency_help"
PREDICTED_CONFIDENCE_KEY = "confidence"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class EmergencyIntentGuard(StatelessComponent):
    """Overrides the predicted intent with `emergency_help` when danger is expressed."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"intent": EMERGENCY_INTENT}

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self._intent = config.get("intent", EMERGENCY_INTENT)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if not detect_danger(text):
                continue
            top = {INTENT_NAME_KEY: self._intent, PREDICTED_CONFIDENCE_KEY: 1.0}
            ranking = [
                entry
                for entry in message.get(INTENT_RANKING_KEY) or []
                if entry.get(INTENT_NAME_KEY) != self._intent
            ]
            message.set(INTENT, top, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [top] + ranking, add_to_output=True)
        return messages
