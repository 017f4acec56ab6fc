"""The ``automl`` command end to end, in subprocesses, as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

from automl.storage.urls import open_storage

pytestmark = pytest.mark.slow


def automl(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    flags = [a for a in args if a.startswith("-")]  # Hydra wants -m before the overrides
    command = [
        sys.executable, "-m", "automl.commands.cli", *flags, f"output_dir={tmp / 'results'}",
        f"leaderboard.dir={tmp / 'lb'}", "progress=false", "threads=1",
        *[a for a in args if not a.startswith("-")],
    ]  # fmt: skip
    env = {**os.environ, "HYDRA_FULL_ERROR": ""}
    return subprocess.run(command, cwd=tmp, capture_output=True, text=True, env=env, timeout=600)


def _trial_count(tmp: Path) -> int:
    storage = open_storage(str(tmp / "results" / "automl.journal"))
    return sum(
        len(storage.get_all_trials(storage.get_study_id_from_name(s.study_name)))
        for s in storage.get_all_studies()
    )


def test_multirun_gives_one_leaderboard_per_dataset_and_resumes(tmp_path) -> None:
    args = ["-m", "dataset=iris,wine", "model=dummy,knn,decision_tree", "search.n_trials=3"]
    first = automl(tmp_path, *args)
    assert first.returncode == 0, first.stderr
    for dataset in ("iris", "wine"):
        board = pd.read_csv(tmp_path / "lb" / f"{dataset}-accuracy.csv")
        assert sorted(board["model"]) == ["decision_tree", "dummy", "knn"]
        assert board["pick"].fillna("").tolist().count("*") == 1
        assert (tmp_path / "lb" / f"{dataset}-accuracy.md").is_file()
    assert "iris · accuracy" in first.stdout  # printed in the terminal too
    trials = _trial_count(tmp_path)
    assert trials == 2 * (1 + 3 + 3)  # the dummy has nothing to search: a single fit

    start = time.monotonic()
    again = automl(tmp_path, *args)
    assert again.returncode == 0, again.stderr
    assert _trial_count(tmp_path) == trials  # everything came from the storage
    assert time.monotonic() - start < 60


def test_seed_svm_row_shows_0_9778(tmp_path) -> None:
    result = automl(tmp_path, "+experiment=seed_svm_digits")
    assert result.returncode == 0, result.stderr
    (row,) = pd.read_csv(tmp_path / "lb" / "digits-accuracy.csv").to_dict("records")
    assert row["model"] == "svm" and round(row["test_score"], 4) == 0.9778 and row["seed"] == 42


def test_seed_random_forest_on_a_csv_file(tmp_path) -> None:
    X, y = make_classification(n_samples=400, n_features=8, n_informative=5, random_state=0)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(8)]).assign(target=y)
    frame.to_csv(tmp_path / "data.csv", index=False)
    result = automl(tmp_path, "+experiment=seed_rf_csv", f"dataset.path={tmp_path / 'data.csv'}")
    assert result.returncode == 0, result.stderr
    (row,) = pd.read_csv(tmp_path / "lb" / "data-accuracy.csv").to_dict("records")
    # the same split and estimator written by hand give the same score
    X_dev, X_test, y_dev, y_test = train_test_split(X, y, test_size=0.2, random_state=0, stratify=y)
    expected = RandomForestClassifier(n_estimators=100, random_state=0).fit(X_dev, y_dev)
    assert row["test_score"] == pytest.approx(expected.score(X_test, y_test))
    assert row["trials"] == 1


def test_cfg_job_after_a_budget_prints_the_budget_jobs_config(tmp_path) -> None:
    """Hydra's flags after the overrides (as a user types them) with budget mode's rewriting."""
    command = [sys.executable, "-m", "automl.commands.cli", "budget=30", "model=knn,dummy",
               "--cfg", "job"]  # fmt: skip
    shown = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert "budget: 30.0" in shown.stdout and "- knn\n- dummy" in shown.stdout.replace("  ", "")
    assert "method: auto" in shown.stdout  # validation=auto, as budget mode sets it


def test_task_classification_runs_on_integer_labels(tmp_path) -> None:
    """30 integer labels, which auto reads as a regression target, compared as classes."""
    rng = np.random.default_rng(0)
    grade = np.arange(600) % 30
    X = grade[:, None] + rng.normal(scale=2.0, size=(600, 3))
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(target=grade)
    frame.to_csv(tmp_path / "grades.csv", index=False)
    result = automl(tmp_path, "dataset=csv", f"dataset.path={tmp_path / 'grades.csv'}",
                    "dataset.task=classification", "model=decision_tree", "search.n_trials=2")  # fmt: skip
    assert result.returncode == 0, result.stderr
    (row,) = pd.read_csv(tmp_path / "lb" / "grades-accuracy.csv").to_dict("records")
    assert row["model"] == "decision_tree" and 0 < row["test_score"] <= 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["dataset=nope"],
            "unknown dataset 'nope'; available: adult, breast_cancer, cholesterol, csv",
        ),
        (["model=nope"], "unknown model 'nope'; available: catboost, cnn, decision_tree, dummy"),
        (["metric=nope", "model=dummy"], "unknown metric 'nope'; available: accuracy"),
        (
            ["dataset=csv", "dataset.path=missing.csv", "model=dummy"],
            "dataset.path: no such file 'missing.csv'; give the path or URL of a CSV, Parquet or ARFF file",
        ),
        (
            ["dataset=csv", "dataset.path=data.csv", "dataset.target=label", "model=dummy"],
            "target column 'label' is not in data.csv; its columns: a, target",
        ),
        (["metric=rmse", "model=dummy"], "metric 'rmse' does not apply to multiclass tasks"),
        (
            ["model=svm", "model.space.C.low=10", "model.space.C.high=1"],
            "model.space.C: low 10.0 is above high 1.0; a range needs low <= high",
        ),
    ],
)
def test_bad_input_is_one_clear_line_and_a_non_zero_exit(tmp_path, args, message) -> None:
    pd.DataFrame({"a": np.arange(10), "target": [0, 1] * 5}).to_csv(
        tmp_path / "data.csv", index=False
    )
    result = automl(tmp_path, *args)
    assert result.returncode != 0
    assert f"automl: error: {message}" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_a_bad_job_in_a_sweep_loses_nothing_else(tmp_path) -> None:
    result = automl(tmp_path, "-m", "model=dummy,knn", "metric=rmse,accuracy", "search.n_trials=2")
    assert result.returncode == 2
    assert "2 of 4 jobs failed" in result.stderr
    board = pd.read_csv(tmp_path / "lb" / "digits-accuracy.csv")
    assert sorted(board["model"]) == ["dummy", "knn"]
    assert optuna.get_all_study_names(open_storage(str(tmp_path / "results" / "automl.journal")))


def test_a_leaderboard_folder_that_cannot_be_written_stops_the_command_first(tmp_path) -> None:
    (tmp_path / "taken").write_text("a file where the leaderboard folder should go")
    result = automl(tmp_path, "model=dummy", f"leaderboard.dir={tmp_path / 'taken' / 'lb'}")
    assert result.returncode == 2
    assert f"leaderboard.dir={tmp_path / 'taken' / 'lb'}: {tmp_path / 'taken'} is a file" in (
        result.stderr
    )
    assert not (tmp_path / "results").exists()  # checked before anything ran or was written
