from __future__ import annotations

import numpy as np
import pytest

from automl import Task
from automl.plugin.errors import UserError

Y = np.array([0, 1, 1, 0, 1])
PROBA = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.6, 0.4], [0.3, 0.7]])


@pytest.mark.parametrize(
    ("name", "direction", "prediction", "expected"),
    [
        ("accuracy", "maximize", np.array([0, 1, 0, 0, 1]), 0.8),
        ("balanced_accuracy", "maximize", np.array([0, 1, 0, 0, 1]), (1 + 2 / 3) / 2),
        ("f1", "maximize", np.array([0, 1, 0, 0, 1]), 0.8),
        ("recall", "maximize", np.array([0, 1, 0, 0, 1]), 2 / 3),
        ("precision", "maximize", np.array([0, 1, 0, 0, 1]), 1.0),
        ("roc_auc", "maximize", PROBA, 1.0),
        ("log_loss", "minimize", PROBA, -np.mean(np.log([0.9, 0.8, 0.6, 0.6, 0.7]))),
        ("brier", "minimize", PROBA, np.mean(np.square([0.1, 0.2, 0.4, 0.4, 0.3]))),
    ],
)
def test_classification_metrics(registry, name, direction, prediction, expected) -> None:
    metric = registry.metric(name)
    assert metric.direction == direction
    assert metric.score(Y, prediction) == pytest.approx(expected)


def test_brier_of_many_classes_sums_over_them_and_its_rows_average_to_it(registry) -> None:
    y = np.array([0, 2, 1])
    proba = np.array([[0.8, 0.1, 0.1], [0.2, 0.2, 0.6], [0.0, 1.0, 0.0]])
    brier = registry.metric("brier")
    expected = np.mean([0.04 + 0.01 + 0.01, 0.04 + 0.04 + 0.16, 0.0])
    assert brier.score(y, proba) == pytest.approx(expected)
    assert brier.per_row(y, proba).mean() == pytest.approx(expected)
    assert brier.per_row(Y, PROBA).mean() == pytest.approx(brier.score(Y, PROBA))


def test_multiclass_averages_are_macro_over_every_class(registry) -> None:
    y, pred = np.array([0, 1, 2, 2]), np.array([0, 2, 2, 2])
    assert registry.metric("recall").score(y, pred, n_classes=3) == pytest.approx((1 + 0 + 1) / 3)
    # a split holding two of three classes is still scored as multiclass, not as binary
    y, pred = np.array([0, 2, 2]), np.array([0, 2, 0])
    assert registry.metric("recall").score(y, pred, n_classes=3) == pytest.approx((1 + 0 + 0.5) / 3)


@pytest.mark.parametrize(
    ("name", "direction", "expected"),
    [
        ("mse", "minimize", 0.25),
        ("rmse", "minimize", 0.5),
        ("mae", "minimize", 0.5),
        ("r2", "maximize", 0.0),
    ],
)
def test_regression_metrics(registry, name, direction, expected) -> None:
    metric = registry.metric(name)
    assert metric.direction == direction
    assert metric.score(np.array([1.0, 2.0]), np.array([1.5, 1.5])) == pytest.approx(expected)


def test_defaults_per_task(registry) -> None:
    assert registry.metric_for("auto", Task.MULTICLASS).name == "accuracy"
    assert registry.metric_for("auto", Task.BINARY).name == "accuracy"
    assert registry.metric_for("auto", Task.REGRESSION).name == "rmse"


def test_a_regression_metric_on_classification_is_a_user_error(registry) -> None:
    with pytest.raises(
        UserError,
        match="metric 'rmse' does not apply to multiclass tasks; metrics for multiclass: accuracy",
    ):
        registry.metric_for("rmse", Task.MULTICLASS)
