"""A graph component that normalises message text before tokenisation.

Registered as a featurizer (not a tokenizer): Rasa allows one tokenizer per pipeline, and
only tokenizers and featurizers get a training-data node, which this needs so that training
and prediction see the same text.

At prediction time only the first `MAX_MESSAGE_CHARS` characters are kept, so no later
component reads more; a message that was cut carries `truncated: True` in its parse data
for the reply to mention.

At training time (only) every example typed with diacritics also gets an unaccented copy,
since many migrants type without a Vietnamese keyboard: "hoàn tiền ký quỹ" teaches "hoan
tien ky quy" too. `fold` keeps every character's position, so entity offsets stay valid on
the copy. Measured: +1.8 points in cross-validation on the training data, and 0.965 ->
0.974 on the unaccented held-out messages
(../shared/reference/reviews/nlu-options-2026-11.md §4.2).
"""

from __future__ import annotations

import copy

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.base import StatelessComponent
from bot.vietnamese.text import MAX_MESSAGE_CHARS, fold, has_vietnamese_diacritics, normalize

TRUNCATED_KEY = "truncated"


def folded_copies(examples: list[Message]) -> list[Message]:
    """Unaccented copies of the intent examples typed with diacritics, none already present."""
    seen = {example.get(TEXT) for example in examples}
    copies = []
    for example in examples:
        text = example.get(TEXT)
        if not (isinstance(text, str) and example.get(INTENT) and has_vietnamese_diacritics(text)):
            continue
        folded = fold(text)
        if folded in seen:
            continue
        seen.add(folded)
        copies.append(Message(data={**copy.deepcopy(example.data), TEXT: folded}))
    return copies


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
        copies = folded_copies(training_data.training_examples)
        if not copies:
            return training_data
        return TrainingData(
            training_data.training_examples + copies,
            entity_synonyms=training_data.entity_synonyms,
            regex_features=training_data.regex_features,
            lookup_tables=training_data.lookup_tables,
            responses=training_data.responses,
        )

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            if isinstance(text, str) and len(text) > MAX_MESSAGE_CHARS:
                message.set(TRUNCATED_KEY, True, add_to_output=True)
            self._apply(message)
        return messages
