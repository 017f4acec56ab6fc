"""``automl-leaderboard --format amlb``: a leaderboard's rows in the AutoML Benchmark's
``results.csv`` columns (amlb/results.py), checked on rows made by hand."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from automl.views import amlb


def _board(metric: str, direction: str, config: dict) -> pd.DataFrame:
    row = {
        "dataset": "kc1", "metric": metric, "direction": direction, "task": "binary",
        "best_params": "{}", "config": json.dumps(config), "updated": pd.Timestamp("2026-12-05"),
        "seed": 2, "error": "", "search_time": 10.0, "fit_time": 1.5, "predict_time": 0.5,
    }  # fmt: skip
    return pd.DataFrame(
        [
            {**row, "model": "lightgbm", "test_score": 0.8, "trials": 12, "pick": "*"},
            {**row, "model": "svm", "test_score": 0.7, "trials": 3, "pick": ""},
            {**row, "model": "knn", "test_score": float("nan"), "trials": 0, "pick": "",
             "error": "stopped by the budget"},
        ]
    )  # fmt: skip


def test_rows_carry_amlbs_columns_and_the_pick_is_the_framework_automl() -> None:
    config = {"budget": 60, "dataset": {"task_id": 3917, "fold": 4}}
    out = amlb.results(_board("accuracy", "maximize", config))
    assert list(out.columns[: len(amlb.COLUMNS)]) == amlb.COLUMNS
    assert out["framework"].tolist() == ["automl.lightgbm", "automl", "automl.svm", "automl.knn"]
    pick = out[out["framework"] == "automl"].iloc[0]
    assert pick["result"] == 0.8 and pick["metric"] == "acc" and pick["acc"] == 0.8
    assert pick["info"] == "pick: lightgbm" and pick["models_count"] == 12
    assert pick["id"] == "openml.org/t/3917" and pick["fold"] == 4 and pick["seed"] == 2
    assert pick["constraint"] == "60s" and pick["type"] == "binary" and pick["mode"] == "local"
    assert pick["training_duration"] == pytest.approx(11.5)
    assert pick["duration"] == pytest.approx(12.0)
    failed = out[out["framework"] == "automl.knn"].iloc[0]  # kept, as AMLB keeps a failure
    assert pd.isna(failed["result"]) and failed["info"] == "stopped by the budget"


def test_a_loss_is_negated_and_named_neg_as_amlb_does() -> None:
    out = amlb.results(_board("rmse", "minimize", {"search": {"n_trials": 20}}))
    assert set(out["metric"]) == {"neg_rmse"}
    scored = out.dropna(subset=["result"])
    assert scored["result"].tolist() == [-0.8, -0.8, -0.7]
    assert scored["rmse"].tolist() == [0.8, 0.8, 0.7]
    assert set(out["constraint"]) == {"20trials"} and set(out["id"]) == {"kc1"}
    assert set(out["fold"]) == {2}  # not an OpenML task: the seed, which cut the test split
