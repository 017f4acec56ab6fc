"""Every built-in model fits and predicts on both kinds of task, over its whole search space."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_diabetes, load_iris

from automl import FitContext, Task
from automl.plugin.space import resolve
from tests.conftest import sample_params

BUILTIN = [
    "dummy",
    "linear",
    "knn",
    "svm",
    "decision_tree",
    "random_forest",
    "extra_trees",
    "lightgbm",
]
BOOSTING = ["xgboost", "catboost"]
IRIS = load_iris(return_X_y=True)
DIABETES = load_diabetes(return_X_y=True)


def _sampled_params(model, task: Task, n: int) -> list[dict]:
    params = model.initial_params()
    for rounds in ("n_estimators", "iterations"):
        if rounds in params:
            params[rounds] = 20  # keep the test quick
    return sample_params(resolve(model.space, params, {}, task=task.value), n=n, seed=1)


@pytest.mark.parametrize("name", BUILTIN + BOOSTING)
@pytest.mark.parametrize("task", [Task.MULTICLASS, Task.REGRESSION])
def test_builtin_model_fits_over_its_space(registry, name: str, task: Task) -> None:
    model = registry.model(name)
    X, y = IRIS if task is Task.MULTICLASS else DIABETES
    context = FitContext(
        task=task, seed=0, threads=1, n_classes=3 if task.is_classification else None
    )
    for params in _sampled_params(model, task, n=3):
        estimator = model.build(params, context)
        clone(estimator)  # the scikit-learn estimator contract
        prediction = estimator.fit(X, y).predict(X)
        assert prediction.shape == y.shape and np.isfinite(prediction.astype(float)).all()


def test_svm_gives_probabilities_when_the_metric_needs_them(registry) -> None:
    X, y = IRIS
    context = FitContext(task=Task.MULTICLASS, seed=0, n_classes=3, needs_proba=True)
    svm = registry.model("svm").build({"kernel": "rbf", "C": 1.0, "gamma": 0.1}, context)
    proba = svm.fit(X, y).predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_every_classical_and_boosting_model_is_tested_here() -> None:
    import automl_boosting
    import automl_classical

    assert sorted(BUILTIN) == sorted(m.name for m in automl_classical.MODELS)
    assert sorted(BOOSTING) == sorted(m.name for m in automl_boosting.MODELS)
