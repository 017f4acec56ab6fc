"""The pick (automl.views.selection) on cases built by hand: a tie that validation accuracy cannot
break keeps the best validation score and says so (the Brier tie-break, measured worse, stays
available to the benchmark); the ensemble is never the pick without a credible margin over
the best learner, and is with one; without validation evidence, the best validation score."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest

from automl.storage import artifacts
from automl.storage.records import ENSEMBLE, LEARNER
from automl.views import leaderboard, selection

ROWS = 200
# Labels: 100 of each class, shuffled; a learner is "right on rows 0..k-1" of this order.
Y = np.random.default_rng(0).permutation(np.repeat([0, 1], ROWS // 2))


def _proba(right: int, sure: float) -> np.ndarray:
    """Probabilities right on the first ``right`` rows and wrong on the rest, ``sure`` of the
    class they give."""
    given = np.where(np.arange(ROWS) < right, Y, 1 - Y)
    p1 = np.where(given == 1, sure, 1 - sure)
    return np.column_stack([1 - p1, p1])


class Board:
    """Rows of one seed's leaderboard whose validation evidence is kept in ``folder``."""

    def __init__(self, folder: Path, task: str = "binary", metric: str = "accuracy") -> None:
        self.folder, self.task, self.metric = str(folder), task, metric
        self.owner = optuna.create_study()
        self.truth = artifacts.save(self.folder, Y, self.owner, "val-truth", np.int32)
        self.rows: list[dict] = []

    def add(self, model: str, predicted: np.ndarray | None, val: float, kind: str = LEARNER):
        kept = (
            "" if predicted is None else artifacts.save(self.folder, predicted, self.owner, model)
        )
        self.rows.append({
            "dataset": "d", "metric": self.metric, "direction": "maximize", "model": model,
            "kind": kind, "val_score": val, "test_score": 0.5, "fit_time": 1.0, "seed": 0,
            "task": self.task, "n_classes": 2, "artifacts": self.folder, "study": model,
            "val_predictions": kept, "val_truth": self.truth if kept else "",
            "scored": "", "truth": "",
        })  # fmt: skip
        return self

    def pick(self) -> tuple[str, str]:
        frame = pd.DataFrame(self.rows)
        chosen = selection.pick(frame, maximize=True, seed=0)
        return frame.at[chosen.index, "model"], chosen.reason


def test_a_tie_on_accuracy_keeps_the_best_validation_score_and_says_so(tmp_path) -> None:
    # linear is right on 160 rows but barely sure (0.51); lightgbm right on 159, sure (0.9): their
    # accuracies differ by one row of 200, so the paired interval of the margin includes 0. The
    # pick stays linear, the best validation score, and says lightgbm is not credibly behind; the
    # tree is 40 rows behind: not tied.
    board = Board(tmp_path)
    board.add("linear", _proba(160, 0.51), 0.800)
    board.add("lightgbm", _proba(159, 0.9), 0.795)
    board.add("tree", _proba(120, 0.9), 0.600)
    model, why = board.pick()
    assert (model, why) == ("linear", "the best validation score; lightgbm not credibly behind")
    # The tie-break the benchmark measures (--rules): the lower Brier score (0.174 against 0.244,
    # of float32 probabilities) would have handed over lightgbm.
    chosen = selection.pick(pd.DataFrame(board.rows), maximize=True, seed=0, proper="brier")
    assert pd.DataFrame(board.rows).at[chosen.index, "model"] == "lightgbm"
    assert (
        "linear, lightgbm are not credible" in chosen.reason
        and "best validation Brier score (0.1740; linear 0.2441)" in chosen.reason
    )
    assert "tree" not in why and "tree" not in chosen.reason


def test_a_credible_lead_keeps_the_best_validation_score(tmp_path) -> None:
    board = Board(tmp_path)
    board.add("linear", _proba(190, 0.51), 0.95)
    board.add("lightgbm", _proba(150, 0.9), 0.75)
    assert board.pick() == ("linear", "the best validation score")


def test_regression_ties_keep_the_best_validation_score(tmp_path) -> None:
    # Values: a regression metric scores them already; no Brier score to break a tie. Two sets of
    # predictions with independent errors of one size: neither is credibly ahead.
    noise = np.random.default_rng(1).normal(0.0, 0.3, (2, ROWS))
    board = Board(tmp_path, task="regression", metric="r2")
    board.add("linear", Y + noise[0], 0.64)
    board.add("lightgbm", Y + noise[1], 0.62)
    model, why = board.pick()
    assert model == "linear" and "lightgbm not credibly behind" in why


def test_the_ensemble_is_never_the_pick_without_a_credible_margin(tmp_path) -> None:
    # The blend is right on one row more than the best learner (161 against 160), as a blend
    # whose weights fitted the folds' ties is: the better validation score, but a margin whose
    # interval reaches 0. The pick is a learner, and the board says why.
    board = Board(tmp_path)
    board.add("linear", _proba(160, 0.8), 0.800)
    board.add("lightgbm", _proba(140, 0.9), 0.700)
    board.add(ENSEMBLE, _proba(161, 0.8), 0.805, kind=ENSEMBLE)
    model, why = board.pick()
    assert model == "linear"
    assert "the ensemble's validation margin over linear is not credible (+0.0050" in why


def test_the_ensemble_with_a_credible_margin_is_the_pick(tmp_path) -> None:
    board = Board(tmp_path)
    board.add("linear", _proba(160, 0.8), 0.800)
    board.add("lightgbm", _proba(150, 0.9), 0.750)
    board.add(ENSEMBLE, _proba(190, 0.8), 0.950, kind=ENSEMBLE)
    model, why = board.pick()
    assert model == ENSEMBLE
    assert why.startswith("the ensemble: its validation margin over linear is credible (+0.1500")


def test_without_validation_evidence_the_best_validation_score(tmp_path) -> None:
    board = Board(tmp_path)
    board.add("linear", None, 0.800)
    board.add(ENSEMBLE, None, 0.805, kind=ENSEMBLE)
    model, why = board.pick()
    assert model == ENSEMBLE and "no validation predictions" in why


@pytest.mark.parametrize("ensemble_first", [True, False])
def test_the_leaderboard_marks_the_pick_and_says_why(tmp_path, ensemble_first) -> None:
    board = Board(tmp_path)
    board.add("linear", _proba(160, 0.8), 0.800)
    # Ahead on validation by a row, or even (the ensemble that is its best member): either way
    # the learner is the pick, and only an ensemble that led says why it is not.
    board.add(ENSEMBLE, _proba(160 + ensemble_first, 0.8), 0.8 + 0.005 * ensemble_first,
              kind=ENSEMBLE)  # fmt: skip
    frame = pd.DataFrame(board.rows).assign(pruned=0, failed=0, trials=1, error="", final="bag")
    (ranked,) = leaderboard.rank(frame).values()
    pick = ranked[ranked["pick"] == "*"].iloc[0]
    assert pick["model"] == "linear"
    assert ("not credible" in pick["why"]) is ensemble_first
    assert "pick (seed 0): linear: " in leaderboard.render(ranked)
