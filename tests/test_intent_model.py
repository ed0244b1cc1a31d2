"""The intent model (plain scikit-learn), the clause splitter and the multi-need decision."""

from __future__ import annotations

import re

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer

from bot.nlu.intent_model import LinearIntentModel, best_threshold, fit_temperature, softmax
from bot.nlu.multi_need import also_asked, split_clauses

TRAINING = {
    "deposit_refund": [
        "lấy lại tiền ký quỹ",
        "tiền ký quỹ bao giờ được trả",
        "hoàn tiền ký quỹ ở đâu",
        "ngân hàng giữ tiền ký quỹ",
        "rút tiền ký quỹ cần giấy gì",
        "how do i get my deposit back",
    ],
    "complaint_employer": [
        "chủ không trả lương",
        "công ty nợ lương ba tháng",
        "chủ giữ lương không trả",
        "bị quỵt lương thì làm sao",
        "lương tháng này chưa trả",
        "my boss does not pay my salary",
    ],
    "greet": ["xin chào", "chào bạn", "hello", "hi", "chào ad", "chào buổi sáng"],
}


@pytest.fixture(scope="module")
def fitted():
    texts = [t for ts in TRAINING.values() for t in ts]
    labels = [label for label, ts in TRAINING.items() for _ in ts]
    vectorizer = CountVectorizer(analyzer="char_wb", ngram_range=(2, 4)).fit(texts)
    model = LinearIntentModel(calibration_folds=3).fit(vectorizer.transform(texts), labels)
    return vectorizer, model


def test_model_ranks_the_right_intent_first_with_confidences_that_sum_to_one(fitted):
    vectorizer, model = fitted
    ranking = model.rank(vectorizer.transform(["em muốn lấy lại tiền ký quỹ", "chủ nợ lương em"]))
    assert ranking[0][0][0] == "deposit_refund"
    assert ranking[1][0][0] == "complaint_employer"
    for row in ranking:
        assert sum(p for _, p in row) == pytest.approx(1.0)
        assert all(0.0 <= p <= 1.0 for _, p in row)
        assert [p for _, p in row] == sorted((p for _, p in row), reverse=True)
    assert model.cv_accuracy is not None and 0.0 <= model.cv_accuracy <= 1.0


def test_model_survives_a_round_trip_through_skops(fitted, tmp_path):
    vectorizer, model = fitted
    path = tmp_path / "model.skops"
    model.dump(path)
    loaded = LinearIntentModel.load(path)
    x = vectorizer.transform(["tiền ký quỹ", "hello"])
    assert loaded.temperature == model.temperature
    np.testing.assert_allclose(loaded.predict_proba(x), model.predict_proba(x))


def test_untrained_model_refuses_to_predict(fitted):
    vectorizer, _ = fitted
    with pytest.raises(ValueError, match="not trained"):
        LinearIntentModel().predict_proba(vectorizer.transform(["x"]))


def test_temperature_makes_overconfident_margins_humbler():
    # Margins that always favour column 0 by 5, but column 0 is right only 60 % of the time.
    scores = np.tile([5.0, 0.0], (100, 1))
    labels = np.array([0] * 60 + [1] * 40)
    t = fit_temperature(scores, labels)
    assert softmax(scores, t)[0, 0] == pytest.approx(0.6, abs=0.01)


def test_threshold_answers_only_where_right_answers_outweigh_wrong_ones():
    confidence = np.array([0.95, 0.9, 0.8, 0.5, 0.4, 0.3, 0.2])
    correct = np.array([True, True, True, True, False, False, True])
    assert best_threshold(confidence, correct) == pytest.approx(0.45)
    assert best_threshold(np.array([0.9, 0.8]), np.array([False, False])) == 1.0


def _tokens(text):
    return [(m.group(), m.start(), m.end()) for m in re.finditer(r"\w+", text)]


def _clauses(text):
    tokens = _tokens(text)
    return [" ".join(tokens[i][0] for i in clause) for clause in split_clauses(text, tokens)]


