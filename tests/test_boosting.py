"""XGBoost and CatBoost, the built-in boosting plugin: native categorical columns with missing
values, scikit-learn's estimator contract, and saved rows that reload to their scores exactly."""

from __future__ import annotations

import pickle

import numpy as np
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
from tests.test_bag import _experiment, _score

SMALL = {"xgboost": {"n_estimators": 30}, "catboost": {"iterations": 30}}


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
