"""A graph component that extracts places and needs by gazetteer, already normalised.

Entities: `country` (ISO 3166-1 alpha-2: "xứ kim chi" -> KR), `province` (the current
unit since the 2025 merger: "Quảng Bình" -> Quảng Trị), `city` (host-country city) and
`need` (the directory's service vocabulary). A gazetteer beats a learned tagger here:
the lists are closed, and users type names with or without diacritics.
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.base import StatelessComponent
from bot.vietnamese.places import extract_places


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class PlaceEntityExtractor(StatelessComponent, EntityExtractorMixin):
    """Adds country, province, city and need entities found in the message text."""

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            found = [
                {
                    ENTITY_ATTRIBUTE_TYPE: entity_type,
                    ENTITY_ATTRIBUTE_VALUE: match.value,
                    ENTITY_ATTRIBUTE_START: match.start,
                    ENTITY_ATTRIBUTE_END: match.end,
                    "text": match.text,
                }
                for entity_type, match in extract_places(text)
            ]
            if found:
                message.set(
                    ENTITIES,
                    message.get(ENTITIES, []) + self.add_extractor_name(found),
                    add_to_output=True,
                )
        return messages
