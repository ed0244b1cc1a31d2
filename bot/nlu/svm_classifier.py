"""The intent classifier graph component: a thin Rasa shell around `bot.nlu.intent_model`.

It reads the same sparse sentence features as Rasa's LogisticRegressionClassifier (the four
count featurizers in config.yml, stacked), fits `LinearIntentModel` (sublinear TF-IDF + L2 +
LinearSVC, confidences from a softmax with a CV-fitted temperature), persists it with skops
in the model storage as Rasa's LR does, and writes `intent` and `intent_ranking`.

An intent that acts on the user's data (`forget_me` deletes the conversation) is never
taken from a one-word message: "yes" and "ok" occur in the training data only inside
"yes forget me now" / "ok xoa het di", so the SVM reads them as a request to delete with
high confidence. Such a message gets the next intent in the ranking instead (usually too
unsure, so the fallback offers choices); the `/forget` command and the button still work.

A one-word message that is not itself a training example ("eps", "no", "k") is a keyword,
not a question: the SVM still ranks it, often with a confidence near 1 learned from longer
examples, so its confidences are capped at `unseen_word_confidence` (below the fallback
threshold) and the fallback looks the word up in the cards and offers them. One-word
training examples ("hi", "ok", "bhxh" where present) keep their confidence.

It also classifies the clauses of a message that asks several things (see
`bot.nlu.multi_need`): a clause's count features are the sum of its tokens' sequence
features, so the same model scores it without featurising again.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import numpy as np
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.featurizer import Featurizer
from rasa.shared.nlu.constants import (
    FEATURE_TYPE_SENTENCE,
    FEATURE_TYPE_SEQUENCE,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.intent_model import LinearIntentModel
from bot.nlu.multi_need import CLAUSE_INTENTS_KEY, MIN_CLAUSE_TOKENS, split_clauses
from bot.vietnamese.text import fold

logger = logging.getLogger(__name__)


def _sparse_features(message: Message, sequence: bool) -> scipy.sparse.csr_matrix | None:
    """The count featurizers' sparse features of the text, side by side in the order they
    were added: what `message.get_sparse_features(TEXT)` returns, built in one step.

    Rasa's way deep-copies the first featurizer's matrix, then stacks the others on one by
    one through `scipy.sparse.hstack` (a general block-matrix builder), and builds the
    sequence and the sentence features together even when one is wanted: 10 % of a turn
    on the server (docs/benchmarks.md, load section). Here the COO parts of the wanted kind
    are concatenated with their column offsets: the same matrix
    (tests/test_svm_classifier.py compares the two).
    """
    wanted = FEATURE_TYPE_SEQUENCE if sequence else FEATURE_TYPE_SENTENCE
    parts = [
        f.features for f in message.features if f.attribute == TEXT and f.type == wanted and f.is_sparse()
    ]
    if not parts:
        return None
    if len(parts) == 1:
        return scipy.sparse.csr_matrix(parts[0])
    if not sequence:
        # One row: each part's columns, shifted past the parts before it, in order (so
        # sorted, without duplicates), in a single matrix construction.
        columns, data, offset = [], [], 0
        for part in parts:
            coo = part.tocoo()
            order = np.argsort(coo.col, kind="stable")
            columns.append(coo.col[order].astype(np.int64) + offset)
            data.append(coo.data[order])
            offset += part.shape[1]
        values = np.concatenate(data)
        return scipy.sparse.csr_matrix(
            (values, np.concatenate(columns), np.array([0, len(values)])), shape=(1, offset)
        )
    rows, columns, data, offset = [], [], [], 0
    for part in parts:
        coo = part.tocoo()
        rows.append(coo.row)
        columns.append(coo.col + offset)
        data.append(coo.data)
        offset += part.shape[1]
    shape = (parts[0].shape[0], offset)
    return scipy.sparse.csr_matrix(
        (np.concatenate(data), (np.concatenate(rows), np.concatenate(columns))), shape=shape
    )


def _word_key(text: str) -> str:
    """A message as its folded words: "Ok!" and "ok" are the same one-word message."""
    return " ".join(re.findall(r"\w+", fold(text.lower())))


def without_unsupported(
    ranking: list[tuple[str, float]], word_count: int, explicit: set[str], min_words: int
) -> list[tuple[str, float]]:
    """The ranking without the `explicit` intents when the message is too short to ask for them."""
    if word_count >= min_words:
        return ranking
    return [(name, p) for name, p in ranking if name not in explicit]


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class SvmIntentClassifier(IntentClassifier, GraphComponent):
    """Linear SVM over TF-IDF of the count features, with calibrated confidences."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [Featurizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "C": 0.5,
            "calibration_folds": 5,
            "random_state": 42,
            "ranking_length": 10,
            # Intents a message must ask for in at least `explicit_min_words` words.
            "explicit_intents": ["forget_me"],
            "explicit_min_words": 2,
            # Cap for a one-word message that is no one-word training example.
            "unseen_word_confidence": 0.3,
        }

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: LinearIntentModel | None = None,
    ) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.model = model or LinearIntentModel(**self._model_config())
        self.known_words: set[str] = set()

    def _model_config(self) -> dict[str, Any]:
        return {
            "c": float(self.config["C"]),
            "calibration_folds": int(self.config["calibration_folds"]),
            "random_state": int(self.config["random_state"]),
        }

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SvmIntentClassifier:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT) is not None]
        rows = [_sparse_features(e, sequence=False) for e in examples]
        kept = [(e, row) for e, row in zip(examples, rows, strict=True) if row is not None]
        if not kept:
            logger.debug("No featurised intent examples: the intent classifier is left untrained.")
            return self._resource
        x = scipy.sparse.vstack([row for _, row in kept]).tocsr()
        labels = [e.get(INTENT) for e, _ in kept]
        # An example and its unaccented copy fold to the same text: one CV group.
        groups = [" ".join(fold(e.get(TEXT)).split()) for e, _ in kept]
        self.model.fit(x, labels, groups)
        self.known_words = {key for key in map(_word_key, groups) if key and " " not in key}
        if self.model.cv_accuracy is not None:
            logger.info(
                "Intent classifier, cross-validated on the training data: accuracy %.3f, "
                "softmax temperature %.3f, fallback threshold with the most right-minus-wrong "
                "answers %.2f (compare FallbackClassifier.threshold in config.yml).",
                self.model.cv_accuracy,
                self.model.temperature,
                self.model.cv_threshold,
            )
        self.persist()
        return self._resource

    def persist(self) -> None:
        with self._model_storage.write_to(self._resource) as directory:
            self.model.dump(directory / f"{self._resource.name}.skops")
            (directory / "known_words.json").write_text(
                json.dumps(sorted(self.known_words), ensure_ascii=False), encoding="utf-8"
            )

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> SvmIntentClassifier:
        component = cls(config, model_storage, resource)
        try:
            with model_storage.read_from(resource) as directory:
                component.model = LinearIntentModel.load(
                    directory / f"{resource.name}.skops", **component._model_config()
                )
                words_file = directory / "known_words.json"
                if words_file.exists():
                    component.known_words = set(json.loads(words_file.read_text(encoding="utf-8")))
        except ValueError as error:
            # Rasa's own classifiers do the same: an untrained node predicts nothing.
            logger.warning("Intent classifier not loaded (%s): it will predict no intent.", error)
        return component

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            row = _sparse_features(message, sequence=False)
            ranking = [] if row is None or self.model.svm is None else self._ranking(message, row)
            if not ranking:
                # As Rasa's own classifiers do: no intent, so the fallback answers.
                message.set(
                    INTENT, {INTENT_NAME_KEY: None, PREDICTED_CONFIDENCE_KEY: 0.0}, add_to_output=True
                )
                message.set(INTENT_RANKING_KEY, [], add_to_output=True)
                continue
            entries = [{INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: p} for name, p in ranking]
            message.set(INTENT, entries[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, entries, add_to_output=True)
            message.set(CLAUSE_INTENTS_KEY, self._classify_clauses(message))
        return messages

    def _ranking(self, message: Message, row: scipy.sparse.csr_matrix) -> list[tuple[str, float]]:
        ranking = without_unsupported(
            self.model.rank(row, len(self.model.classes))[0],
            len(message.get(TOKENS_NAMES[TEXT]) or []),
            set(self.config["explicit_intents"]),
            int(self.config["explicit_min_words"]),
        )
        tokens = message.get(TOKENS_NAMES[TEXT]) or []
        text = message.get(TEXT)
        if len(tokens) == 1 and isinstance(text, str) and _word_key(text) not in self.known_words:
            cap = float(self.config["unseen_word_confidence"])
            ranking = [(name, min(p, cap)) for name, p in ranking]
        length = int(self.config["ranking_length"])
        return ranking[:length] if length > 0 else ranking

    def _classify_clauses(self, message: Message) -> list[dict[str, Any]]:
        """Intent and confidence of each clause of enough words, when there are several."""
        tokens = message.get(TOKENS_NAMES[TEXT]) or []
        text = message.get(TEXT) or ""
        clauses = split_clauses(text, [(t.text, t.start, t.end) for t in tokens])
        if len(clauses) < 2:
            return []
        scored = [c for c in clauses if len(c) >= MIN_CLAUSE_TOKENS]
        if not scored:
            return []
        # Most messages have one clause: the sequence features are stacked only when needed.
        sequence = _sparse_features(message, sequence=True)
        if sequence is None or sequence.shape[0] != len(tokens):
            return []
        # Each clause's row is the sum of its tokens' rows: one sparse product with a 0/1
        # selection matrix (a dense sum per clause would walk the whole vocabulary).
        select = scipy.sparse.csr_matrix(
            (
                np.ones(sum(len(c) for c in scored)),
                ([i for i, c in enumerate(scored) for _ in c], [t for c in scored for t in c]),
            ),
            shape=(len(scored), sequence.shape[0]),
        )
        rows = (select @ sequence).tocsr()
        probabilities = self.model.predict_proba(rows)
        classes = self.model.classes
        out = []
        for clause, row in zip(scored, probabilities, strict=True):
            best = int(np.argmax(row))
            out.append(
                {
                    "text": text[tokens[clause[0]].start : tokens[clause[-1]].end],
                    "intent": classes[best],
                    "confidence": float(row[best]),
                }
            )
        return out
