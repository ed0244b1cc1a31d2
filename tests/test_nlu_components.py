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


def _featurised(storage, training, messages):
    """Tokenise and count-featurise training data and messages as the pipeline does."""
    from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer

    tokenizer = WhitespaceTokenizer.create(
        WhitespaceTokenizer.get_default_config(), storage, Resource("tok"), _context()
    )
    featurizer = _create(
        CountVectorsFeaturizer, storage, {"analyzer": "char_wb", "min_ngram": 2, "max_ngram": 4}, "cv"
    )
    tokenizer.process_training_data(training)
    featurizer.train(training)
    featurizer.process_training_data(training)
    tokenizer.process(messages)
    featurizer.process(messages)


_SVM_TRAINING = {
    "deposit_refund": ["lấy lại tiền ký quỹ", "tiền ký quỹ bao giờ được trả", "hoàn tiền ký quỹ ở đâu"],
    "complaint_employer": ["chủ không trả lương", "công ty nợ lương ba tháng", "chủ giữ lương không trả"],
    "greet": ["xin chào", "chào bạn", "hello"],
}


def test_svm_classifier_trains_persists_and_writes_calibrated_intents(storage):
    from bot.nlu.svm_classifier import SvmIntentClassifier

    training = TrainingData(
        [Message({"text": t, "intent": i}) for i, texts in _SVM_TRAINING.items() for t in texts]
    )
    message = Message({"text": "em muốn lấy lại tiền ký quỹ. với lại chủ nợ lương ba tháng"})
    _featurised(storage, training, [message])
    resource = Resource("svm")
    config = {**SvmIntentClassifier.get_default_config(), "calibration_folds": 3}
    SvmIntentClassifier.create(config, storage, resource, _context()).train(training)
    classifier = SvmIntentClassifier.load(config, storage, resource, _context())
    classifier.process([message])
    ranking = message.get("intent_ranking")
    assert message.get("intent") == ranking[0]
    assert {e["name"] for e in ranking} == set(_SVM_TRAINING)
    assert sum(e["confidence"] for e in ranking) == pytest.approx(1.0)
    clauses = message.get("clause_intents")
    assert [c["text"] for c in clauses] == ["em muốn lấy lại tiền ký quỹ", "chủ nợ lương ba tháng"]
    assert [c["intent"] for c in clauses] == ["deposit_refund", "complaint_employer"]


def test_untrained_svm_classifier_gives_no_intent_so_the_fallback_answers(storage):
    from bot.nlu.svm_classifier import SvmIntentClassifier

    message = Message({"text": "tiền ký quỹ"})
    _featurised(storage, TrainingData([Message({"text": "x y", "intent": "greet"})]), [message])
    classifier = SvmIntentClassifier.load(
        SvmIntentClassifier.get_default_config(), storage, Resource("never-trained"), _context()
    )
    classifier.process([message])
    assert message.get("intent") == {"name": None, "confidence": 0.0}


def test_multi_need_detector_adds_also_asked_and_puts_content_before_a_greeting(storage):
    from bot.nlu.multi_need import MultiNeedDetector

    detector = _create(MultiNeedDetector, storage)
    asked = Message({"text": "tiền ký quỹ, với lại lương bị nợ"})
    asked.set("intent", {"name": "deposit_refund", "confidence": 0.8})
    asked.set(
        "clause_intents",
        [
            {"intent": "deposit_refund", "confidence": 0.9},
            {"intent": "complaint_employer", "confidence": 0.85},
        ],
    )
    greeting = Message({"text": "chào bạn. cho em hỏi tiền ký quỹ"})
    greeting.set("intent", {"name": "greet", "confidence": 0.7})
    greeting.set("intent_ranking", [{"name": "greet", "confidence": 0.7}])
    greeting.set(
        "clause_intents",
        [{"intent": "greet", "confidence": 0.99}, {"intent": "deposit_refund", "confidence": 0.9}],
    )
    single = Message({"text": "tiền ký quỹ"})
    single.set("intent", {"name": "deposit_refund", "confidence": 0.9})
    detector.process([asked, greeting, single])
    assert asked.get("also_asked") == ["complaint_employer"]
    assert asked.as_dict(only_output_properties=True)["also_asked"] == ["complaint_employer"]
    assert greeting.get("intent") == {"name": "deposit_refund", "confidence": 0.9}
    assert greeting.get("intent_ranking")[1]["name"] == "greet"
    assert greeting.get("also_asked") is None
    assert single.get("also_asked") is None


def test_normalizer_adds_unaccented_copies_for_training_only(storage):
    normalizer = _create(VietnameseTextNormalizer, storage)
    data = TrainingData(
        [
            Message({"text": "Hoàn tiền ký quỹ", "intent": "deposit_refund"}),
            Message({"text": "hello", "intent": "greet"}),
            Message({"text": "chào bạn", "intent": "greet"}),
            Message({"text": "chao ban", "intent": "greet"}),
        ]
    )
    texts = sorted(
        (m.get("text"), m.get("intent")) for m in normalizer.process_training_data(data).intent_examples
    )
    assert texts == [
        ("chao ban", "greet"),
        ("chào bạn", "greet"),
        ("hello", "greet"),
        ("hoan tien ky quy", "deposit_refund"),
        ("hoàn tiền ký quỹ", "deposit_refund"),
    ]
    message = Message({"text": "Hoàn tiền"})
    assert len(normalizer.process([message])) == 1


