"""Built-in metrics, each scikit-learn's own function with its direction and the tasks it suits.

Multiclass F1, recall and precision are macro averages; binary ones score the positive class (the
second label in sorted order). Defaults: accuracy for classification, RMSE for regression.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from automl import ALL_TASKS, CLASSIFICATION, Metric, Task, hookimpl

REGRESSION = frozenset({Task.REGRESSION})


@dataclass(frozen=True)
class _Sklearn:
    """scikit-learn's metric function ``name``, imported when first called: registering the
    metrics (what every command does first, to know their names) then costs no import of
    scikit-learn, which the ``automl`` command leaves to its worker while it starts."""

    name: str

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from sklearn import metrics

        return getattr(metrics, self.name)(*args, **kwargs)


def _averaged(func: Any) -> Any:
    """The positive class's score for two classes; the macro average over all classes for more."""

    def score(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int | None = None) -> float:
        n = n_classes or len(np.union1d(y_true, y_pred))
        if n <= 2:
            return func(y_true, y_pred, average="binary", pos_label=1, zero_division=0)
        return func(y_true, y_pred, average="macro", labels=np.arange(n), zero_division=0)

    return score


def _roc_auc(y_true: np.ndarray, proba: np.ndarray) -> float:
    if proba.shape[1] == 2:
        return _Sklearn("roc_auc_score")(y_true, proba[:, 1])
    return _Sklearn("roc_auc_score")(
        y_true, proba, multi_class="ovr", labels=np.arange(proba.shape[1])
    )


def _log_loss(y_true: np.ndarray, proba: np.ndarray) -> float:
    return _Sklearn("log_loss")(y_true, proba, labels=np.arange(proba.shape[1]))


def _brier(y_true: np.ndarray, proba: np.ndarray) -> float:
    return _Sklearn("brier_score_loss")(y_true, proba, labels=np.arange(proba.shape[1]))


def _brier_rows(y_true: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """Brier's per-row terms as scikit-learn averages them: the positive class's squared error
    for two classes, the sum over classes for more."""
    proba = np.asarray(proba, dtype=float)
    truth = np.eye(proba.shape[1])[np.asarray(y_true, dtype=int)]
    if proba.shape[1] == 2:
        return (proba[:, 1] - truth[:, 1]) ** 2
    return ((proba - truth) ** 2).sum(axis=1)


def _rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.sqrt(_Sklearn("mean_squared_error")(y_true, y_pred)))


def _hits(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    return (np.asarray(y_true) == np.asarray(y_pred)).astype(float)


def _squares(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    return (np.asarray(y_true, dtype=float) - np.asarray(y_pred, dtype=float)) ** 2


def _absolute(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    return np.abs(np.asarray(y_true, dtype=float) - np.asarray(y_pred, dtype=float))


METRICS = (
    Metric(
        "accuracy",
        _Sklearn("accuracy_score"),
        "maximize",
        CLASSIFICATION,
        default_for=CLASSIFICATION,
        per_row=_hits,
    ),  # fmt: skip
    Metric("balanced_accuracy", _Sklearn("balanced_accuracy_score"), "maximize", CLASSIFICATION),
    Metric("f1", _averaged(_Sklearn("f1_score")), "maximize", CLASSIFICATION, per_class=True),
    Metric(
        "recall", _averaged(_Sklearn("recall_score")), "maximize", CLASSIFICATION, per_class=True
    ),
    Metric(
        "precision",
        _averaged(_Sklearn("precision_score")),
        "maximize",
        CLASSIFICATION,
        per_class=True,
    ),
    Metric("roc_auc", _roc_auc, "maximize", CLASSIFICATION, needs="proba"),
    Metric("log_loss", _log_loss, "minimize", CLASSIFICATION, needs="proba"),
    Metric("brier", _brier, "minimize", CLASSIFICATION, needs="proba", per_row=_brier_rows),
    Metric(
        "mse",
        _Sklearn("mean_squared_error"),
        "minimize",
        REGRESSION,
        needs="value",
        per_row=_squares,
    ),
    Metric(
        "rmse",
        _rmse,
        "minimize",
        REGRESSION,
        needs="value",
        default_for=REGRESSION,
        per_row=_squares,
        from_mean=np.sqrt,
    ),  # fmt: skip
    Metric(
        "mae",
        _Sklearn("mean_absolute_error"),
        "minimize",
        REGRESSION,
        needs="value",
        per_row=_absolute,
    ),  # fmt: skip
    Metric("r2", _Sklearn("r2_score"), "maximize", REGRESSION, needs="value"),
)
assert {t for m in METRICS for t in m.default_for} == set(ALL_TASKS)


@hookimpl
def register_metrics(register: Any) -> None:
    for metric in METRICS:
        register(metric)
