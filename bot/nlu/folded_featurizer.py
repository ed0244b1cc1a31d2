"""Count-vector features over the diacritic-folded text.

Many migrants type without a Vietnamese keyboard: "hoan tien ky quy" for "hoàn tiền ký
quỹ". A second set of word and character n-gram counts over the folded tokens lets the
classifier match both spellings, while the ordinary featurizers keep the accented forms
that distinguish words such as "bán"/"bạn".
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import (
    CountVectorsFeaturizer,
)
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.vietnamese.text import fold


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=True)
class FoldedCountVectorsFeaturizer(CountVectorsFeaturizer):
    """Rasa's CountVectorsFeaturizer, fed with folded tokens of the message text."""

    def _get_message_tokens_by_attribute(self, message: Message, attribute: str) -> list[str]:
        tokens = super()._get_message_tokens_by_attribute(message, attribute)
        if attribute != TEXT:
            return tokens
        return [fold(token) for token in tokens]
