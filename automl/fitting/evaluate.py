"""Fit one estimator, predict what the metric needs, score it, and time both steps."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from automl.fitting.preprocess import wrap
from automl.plugin.errors import UserError
from automl.plugin.types import FitContext, Metric, Model


@dataclass(frozen=True)
class Outcome:
    score: float
    fit_time: float
    predict_time: float
    estimator: Any
    prediction: Any = None  # what the metric scored
    # The parameters a learner that watched the evaluation rows settled on (Model.fit_watching).
    found: Mapping[str, Any] = field(default_factory=dict)


def probabilities(estimator: Any, X: Any, n_classes: int) -> np.ndarray:
    """A samples × classes probability matrix whose columns follow the encoded labels 0..n-1, even
    when a training fold lacked a class."""
    proba = np.asarray(estimator.predict_proba(X))
    classes = np.asarray(getattr(estimator, "classes_", np.arange(proba.shape[1])))
    if proba.shape[1] == n_classes and np.array_equal(classes, np.arange(n_classes)):
        return proba
    full = np.zeros((proba.shape[0], n_classes))
    full[:, classes.astype(int)] = proba
    return full


def blendable(
    estimator: Any, X: Any, prediction: Any, metric: Metric, n_classes: int | None
) -> Any:
    """Predictions that an ensemble can average, as float32: class probabilities (or, from a
    learner without them, its labels one-hot) for classification, values for regression.
    ``prediction``: what the metric scored on ``X``."""
    if n_classes is None:
        return np.asarray(prediction, dtype=np.float32)
    if metric.needs == "proba":
        return np.asarray(prediction, dtype=np.float32)
    if hasattr(estimator, "predict_proba"):
        return probabilities(estimator, X, n_classes).astype(np.float32)
    labels = np.asarray(prediction).astype(int)
    return np.eye(n_classes, dtype=np.float32)[labels]


def predict(estimator: Any, X: Any, metric: Metric, n_classes: int | None) -> np.ndarray:
    """What ``metric`` scores: labels, values, or a samples × classes probability matrix.

    Columns follow the encoded labels 0..n-1 even when a training fold lacked a class.
    """
    if metric.needs != "proba":
        return np.asarray(estimator.predict(X))
    if not hasattr(estimator, "predict_proba"):
        raise UserError(
            f"metric '{metric.name}' needs class probabilities, "
            f"which {type(estimator).__name__} does not give"
        )
    assert n_classes is not None
    return probabilities(estimator, X, n_classes)


def fit_and_score(
    model: Model,
    params: Mapping[str, Any],
    context: FitContext,
    metric: Metric,
    X_train: Any,
    y_train: np.ndarray,
    X_eval: Any,
    y_eval: np.ndarray,
    preprocess: bool = False,
    watch: bool = False,
    deadline: float | None = None,
) -> Outcome:
    """Build ``model`` with ``params``, fit on the training rows and score on the evaluation rows.

    With ``preprocess``, the estimator goes behind its family's preprocessing (for the final model,
    which must predict on raw rows); trials get folds that are preprocessed already. With
    ``watch``, a learner that stops early (``Model.fit_watching``) watches the evaluation rows,
    and stops by ``deadline`` (``time.monotonic()``), keeping the rounds it made.
    """
    estimator = model.build(params, context)
    if preprocess:
        estimator = wrap(estimator, model.preprocessing, X_train)
    start = time.perf_counter()
    found: Mapping[str, Any] = {}
    if watch and model.fit_watching is not None:
        X_seen, y_seen = _seen(X_eval, y_eval, y_train, context)
        found = dict(model.fit_watching(estimator, X_train, y_train, X_seen, y_seen, deadline))
    else:
        estimator.fit(X_train, y_train)
    fitted = time.perf_counter()
    prediction = predict(estimator, X_eval, metric, context.n_classes)
    predicted = time.perf_counter()
    extra = {"n_classes": context.n_classes} if metric.per_class else {}
    score = float(metric.score(y_eval, prediction, **extra))
    return Outcome(score, fitted - start, predicted - fitted, estimator, prediction, found)


def _seen(X: Any, y: np.ndarray, y_train: np.ndarray, context: FitContext) -> tuple[Any, Any]:
    """The evaluation rows a learner may watch: for classification, those whose class the
    training rows hold (a library's loss cannot score a class its model has never seen)."""
    if not context.task.is_classification:
        return X, y
    seen = np.isin(y, np.unique(y_train))
    if seen.all():
        return X, y
    rows = np.flatnonzero(seen)
    return (X.iloc[rows] if hasattr(X, "iloc") else X[rows]), y[rows]
