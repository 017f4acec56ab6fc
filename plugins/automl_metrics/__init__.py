"""Built-in metrics, each scikit-learn's own function with its direction and the tasks it suits.

Multiclass F1, recall and precision are macro averages; binary ones score the positive class (the
second label in sorted order). Defaults: accuracy for classification, RMSE for regression.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn import metrics as skm

from automl import Metric, Task, hookimpl
from automl.task import ALL_TASKS, CLASSIFICATION

REGRESSION = frozenset({Task.REGRESSION})


def _averaged(func: Any) -> Any:
    """Binary average for two classes, macro for more, decided from the labels seen."""

    def score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
        two = len(np.union1d(np.unique(y_true), np.unique(y_pred))) <= 2
        return func(y_true, y_pred, average="binary" if two else "macro", zero_division=0)

    return score


def _roc_auc(y_true: np.ndarray, proba: np.ndarray) -> float:
    if proba.shape[1] == 2:
        return skm.roc_auc_score(y_true, proba[:, 1])
    return skm.roc_auc_score(y_true, proba, multi_class="ovr", labels=np.arange(proba.shape[1]))


def _log_loss(y_true: np.ndarray, proba: np.ndarray) -> float:
    return skm.log_loss(y_true, proba, labels=np.arange(proba.shape[1]))


def _rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.sqrt(skm.mean_squared_error(y_true, y_pred)))


METRICS = (
    Metric("accuracy", skm.accuracy_score, "maximize", CLASSIFICATION, default_for=CLASSIFICATION),
    Metric("balanced_accuracy", skm.balanced_accuracy_score, "maximize", CLASSIFICATION),
    Metric("f1", _averaged(skm.f1_score), "maximize", CLASSIFICATION),
    Metric("recall", _averaged(skm.recall_score), "maximize", CLASSIFICATION),
    Metric("precision", _averaged(skm.precision_score), "maximize", CLASSIFICATION),
    Metric("roc_auc", _roc_auc, "maximize", CLASSIFICATION, needs="proba"),
    Metric("log_loss", _log_loss, "minimize", CLASSIFICATION, needs="proba"),
    Metric("mse", skm.mean_squared_error, "minimize", REGRESSION, needs="value"),
    Metric("rmse", _rmse, "minimize", REGRESSION, needs="value", default_for=REGRESSION),
    Metric("mae", skm.mean_absolute_error, "minimize", REGRESSION, needs="value"),
    Metric("r2", skm.r2_score, "maximize", REGRESSION, needs="value"),
)
assert {t for m in METRICS for t in m.default_for} == set(ALL_TASKS)


@hookimpl
def register_metrics(register: Any) -> None:
    for metric in METRICS:
        register(metric)
