"""A graph component that normalises message text before tokenisation.

Registered as a featurizer (not a tokenizer): Rasa allows one tokenizer per pipeline, and
only tokenizers and featurizers get a training-data node, which this needs so that training
and prediction see the same text.

At prediction time only the first `MAX_MESSAGE_CHARS` characters are kept, so no later
component reads more; a message that was cut carries `truncated: True` in its parse data
for the reply to mention.
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.base import StatelessComponent
from bot.vietnamese.text import MAX_MESSAGE_CHARS, normalize

TRUNCATED_KEY = "truncated"


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
            text = message.get(TEXT)
            if isinstance(text, str) and len(text) > MAX_MESSAGE_CHARS:
                message.set(TRUNCATED_KEY, True, add_to_output=True)
            self._apply(message)
        return messages
