"""XGBoost and CatBoost, the built-in boosting plugin: native categorical columns with missing
values, scikit-learn's estimator contract, and saved rows that reload to their scores exactly."""

from __future__ import annotations

import pickle
import time

import numpy as np
import optuna
import pandas as pd
import pytest
from automl_boosting.catboost_native import (
    MISSING,
    CatBoostClassifier,
    CatBoostRegressor,
    as_catboost,
)
from sklearn.base import clone
from sklearn.utils.estimator_checks import check_estimator

from automl.fitting.fitter import Fitter
from automl.fitting.protocol import FitTrial, Open, Refit
from automl.plugin.task import Task
from automl.search.study import run
from automl.storage.records import FOUND, RESULT
from automl.storage.urls import open_storage
from tests.test_bag import _experiment, _score

SMALL = {"xgboost": {"n_estimators": 30}, "catboost": {"iterations": 30}}
ROUNDS = {"lightgbm": "n_estimators", "xgboost": "n_estimators", "catboost": "iterations"}


@pytest.mark.parametrize("model", ["lightgbm", "xgboost", "catboost"])
def test_boosting_stops_early_on_each_fold_and_the_refit_takes_the_rounds_found(
    tmp_path, model
) -> None:
    """A fast learning rate on 200 rows: the validation loss stops improving long before the cap
    of 2000 rounds; the trial records the mean over its folds, and the refit is given that."""
    exp = _experiment(tmp_path, model, "classification", "cv", final="refit", n_trials=1,
                      params={"learning_rate": 0.3})  # fmt: skip
    summary = run(exp)
    assert summary.complete == 1 and summary.test_score is not None
    storage = open_storage(exp.storage)
    study = optuna.load_study(study_name=summary.study, storage=storage)
    (trial,) = study.trials
    found = trial.user_attrs[FOUND][ROUNDS[model]]
    assert isinstance(found, int) and 1 <= found < 2000 - 50
    assert study.user_attrs[RESULT]["params"][ROUNDS[model]] == found
    # The trial's fold models are the early-stopped ones.
    fitter = Fitter()
    fitter.open(Open(exp))
    assert fitter.trial(FitTrial(0, trial.params | {"learning_rate": 0.3})).found == {
        ROUNDS[model]: found
    }


@pytest.mark.parametrize("final", ["bag", "refit"])
@pytest.mark.parametrize("task", ["classification", "regression"])
@pytest.mark.parametrize("model", ["xgboost", "catboost"])
def test_a_boosting_row_reloads_from_its_file_and_predicts_its_test_score_exactly(
    tmp_path, model, task, final
) -> None:
    """On a table with a categorical column and missing values, as the leaderboard scored it."""
    exp = _experiment(tmp_path, model, task, "cv", final=final)
    fitter = Fitter()
    desc = fitter.open(Open(exp))
    params = desc.space.complete({**dict(desc.portfolio[0]), **SMALL[model]})
    assert np.isfinite(fitter.trial(FitTrial(0, params)).score)
    saved = tmp_path / f"{model}.model"
    made = fitter.refit(Refit(params, str(saved), trial=0))
    assert made.final == final
    metric, kind = (
        ("accuracy", Task.BINARY) if task == "classification" else ("rmse", Task.REGRESSION)
    )
    assert _score(saved, tmp_path, metric, kind) == made.test_score  # to the last digit


def test_catboost_takes_missing_and_unseen_categories() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({
        "x": rng.normal(size=80),
        "colour": pd.Categorical(rng.choice(["red", "green", None], size=80)),
    })  # fmt: skip
    frame.loc[::7, "x"] = np.nan
    y = (frame["colour"].astype(str) == "red").astype(int).to_numpy()
    made, categorical = as_catboost(frame)
    assert categorical == ["colour"] and (made["colour"] == MISSING).any()
    assert made["x"].isna().any()  # numbers keep their missing values: CatBoost's own handling
    model = CatBoostClassifier({"iterations": 20}).fit(frame, y)
    unseen = frame.head(3).assign(colour=pd.Categorical(["blue", None, "red"]))
    assert model.predict_proba(unseen).shape == (3, 2)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict_proba(frame), model.predict_proba(frame))
    assert clone(model).get_params() == model.get_params()
    assert np.isclose(model.feature_importances_.sum(), 100.0)


@pytest.mark.parametrize("kind", [CatBoostClassifier, CatBoostRegressor])
def test_catboost_passes_scikit_learns_estimator_checks(kind) -> None:
    check_estimator(kind({"iterations": 10}))


