"""Leaderboards are views over the storage: ranking, the pick, files, and rebuilding from storage."""

from __future__ import annotations

import json

import optuna
import pandas as pd
import pytest

from automl.commands.leaderboard import main as rebuild_main
from automl.search.study import run
from automl.settings.experiment import Experiment
from automl.storage.records import PROBLEM, RESULT
from automl.storage.urls import open_storage, redact
from automl.views import leaderboard


def _study(storage, model, val, test, metric="accuracy", direction="maximize", seed=0):
    """A study as the runner leaves it, with chosen scores (to test ranking logic in isolation)."""
    study = optuna.create_study(
        study_name=f"d/{model}/{seed}", storage=storage, direction=direction
    )
    study.set_user_attr(
        PROBLEM,
        {"dataset": "d", "model": model, "seed": seed, "metric": metric, "direction": direction},
    )
    study.add_trial(optuna.trial.create_trial(value=val))
    study.set_user_attr(
        RESULT,
        {
            "val_score": val,
            "test_score": test,
            "params": {"a": 1},
            "fit_time": 0.5,
            "predict_time": 0.1,
            "best_trial": 0,
        },
    )


def test_ranked_by_test_score_and_the_pick_follows_validation(storage_url) -> None:
    storage = open_storage(storage_url)
    _study(storage, "a", val=0.90, test=0.95)
    _study(storage, "b", val=0.99, test=0.80)  # best validation, worst test: still the pick
    _study(storage, "c", val=0.93, test=0.90)
    (board,) = leaderboard.rank(leaderboard.rows(storage)).values()
    assert board["model"].tolist() == ["a", "c", "b"]
    assert board["rank"].tolist() == [1, 2, 3]
    assert board["pick"].tolist() == ["", "", "*"]


def test_minimised_metrics_rank_ascending(storage_url) -> None:
    storage = open_storage(storage_url)
    _study(storage, "a", val=3.0, test=2.0, metric="rmse", direction="minimize")
    _study(storage, "b", val=1.0, test=4.0, metric="rmse", direction="minimize")
    (board,) = leaderboard.rank(leaderboard.rows(storage)).values()
    assert board["model"].tolist() == ["a", "b"] and board["pick"].tolist() == ["", "*"]


def test_trials_that_count_nowhere_are_not_failures(storage_url) -> None:
    storage = open_storage(storage_url)
    _study(storage, "a", val=0.9, test=0.9)
    study = optuna.load_study(study_name="d/a/0", storage=storage)
    for mark in ("surplus", "interrupted"):  # a closed race; a killed trial that runs again
        study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL,
                                                  user_attrs={mark: True}))  # fmt: skip
    study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL))
    row = leaderboard.rows(storage).iloc[0]
    assert row["trials"] == 1 and row["failed"] == 1  # only the real failure


def test_files_hold_every_column(tmp_path, storage_url) -> None:
    run(Experiment(dataset="wine", model="knn", storage=storage_url, n_trials=3, progress=False))
    boards = leaderboard.rank(leaderboard.rows(open_storage(storage_url)))
    paths = leaderboard.write(boards, tmp_path / "lb", "x.journal")
    csv, md = paths
    header = csv.read_text().splitlines()[0].split(",")
    for column in [
        "rank",
        "pick",
        "model",
        "test_score",
        "val_score",
        "fit_time",
        "predict_time",
        "trials",
        "failed",
        "best_params",
        "seed",
    ]:
        assert column in header
    assert md.name == "wine-accuracy.md" and "| knn" in md.read_text()


def test_rebuild_from_the_storage_alone(tmp_path, storage_url, capsys) -> None:
    run(Experiment(dataset="iris", model="dummy", storage=storage_url, progress=False))
    rebuild_main(["--storage", storage_url, "--dir", str(tmp_path / "lb")])
    assert "dummy" in capsys.readouterr().out
    (row,) = pd.read_csv(tmp_path / "lb" / "iris-accuracy.csv").to_dict("records")
    assert row["model"] == "dummy" and json.loads(row["best_params"]) == {"strategy": "auto"}


def test_rebuild_without_a_storage_is_a_clear_error(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        rebuild_main(["--storage", str(tmp_path / "none.journal")])
    assert exit_.value.code == 2
    assert "no storage at" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://me:secret@db:5432/x", "postgresql://me:***@db:5432/x"),
        ("postgresql://me:p@ss@db/x", "postgresql://me:***@db/x"),
        ("redis://:s3cret@host:6379/0", "redis://:***@host:6379/0"),
        ("sqlite:///x.db", "sqlite:///x.db"),
        ("results/automl.journal", "results/automl.journal"),
    ],
)
def test_passwords_are_redacted(url, shown) -> None:
    assert redact(url) == shown


def test_the_pick_is_made_within_each_seed(storage_url) -> None:
    storage = open_storage(storage_url)
    _study(storage, "a", val=0.90, test=0.95)
    _study(storage, "b", val=0.80, test=0.99, seed=1)
    (board,) = leaderboard.rank(leaderboard.rows(storage)).values()
    assert sorted(board.loc[board["pick"] == "*", "model"]) == ["a", "b"]


def test_rebuild_keeps_the_latest_study_of_each_learner(storage_url) -> None:
    run(Experiment(dataset="iris", model="knn", storage=storage_url, n_trials=2, progress=False))
    run(
        Experiment(
            dataset="iris",
            model="knn",
            storage=storage_url,
            n_trials=2,
            progress=False,
            params={"n_neighbors": 3},
        )
    )
    frame = leaderboard.rows(open_storage(storage_url))
    assert len(frame) == 2
    (row,) = leaderboard.latest(frame).to_dict("records")
    assert json.loads(row["best_params"])["n_neighbors"] == 3
