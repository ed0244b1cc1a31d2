"""A graph component that keeps `change_language` for messages that ask for a language.

Why: the classifier learns `change_language` from the words "tiếng Anh", "Vietnamese",
"tiếng Việt", so it also gives it to messages that only mention a language: "and the
Vietnamese office in Taipei?" (a consular follow-up), "tôi không nói được tiếng Ả Rập,
nói với cảnh sát thế nào?" (a question in danger). Answering those by switching the
reply language loses the question and, worse, answers in the wrong language. The rule
(`bot.language.language_request`) is plain Python; here, when it finds no request, the
intent falls to the classifier's next choice.
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.language import language_request
from bot.nlu.base import StatelessComponent

CHANGE_LANGUAGE = "change_language"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class LanguageRequestCheck(StatelessComponent):
    """Replaces `change_language` by the next intent when the message asks for no language."""

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            top = message.get(INTENT) or {}
            if top.get(INTENT_NAME_KEY) != CHANGE_LANGUAGE:
                continue
            if language_request(message.get(TEXT) or "") is not None:
                continue
            ranking = [
                entry
                for entry in message.get(INTENT_RANKING_KEY) or []
                if entry.get(INTENT_NAME_KEY) != CHANGE_LANGUAGE
            ]
            if not ranking:
                continue
            message.set(INTENT, dict(ranking[0]), add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages
