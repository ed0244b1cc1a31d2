"""The intent model in plain scikit-learn: TF-IDF + linear SVM with calibrated confidences.

Why this and not Rasa's LogisticRegressionClassifier on raw counts: on the held-out set it
scored 0.985 against 0.948, fits in about a second instead of fifteen, and predicts in about
a millisecond (../shared/reference/reviews/nlu-options-2026-11.md §3, §4.1).

An SVM gives margins, not probabilities, and the FallbackClassifier and the emergency guard
read `intent.confidence` as a probability. So the margins go through a softmax whose
temperature is fitted by cross-validation on the training data (minimum log-loss on
out-of-fold margins). One scalar keeps the SVM's ranking unchanged and makes 0.6 mean
"right about six times in ten" on text the model has not seen.

Folds are grouped by the folded text of each example, so that an example and its
unaccented copy (bot.nlu.normalizer adds them) never sit on both sides of a split: that
would make the out-of-fold margins look surer than they are.

Kept free of Rasa so it can be fitted, scored and tested on plain matrices.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse
from scipy.optimize import minimize_scalar
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.svm import LinearSVC

# The temperature is searched in this range (log scale): below it confidences are 0 or 1,
# above it every intent looks equally likely.
_TEMPERATURE_BOUNDS = (1e-3, 100.0)
# The only types the persisted file may contain; anything else is refused on load.
_TRUSTED_TYPES = [
    "sklearn.feature_extraction.text.TfidfTransformer",
    "sklearn.svm._classes.LinearSVC",
    "scipy.sparse._csr.csr_matrix",
]


def softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    """Row-wise softmax of `scores / temperature`, numerically stable."""
    z = np.asarray(scores, dtype=float) / temperature
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def fit_temperature(scores: np.ndarray, labels: np.ndarray) -> float:
    """The temperature that minimises the log-loss of softmax(scores / T) on `labels`.

    `labels` are column indices into `scores`.
    """
    rows = np.arange(len(labels))

    def log_loss(log_t: float) -> float:
        p = softmax(scores, float(np.exp(log_t)))[rows, labels]
        return float(-np.log(np.clip(p, 1e-12, 1.0)).mean())

    low, high = (np.log(b) for b in _TEMPERATURE_BOUNDS)
    result = minimize_scalar(log_loss, bounds=(low, high), method="bounded")
    return float(np.exp(result.x))


def best_threshold(confidence: np.ndarray, correct: np.ndarray, wrong_cost: float = 1.0) -> float:
    """The confidence threshold that maximises (right answers) - wrong_cost * (wrong answers).

    Below the threshold the bot says it is unsure and offers choices (worth 0); above it a
    right answer is worth 1 and a confidently wrong one costs `wrong_cost`: with 1, the bot
    should answer when it is more likely right than wrong.
    """
    order = np.argsort(-confidence)
    gains = np.where(correct[order], 1.0, -wrong_cost)
    totals = np.cumsum(gains)
    best = int(np.argmax(totals))
    if totals[best] <= 0:
        return 1.0
    # Halfway between the last answered message and the first refused one.
    following = confidence[order[best + 1]] if best + 1 < len(order) else 0.0
    return float((confidence[order[best]] + following) / 2)


@dataclass
class LinearIntentModel:
    """Sublinear TF-IDF (L2) + LinearSVC, with a softmax temperature fitted by CV."""

    c: float = 0.5
    calibration_folds: int = 5
    random_state: int = 42
    temperature: float = 1.0
    tfidf: TfidfTransformer = field(default_factory=lambda: TfidfTransformer(sublinear_tf=True, norm="l2"))
    svm: LinearSVC | None = None
    # Out-of-fold figures of the last `fit` (not persisted): what the fallback threshold in
    # config.yml is tuned from.
    cv_accuracy: float | None = None
    cv_threshold: float | None = None

    def _new_svm(self) -> LinearSVC:
        return LinearSVC(C=self.c, class_weight="balanced", random_state=self.random_state)

    @property
    def classes(self) -> list[str]:
        return [] if self.svm is None else [str(c) for c in self.svm.classes_]

    def fit(
        self, counts: scipy.sparse.spmatrix, labels: Sequence[str], groups: Sequence[str] | None = None
    ) -> LinearIntentModel:
        """Fit on count features (one row per example); `groups` keep near-copies together in CV."""
        y = np.asarray(labels)
        x = self.tfidf.fit_transform(counts)
        self.svm = self._new_svm().fit(x, y)
        oof = self.out_of_fold_scores(x, y, groups)
        if oof is not None:
            index = {c: i for i, c in enumerate(self.svm.classes_)}
            truth = np.array([index[label] for label in y])
            self.temperature = fit_temperature(oof, truth)
            confidence = softmax(oof, self.temperature)
            correct = confidence.argmax(axis=1) == truth
            self.cv_accuracy = float(correct.mean())
            self.cv_threshold = best_threshold(confidence.max(axis=1), correct)
        return self

    def out_of_fold_scores(
        self, x: scipy.sparse.spmatrix, y: np.ndarray, groups: Sequence[str] | None
    ) -> np.ndarray | None:
        """SVM margins for every example from a model that did not see it (None: too few)."""
        classes, counts = np.unique(y, return_counts=True)
        folds = min(self.calibration_folds, int(counts.min()))
        if folds < 2:
            return None
        group_ids = np.asarray(groups) if groups is not None else np.arange(len(y))
        splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=self.random_state)
        scores = np.zeros((len(y), len(classes)))
        for train, test in splitter.split(x, y, group_ids):
            svm = self._new_svm().fit(x[train], y[train])
            fold_scores = _margins(svm, x[test])
            columns = [int(np.searchsorted(classes, c)) for c in svm.classes_]
            # A class missing from a fold's training part keeps the lowest margin.
            scores[np.ix_(test, np.arange(len(classes)))] = fold_scores.min() - 1.0
            scores[np.ix_(test, columns)] = fold_scores
        return scores

    def predict_proba(self, counts: scipy.sparse.spmatrix) -> np.ndarray:
        """Calibrated confidences, one row per input row, columns in `classes` order."""
        if self.svm is None:
            raise ValueError("the intent model is not trained")
        return softmax(self._margins_of_counts(counts), self.temperature)

    def _margins_of_counts(self, counts: scipy.sparse.spmatrix) -> np.ndarray:
        """`_margins(svm, tfidf.transform(counts))`, computed on the non-zero counts only.

        Per message scikit-learn's transform and decision function spend most of their time
        checking and converting their input (a tenth of a turn on the server, for one row of
        a few hundred non-zero counts among tens of thousands of columns); the arithmetic is
        the same here: sublinear tf (1 + log count) times idf, each row scaled to unit
        length, then the linear scores. Equal to scikit-learn's up to rounding
        (tests/test_intent_model.py).
        """
        assert self.svm is not None
        weights = self.__dict__.get("_weights")
        if weights is None or weights[0] is not self.svm or weights[1] is not self.tfidf:
            coef = np.asarray(self.svm.coef_, dtype=float)
            # scikit-learn's `idf_` is a property that rebuilds the array from a sparse
            # diagonal matrix on every read: read once.
            idf = np.asarray(self.tfidf.idf_, dtype=float) if self.tfidf.use_idf else None
            weights = (
                self.svm,
                self.tfidf,
                np.ascontiguousarray(coef.T),
                np.asarray(self.svm.intercept_, dtype=float),
                idf,
            )
            self.__dict__["_weights"] = weights
        _, _, coef_t, intercept, idf = weights
        if (
            scipy.sparse.isspmatrix_csr(counts)
            and counts.shape[0] == 1
            and counts.has_canonical_format
            and self.tfidf.norm in ("l2", None)
        ):
            # One message (the server's case): the same arithmetic on its non-zero counts
            # alone, without building the intermediate matrices.
            present = counts.data != 0
            columns, values = counts.indices[present], counts.data[present].astype(float)
            if self.tfidf.sublinear_tf:
                values = np.log(values) + 1.0
            if idf is not None:
                values = values * idf[columns]
            length = float(np.sqrt(values @ values))
            if self.tfidf.norm == "l2" and length > 0.0:
                values = values / length
            row = (values @ coef_t[columns] + intercept)[None, :]
            if row.shape[1] == 1:
                row = np.column_stack([-row[:, 0], row[:, 0]])
            return row
        x = scipy.sparse.csr_matrix(counts, dtype=float, copy=True)
        x.sum_duplicates()
        x.eliminate_zeros()
        if self.tfidf.sublinear_tf:
            x.data = np.log(x.data) + 1.0
        if idf is not None:
            x.data *= idf[x.indices]
        if self.tfidf.norm == "l2":
            lengths = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
            lengths[lengths == 0.0] = 1.0
            x.data /= np.repeat(lengths, np.diff(x.indptr))
        elif self.tfidf.norm is not None:
            return _margins(self.svm, self.tfidf.transform(counts))
        scores = np.asarray(x @ coef_t) + intercept
        if scores.shape[1] == 1:  # two classes: scikit-learn gives one column
            scores = np.column_stack([-scores[:, 0], scores[:, 0]])
        return scores

    def rank(self, counts: scipy.sparse.spmatrix, length: int = 10) -> list[list[tuple[str, float]]]:
        """For each row, the `length` most likely intents with their confidence, best first."""
        out = []
        classes = self.classes
        for row in self.predict_proba(counts):
            order = np.argsort(-row)[: length if length > 0 else None]
            out.append([(classes[i], float(row[i])) for i in order])
        return out

    def dump(self, path: Path) -> None:
        import skops.io as sio

        sio.dump({"tfidf": self.tfidf, "svm": self.svm, "temperature": self.temperature}, path)

    @classmethod
    def load(cls, path: Path, **config: Any) -> LinearIntentModel:
        """Read a model written by `dump`; refuses files holding any other type."""
        import skops.io as sio

        unknown = set(sio.get_untrusted_types(file=path)) - set(_TRUSTED_TYPES)
        if unknown:
            raise ValueError(f"{path}: unexpected types {sorted(unknown)}")
        state = sio.load(path, trusted=_TRUSTED_TYPES)
        return cls(**config, temperature=float(state["temperature"]), tfidf=state["tfidf"], svm=state["svm"])


def _margins(svm: LinearSVC, x: scipy.sparse.spmatrix) -> np.ndarray:
    """Decision values as an (n, classes) array, also for two classes (sklearn gives (n,))."""
    scores = svm.decision_function(x)
    if scores.ndim == 1:
        scores = np.column_stack([-scores, scores])
    return scores