@pytest.mark.parametrize("model", ["xgboost", "catboost", "lightgbm"])
def test_a_categorical_column_without_a_value_in_training_is_no_failure(tmp_path, model) -> None:
    """UCI anneal has columns missing in nearly every row: the fold whose validation rows hold
    the few values has none in training, and XGBoost refused a categorical column without
    categories, so every trial failed."""
    exp = _experiment(tmp_path, model, "classification", "cv")
    frame = pd.read_csv(tmp_path / "train.csv").assign(empty=None)
    frame.loc[0, "empty"] = "once"
    frame.to_csv(tmp_path / "train.csv", index=False)
    pd.read_csv(tmp_path / "test.csv").assign(empty="seen only in test").to_csv(
        tmp_path / "test.csv", index=False
    )
    fitter = Fitter()
    desc = fitter.open(Open(exp))
    params = desc.space.complete({**dict(desc.portfolio[0]), **SMALL.get(model, {})})
    assert np.isfinite(fitter.trial(FitTrial(0, params)).score)
    assert np.isfinite(fitter.refit(Refit(params, trial=0)).test_score)


@pytest.mark.parametrize("model", ["lightgbm", "xgboost", "catboost"])
def test_a_boosting_fit_past_its_deadline_stops_with_the_rounds_it_made(model) -> None:
    """A slow learning rate, 2,000 rounds, and a deadline already past: each library stops after
    its first round, and its model, so cut, predicts; the rounds found say so."""
    from sklearn.datasets import make_classification

    from automl.plugin.manager import load_registry
    from automl.plugin.types import FitContext

    X, y = make_classification(600, 8, random_state=0)
    learner = load_registry().model(model)
    params = {**learner.defaults, ROUNDS[model]: 2000, "learning_rate": 0.01}
    context = FitContext(task=Task.BINARY, seed=0, threads=1, n_classes=2)
    watch = learner.fit_watching
    assert watch is not None
    estimator = learner.build(params, context)
    found = watch(estimator, X[:400], y[:400], X[400:], y[400:], time.monotonic())
    assert found[ROUNDS[model]] <= 2
    assert estimator.predict(X[400:]).shape == (200,)
    unbounded = watch(learner.build(params, context), X[:400], y[:400], X[400:], y[400:], None)
    assert unbounded[ROUNDS[model]] > 10 * found[ROUNDS[model]]


def test_a_trial_of_a_boosting_learner_ends_by_its_cap_with_a_score(tmp_path) -> None:
    """The trial's cap, shared by its folds: a trial that would boost for longer completes by
    it, each fold cut short, instead of being stopped with nothing."""
    exp = _experiment(tmp_path, "catboost", "classification", "cv", final="refit")
    fitter = Fitter()
    desc = fitter.open(Open(exp))
    params = desc.space.complete({**dict(desc.portfolio[0]), "learning_rate": 0.005})
    result = fitter.trial(FitTrial(0, params, cap=1.0))
    assert np.isfinite(result.score)
    uncapped = fitter.trial(FitTrial(1, params))  # the same trial, boosting until it stops itself
    assert result.found["iterations"] < uncapped.found["iterations"]


def test_the_least_improvement_is_a_share_of_the_featureless_loss() -> None:
    """Log loss of the class shares (two equal classes: ln 2 nats), the target's variance for
    squared error, its standard deviation for RMSE; times the tolerance."""
    from automl.plugin import stopping

    tol = stopping.TOLERANCE
    assert stopping.least_improvement(["a", "b", "a", "b"], True) == pytest.approx(tol * np.log(2))
    assert stopping.least_improvement([7, 7, 7], True) == 0.0  # one class: nothing to lose
    y = np.array([1.0, 3.0, 5.0, 7.0])
    assert stopping.least_improvement(y, False) == pytest.approx(tol * 5.0)
    assert stopping.least_improvement(y, False, root=True) == pytest.approx(tol * np.sqrt(5.0))


@pytest.mark.parametrize("model", ["lightgbm", "xgboost", "catboost"])
def test_boosting_stops_once_the_validation_loss_only_creeps_down(model) -> None:
    """Classes that the features separate: the validation log loss falls towards 0 by ever
    smaller steps, so patience alone boosts to the cap (2,000 rounds); with the least improvement
    that counts, boosting stops far sooner, at the same validation accuracy."""
    from automl.plugin import stopping
    from automl.plugin.manager import load_registry
    from automl.plugin.types import FitContext

    X = np.random.default_rng(0).integers(0, 5, size=(1500, 4)).astype(float)
    y = (X[:, 0] + X[:, 1] + X[:, 2] >= 6).astype(int)  # a rule of the features, no noise
    learner = load_registry().model(model)
    params = {**learner.defaults, **learner.portfolio[0], ROUNDS[model]: 2000}
    context = FitContext(task=Task.BINARY, seed=0, threads=1, n_classes=2)
    watch = learner.fit_watching
    assert watch is not None

    def fit(tolerance: float) -> tuple[int, float]:
        stopping.TOLERANCE, before = tolerance, stopping.TOLERANCE
        try:
            estimator = learner.build(params, context)
            rounds = watch(estimator, X[:1000], y[:1000], X[1000:], y[1000:], None)[ROUNDS[model]]
        finally:
            stopping.TOLERANCE = before
        return rounds, float(np.mean(estimator.predict(X[1000:]) == y[1000:]))

    creeping, settled = fit(0.0), fit(stopping.TOLERANCE)
    assert settled[0] < creeping[0] / 2
    assert settled[1] == creeping[1] == 1.0
