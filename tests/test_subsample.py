"""Subsample-first search (FLAML's sample-size growth): on a large table a learner's first trials
see a seeded sample of each fold's training rows, recorded on the trial; the best configuration
on a sample is measured again on more rows; a final model is one fitted on a sample only where the
budget leaves no time for the refit, and its row says so."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from sklearn.datasets import make_classification

from automl.fitting.fitter import Fitter, sample
from automl.fitting.protocol import FitTrial, Open, Refit
from automl.search.allocation import FIRST_SAMPLE
from automl.storage.records import ROWS
from automl.storage.urls import open_storage
from tests.test_bag import _experiment

ROOT = Path(__file__).resolve().parents[1]


def test_a_trial_on_a_sample_fits_that_many_rows(tmp_path) -> None:
    exp = _experiment(tmp_path, "linear", "classification", "cv")
    fitter = Fitter()
    desc = fitter.open(Open(exp))
    fold = fitter.resolved.prepared.folds[0]
    X, y = sample(fold, 40, seed=3)
    assert len(y) == 40 and len(X) == 40
    again, _ = sample(fold, 40, seed=3)
    np.testing.assert_array_equal(
        np.asarray(X), np.asarray(again)
    )  # seeded: every process draws the same rows
    assert sample(fold, None, seed=3)[1] is fold.y_train
    params = desc.space.complete({"C": 1.0})
    small = fitter.trial(FitTrial(0, params, rows=40))
    whole = fitter.trial(FitTrial(1, params))
    assert small.score != whole.score


def test_a_samples_bag_is_the_final_model_only_when_no_refit_is_asked(tmp_path) -> None:
    """Under cross-validation a bag is the final model, but not one of fold models that saw a
    sample: those are refitted on all rows. Where the
    budget has no time left for the refit (Refit.bag) that bag is the final model rather than
    none, and it records the rows its models saw."""
    exp = _experiment(tmp_path, "linear", "classification", "cv")
    refitted = Fitter()
    params = refitted.open(Open(exp)).space.complete({"C": 1.0})
    refitted.trial(FitTrial(0, params, rows=40))
    made = refitted.refit(Refit(params, trial=0))
    assert made.final == "refit" and made.fit_time > 0 and made.rows is None
    assert made.bag_score is None  # a sample's bag is no rival to the refit
    bagged = Fitter()
    bagged.open(Open(exp))
    bagged.trial(FitTrial(0, params, rows=40))
    made = bagged.refit(Refit(params, trial=0, bag=True))
    assert made.final == "bag" and made.fit_time == 0.0 and made.rows == 40
    assert made.test_score != refitted.refit(Refit(params, trial=0)).test_score


@pytest.mark.slow
def test_a_large_table_starts_on_a_sample_and_grows_to_all_rows(tmp_path) -> None:
    X, y = make_classification(n_samples=18_000, n_features=5, n_informative=3, random_state=0)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(5)]).assign(target=y)
    frame.iloc[:16_000].to_csv(tmp_path / "train.csv", index=False)
    frame.iloc[16_000:].to_csv(tmp_path / "test.csv", index=False)
    done = subprocess.run(
        [sys.executable, "-m", "automl.commands.cli", "dataset=csv",
         f"dataset.path={tmp_path / 'train.csv'}", f"dataset.test_path={tmp_path / 'test.csv'}",
         "dataset.target=target", "model=linear,dummy", "budget=25", "validation=holdout",
         f"output_dir={tmp_path / 'results'}", f"leaderboard.dir={tmp_path / 'lb'}",
         "progress=false", "threads=1"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, env=os.environ.copy(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    storage = open_storage(str(tmp_path / "results" / "automl.journal"))
    name = next(s.study_name for s in storage.get_all_studies() if "/linear/" in s.study_name)
    study = optuna.load_study(study_name=name, storage=storage)
    trials = study.trials
    # 16,000 development rows, 12,800 of them a holdout's training rows: a sample first.
    assert trials[0].user_attrs[ROWS] == FIRST_SAMPLE
    # Best on its sample, it is measured again on all rows (after the portfolio's other
    # configurations, queued before it), and the search goes on there.
    assert all(ROWS not in t.user_attrs for t in trials[1:])
    assert any(t.params == trials[0].params for t in trials[1:])
    board = pd.read_csv(tmp_path / "lb" / "train-accuracy.csv").set_index("model")
    # Its final model saw all rows: the bag of its best trial if that saw all, else a refit.
    sampled = ROWS in study.best_trial.user_attrs
    assert board.loc["linear", "final"] == ("refit" if sampled else "bag")
    assert np.isfinite(board.loc["linear", "test_score"])
