"""A graph component that normalises message text before tokenisation.

Registered as a featurizer (not a tokenizer): Rasa allows one tokenizer per pipeline, and
only tokenizers and featurizers get a training-data node, which this needs so that training
and prediction see the same text.
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.base import StatelessComponent
from bot.vietnamese.text import normalize


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class VietnameseTextNormalizer(StatelessComponent):
    """Unicode NFC, lowercase and single spaces, for Vietnamese typed any way."""

    @staticmethod
    def _apply(message: Message) -> None:
        text = message.get(TEXT)
        if isinstance(text, str) and text:
            message.set(TEXT, normalize(text))

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            self._apply(example)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            self._apply(message)
        return messages