def test_clauses_split_on_sentence_punctuation_and_connectives():
    assert _clauses("cho em hỏi tiền ký quỹ. với lại lương bị nợ thì sao") == [
        "cho em hỏi tiền ký quỹ",
        "lương bị nợ thì sao",
    ]
    assert _clauses("how do I get my deposit back and my boss owes me wages") == [
        "how do I get my deposit back",
        "my boss owes me wages",
    ]
    assert _clauses("tien ky quy con luong bi no") == ["tien ky quy", "luong bi no"]


def test_unmarked_connective_is_a_word_in_a_message_typed_with_diacritics():
    # "con" (child) and "va" are not "còn"/"và" when the user types diacritics.
    assert _clauses("con tôi bị ốm tôi muốn về nước sớm") == ["con tôi bị ốm tôi muốn về nước sớm"]
    assert _clauses("tiền ký quỹ còn lương bị nợ") == ["tiền ký quỹ", "lương bị nợ"]


def test_a_comma_and_a_cause_end_a_clause():
    # "Chủ nợ lương ... nên tôi muốn về nước, ... ký quỹ": three needs, not one.
    assert _clauses("Chủ nợ lương ba tháng nên tôi muốn về nước, về rồi ký quỹ có lấy lại được không") == [
        "Chủ nợ lương ba tháng",
        "tôi muốn về nước",
        "về rồi ký quỹ có lấy lại được không",
    ]
    # A comma after a short greeting does not cut it off.
    assert _clauses("xin chào, mình là lao động ở Đài Loan") == ["xin chào mình là lao động ở Đài Loan"]
    # "nen" without marks is a connective only in a message typed without any.
    assert _clauses("tiền nền nhà còn nợ") == ["tiền nền nhà", "nợ"]


def test_also_asked_keeps_confident_other_content_topics_only():
    content = {"deposit_refund", "complaint_employer", "job_search"}
    clauses = [
        {"intent": "greet", "confidence": 0.99},
        {"intent": "deposit_refund", "confidence": 0.95},
        {"intent": "complaint_employer", "confidence": 0.8},
        {"intent": "job_search", "confidence": 0.3},
        {"intent": "complaint_employer", "confidence": 0.9},
    ]
    assert also_asked("deposit_refund", clauses, content) == ["complaint_employer"]
    assert also_asked("deposit_refund", clauses, content, min_confidence=0.2) == [
        "complaint_employer",
        "job_search",
    ]
    assert also_asked("deposit_refund", [], content) == []


def test_margins_equal_scikit_learns_transform_and_decision_function(fitted):
    """The fast margins: scikit-learn's up to rounding, for several rows, an empty row and
    a row of unknown words; and for two classes (one column from scikit-learn)."""
    from bot.nlu.intent_model import _margins

    vectorizer, model = fitted
    x = vectorizer.transform(
        ["em muốn lấy lại tiền ký quỹ", "", "qqqq", "chủ nợ lương, chào bạn", "hi hi hi"]
    )
    expected = _margins(model.svm, model.tfidf.transform(x))
    np.testing.assert_allclose(model._margins_of_counts(x), expected, rtol=1e-10, atol=1e-12)
    assert model._margins_of_counts(x).shape == (5, 3)
    for number in range(5):  # one row at a time: the quick path the server takes
        row = x[number].tocsr()
        assert row.has_canonical_format
        np.testing.assert_allclose(
            model._margins_of_counts(row), expected[number : number + 1], rtol=1e-10, atol=1e-12
        )

    texts = TRAINING["greet"] + TRAINING["deposit_refund"]
    labels = ["greet"] * 6 + ["deposit_refund"] * 6
    two = LinearIntentModel(calibration_folds=2).fit(vectorizer.transform(texts), labels)
    y = vectorizer.transform(["lấy lại tiền", "xin chào"])
    np.testing.assert_allclose(
        two._margins_of_counts(y), _margins(two.svm, two.tfidf.transform(y)), rtol=1e-10
    )
    np.testing.assert_allclose(
        two._margins_of_counts(y[:1].tocsr()), _margins(two.svm, two.tfidf.transform(y[:1])), rtol=1e-10
    )