def test_a_one_word_message_never_deletes_the_users_data(storage):
    from bot.nlu.svm_classifier import SvmIntentClassifier

    training = TrainingData(
        [
            Message({"text": t, "intent": i})
            for i, texts in {
                **_SVM_TRAINING,
                "forget_me": [
                    "yes forget me now",
                    "yes delete everything about me",
                    "xóa hết dữ liệu của tôi",
                ],
            }.items()
            for t in texts
        ]
    )
    short, explicit = Message({"text": "yes"}), Message({"text": "yes forget me"})
    _featurised(storage, training, [short, explicit])
    resource = Resource("svm-explicit")
    config = {**SvmIntentClassifier.get_default_config(), "calibration_folds": 3}
    SvmIntentClassifier.create(config, storage, resource, _context()).train(training)
    classifier = SvmIntentClassifier.load(config, storage, resource, _context())
    classifier.process([short, explicit])
    assert explicit.get("intent")["name"] == "forget_me"
    assert short.get("intent")["name"] != "forget_me"
    assert "forget_me" not in {e["name"] for e in short.get("intent_ranking")}


def test_an_unseen_one_word_message_is_a_keyword_below_the_fallback_threshold(storage):
    """ "eps" alone got the re-migration card at 0.98; a one-word training example ("hello")
    keeps its confidence, and the word is compared folded and without punctuation."""
    from bot.nlu.svm_classifier import SvmIntentClassifier

    training = TrainingData(
        [Message({"text": t, "intent": i}) for i, texts in _SVM_TRAINING.items() for t in texts]
    )
    keyword, known, known_shouted = (
        Message({"text": "quỹ"}),
        Message({"text": "hello"}),
        Message({"text": "Hello!"}),
    )
    _featurised(storage, training, [keyword, known, known_shouted])
    resource = Resource("svm-words")
    config = {**SvmIntentClassifier.get_default_config(), "calibration_folds": 3}
    SvmIntentClassifier.create(config, storage, resource, _context()).train(training)
    classifier = SvmIntentClassifier.load(config, storage, resource, _context())
    classifier.process([keyword, known, known_shouted])
    assert keyword.get("intent")["confidence"] <= config["unseen_word_confidence"]
    assert keyword.get("intent")["name"] == "deposit_refund"  # still ranked: the fallback uses it
    assert known.get("intent")["name"] == "greet"
    assert known.get("intent")["confidence"] > config["unseen_word_confidence"]
    assert known_shouted.get("intent")["confidence"] > config["unseen_word_confidence"]


def _unsure_danger(text, confidence, entities):
    message = Message({"text": text})
    message.set("intent", {"name": "emergency_help", "confidence": confidence})
    message.set(
        "intent_ranking",
        [
            {"name": "emergency_help", "confidence": confidence},
            {"name": "domestic_workers", "confidence": 0.1},
        ],
    )
    message.set("entities", entities)
    return message


def test_emergency_guard_does_not_believe_an_unsure_classifier_on_a_place_follow_up(storage):
    guard = _create(EmergencyIntentGuard, storage)
    doha = [{"entity": "country", "value": "QA"}, {"entity": "city", "value": "Doha"}]
    follow_up = _unsure_danger("and in Doha?", 0.4, doha)
    guard.process([follow_up])
    assert follow_up.get("intent")["name"] == "domestic_workers"
    assert [e["name"] for e in follow_up.get("intent_ranking")] == ["domestic_workers"]
    # Sure enough, no place, not worded as a follow-up, or a danger word: the urgent card stays.
    for message in (
        _unsure_danger("and in Doha?", 0.6, doha),
        _unsure_danger("and in there?", 0.4, []),
        _unsure_danger("Doha please", 0.4, doha),
        _unsure_danger("còn ở Doha bị đánh", 0.4, doha),
    ):
        guard.process([message])
        assert message.get("intent")["name"] == "emergency_help", message.get("text")


def test_svm_features_are_rasas_stacked_features_built_in_one_step(storage):
    """`_sparse_features` must give exactly what Rasa's `get_sparse_features` gives (the
    model was trained on it): here with a word and a char featurizer stacked."""
    from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer

    from bot.nlu.svm_classifier import _sparse_features

    training = TrainingData(
        [Message({"text": t, "intent": i}) for i, texts in _SVM_TRAINING.items() for t in texts]
    )
    message = Message({"text": "chủ công ty nợ lương, em muốn lấy lại tiền ký quỹ"})
    tokenizer = WhitespaceTokenizer.create(
        WhitespaceTokenizer.get_default_config(), storage, Resource("tok"), _context()
    )
    words = _create(CountVectorsFeaturizer, storage, {}, "cv-words")
    chars = _create(
        CountVectorsFeaturizer, storage, {"analyzer": "char_wb", "min_ngram": 2, "max_ngram": 4}, "cv-chars"
    )
    tokenizer.process_training_data(training)
    tokenizer.process([message])
    for featurizer in (words, chars):
        featurizer.train(training)
        featurizer.process([message])
    sequence, sentence = message.get_sparse_features("text")
    ours_sequence = _sparse_features(message, sequence=True)
    ours_sentence = _sparse_features(message, sequence=False)
    assert ours_sentence.shape == sentence.features.shape and ours_sentence.shape[1] > 10
    assert ours_sequence.shape == sequence.features.shape and ours_sequence.shape[0] == len(
        message.get("text_tokens")
    )
    assert (ours_sentence != sentence.features.tocsr()).nnz == 0
    assert (ours_sequence != sequence.features.tocsr()).nnz == 0
