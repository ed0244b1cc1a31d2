"""Our Rasa graph components, run the way Rasa runs them (create, then process)."""

from __future__ import annotations

import pytest
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.emergency import EmergencyIntentGuard
from bot.nlu.folded_featurizer import FoldedCountVectorsFeaturizer
from bot.nlu.normalizer import VietnameseTextNormalizer
from bot.nlu.places import PlaceEntityExtractor
from bot.vietnamese.text import MAX_MESSAGE_CHARS


@pytest.fixture
def storage(tmp_path):
    return LocalModelStorage(tmp_path)


def _context():
    return ExecutionContext(graph_schema=None, model_id="test")


def _create(component, storage, config=None, name="node"):
    full = {**component.get_default_config(), **(config or {})}
    return component.create(full, storage, Resource(name), _context())


def test_normalizer_rewrites_text_for_training_and_prediction(storage):
    normalizer = _create(VietnameseTextNormalizer, storage)
    message = Message({"text": "  TIE\u0302\u0300N  Ký Quỹ "})
    normalizer.process([message])
    assert message.get("text") == "tiền ký quỹ"
    data = TrainingData([Message({"text": "HOÀN  Tiền", "intent": "deposit_refund"})])
    normalizer.process_training_data(data)
    assert data.training_examples[0].get("text") == "hoàn tiền"


def test_folded_featurizer_gives_accented_and_unaccented_text_the_same_features(storage):
    tokenizer = WhitespaceTokenizer.create(
        WhitespaceTokenizer.get_default_config(), storage, Resource("tok"), _context()
    )
    featurizer = _create(
        FoldedCountVectorsFeaturizer,
        storage,
        {"analyzer": "char_wb", "min_ngram": 2, "max_ngram": 4},
        "folded",
    )
    training = TrainingData(
        [
            Message({"text": "hoàn tiền ký quỹ", "intent": "deposit_refund"}),
            Message({"text": "bảo hiểm xã hội", "intent": "social_insurance_vn"}),
        ]
    )
    tokenizer.process_training_data(training)
    featurizer.train(training)
    accented, plain, other = (Message({"text": t}) for t in ("tiền ký quỹ", "tien ky quy", "bao hiem"))
    tokenizer.process([accented, plain, other])
    featurizer.process([accented, plain, other])

    def vector(m):
        return m.get_sparse_features("text")[1].features.toarray().tolist()

    assert vector(accented) == vector(plain)
    assert vector(accented) != vector(other)


def test_place_extractor_normalises_countries_and_provinces(storage):
    extractor = _create(PlaceEntityExtractor, storage)
    message = Message({"text": "em đi xứ kim chi về, quê ở quảng bình"})
    extractor.process([message])
    found = {(e["entity"], e["value"]) for e in message.get("entities")}
    assert ("country", "KR") in found
    assert ("province", "Quảng Trị") in found
    assert all(e["extractor"] == "PlaceEntityExtractor" for e in message.get("entities"))


def test_emergency_guard_overrides_an_unsure_classifier(storage):
    guard = _create(EmergencyIntentGuard, storage)
    message = Message({"text": "cuu em voi, ong chu danh em"})
    message.set("intent", {"name": "complaint_employer", "confidence": 0.31})
    message.set("intent_ranking", [{"name": "complaint_employer", "confidence": 0.31}])
    guard.process([message])
    assert message.get("intent") == {"name": "emergency_help", "confidence": 1.0}
    assert message.get("intent_ranking")[0]["name"] == "emergency_help"
    assert message.get("intent_ranking")[1]["name"] == "complaint_employer"


def test_emergency_guard_leaves_ordinary_questions_alone(storage):
    guard = _create(EmergencyIntentGuard, storage)
    message = Message({"text": "làm sao lấy lại tiền ký quỹ"})
    message.set("intent", {"name": "deposit_refund", "confidence": 0.9})
    guard.process([message])
    assert message.get("intent")["name"] == "deposit_refund"


def test_normalizer_reads_only_the_first_max_message_chars_and_says_so(storage):
    normalizer = _create(VietnameseTextNormalizer, storage)
    long_message = Message({"text": "a" * (MAX_MESSAGE_CHARS + 10)})
    short_message = Message({"text": "tiền ký quỹ"})
    normalizer.process([long_message, short_message])
    assert len(long_message.get("text")) == MAX_MESSAGE_CHARS
    assert long_message.as_dict(only_output_properties=True)["truncated"] is True
    assert "truncated" not in short_message.as_dict(only_output_properties=True)


def test_emergency_guard_keeps_the_displaced_topics_as_also_asked(storage):
    guard = _create(EmergencyIntentGuard, storage)
    message = Message(
        {"text": "chủ không trả lương 3 tháng, giữ hộ chiếu, không cho về. hợp đồng của em thì sao"}
    )
    message.set("intent", {"name": "complaint_employer", "confidence": 0.62})
    message.set(
        "intent_ranking",
        [
            {"name": "complaint_employer", "confidence": 0.62},
            {"name": "contract_liquidation", "confidence": 0.31},
            {"name": "greet", "confidence": 0.4},
            {"name": "early_return", "confidence": 0.05},
        ],
    )
    message.set("also_asked", ["deposit_refund", "complaint_employer"], add_to_output=True)
    guard.process([message])
    output = message.as_dict(only_output_properties=True)
    assert output["intent"] == {"name": "emergency_help", "confidence": 1.0}
    assert output["also_asked"] == ["complaint_employer", "contract_liquidation", "deposit_refund"]


def test_emergency_guard_adds_no_also_asked_when_nothing_was_displaced(storage):
    guard = _create(EmergencyIntentGuard, storage)
    message = Message({"text": "cuu em voi"})
    message.set("intent", {"name": "emergency_help", "confidence": 0.9})
    message.set(
        "intent_ranking",
        [{"name": "emergency_help", "confidence": 0.9}, {"name": "greet", "confidence": 0.1}],
    )
    guard.process([message])
    assert message.get("also_asked") is None
    assert message.get("intent")["name"] == "emergency_help"
