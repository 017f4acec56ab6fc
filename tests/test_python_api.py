"""``automl.compare`` and ``automl.Comparison``: the command's comparison from Python, checked
against the command itself (a deterministic trial count instead of a budget, so that both runs must
agree), its mistakes as ``UserError`` with the command's line, and a killed call resumed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris

import automl
from automl.storage.urls import open_storage

pytestmark = pytest.mark.slow

LEARNERS = ["dummy", "decision_tree"]
SCORES = ["model", "test_score", "test_low", "test_high", "val_score", "trials", "pick"]


def _iris() -> tuple[pd.DataFrame, pd.Series]:
    X, y = load_iris(return_X_y=True, as_frame=True)
    return X, y


def _scores(board: pd.DataFrame) -> pd.DataFrame:
    """A leaderboard without its timing columns, one row per learner in name order."""
    return board[SCORES].sort_values("model").reset_index(drop=True)


def _command(tmp: Path, *args: str) -> pd.DataFrame:
    command = [sys.executable, "-m", "automl.commands.cli", "-m", f"output_dir={tmp}",
               f"leaderboard.dir={tmp / 'lb'}", "progress=false", *args]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    board = pd.read_csv(tmp / "lb" / "iris-accuracy.csv")
    return board.fillna({"pick": ""})


def test_compare_on_a_frame_arrays_a_path_and_a_name_gives_the_commands_leaderboard(
    tmp_path,
) -> None:
    settings = {"learners": LEARNERS, "budget": None, "n_trials": 3}
    expected = _scores(
        _command(tmp_path / "cli", "dataset=iris", "model=dummy,decision_tree", "search.n_trials=3")
    )
    X, y = _iris()
    frame = X.assign(species=y)
    path = tmp_path / "iris_train.csv"
    frame.to_csv(path, index=False)
    runs = {
        "name": automl.compare("iris", output_dir=tmp_path / "name", **settings),
        "frame": automl.compare(frame, "species", output_dir=tmp_path / "frame", **settings),
        "arrays": automl.compare(
            (X.to_numpy(), y.to_numpy()), output_dir=tmp_path / "arrays", **settings
        ),
        "path": automl.compare(str(path), "species", output_dir=tmp_path / "path", **settings),
    }
    for kind, comparison in runs.items():
        got = _scores(comparison.leaderboard)
        pd.testing.assert_frame_equal(got, expected, check_dtype=False, obj=kind)
    assert runs["name"].dataset == "iris" and runs["path"].dataset == "iris"
    assert runs["frame"].dataset.startswith("frame_")

    # The pick's model, its predictions and probabilities, from the frame and from arrays.
    chosen = runs["frame"]
    assert chosen.pick == expected.loc[expected["pick"] == "*", "model"].item()
    assert (chosen.predict(X) == runs["arrays"].predict(X.to_numpy())).all()
    assert chosen.predict_proba(X).shape == (150, 3)
    assert set(chosen.allocation["learner"]) == set(LEARNERS)
    assert "<table" in chosen._repr_html_() and chosen.pick in repr(chosen)
    page = chosen.report(tmp_path / "report")
    assert page.suffix == ".html" and chosen.pick in page.read_text()

    # Reopened later from its storage alone: the same leaderboard.
    again = automl.Comparison.load(tmp_path / "frame" / "automl.journal")
    pd.testing.assert_frame_equal(_scores(again.leaderboard), _scores(chosen.leaderboard))
    # Called again: everything comes from the storage (no new trial).
    before = _trials(tmp_path / "frame")
    automl.compare(frame, "species", output_dir=tmp_path / "frame", **settings)
    assert _trials(tmp_path / "frame") == before


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"learners": ["svn"]}, "unknown model 'svn'; available: catboost"),
        ({"metric": "acuracy"}, "unknown metric 'acuracy'"),
        ({"budget": -5}, r"budget=-5 is not accepted: budget takes a number >= 10"),
        ({"validation": "cvv"}, "unknown validation .cvv.; available: auto, cv, holdout"),
        ({"n_trial": 3}, "unknown setting 'n_trial'"),
    ],
)
def test_a_bad_argument_raises_the_commands_one_line_error(tmp_path, kwargs, message) -> None:
    X, y = _iris()
    with pytest.raises(automl.UserError, match=message) as raised:
        automl.compare(X.assign(species=y), "species", output_dir=tmp_path, **kwargs)
    assert "\n" not in str(raised.value)


def test_a_mistake_after_a_finished_comparison_is_raised_not_answered_from_the_storage(
    tmp_path,
) -> None:
    X, y = _iris()
    frame = X.assign(species=y)
    settings = {"budget": None, "learners": ["dummy"], "output_dir": tmp_path}
    assert automl.compare(frame, "species", **settings).pick == "dummy"
    with pytest.raises(automl.UserError, match="unknown metric 'acuracy'"):
        automl.compare(frame, "species", metric="acuracy", **settings)
    with pytest.raises(automl.UserError, match="unknown dataset 'irs'"):
        automl.compare("irs", **settings)


def test_data_that_is_not_a_table_is_refused_before_anything_runs(tmp_path) -> None:
    X, y = _iris()
    with pytest.raises(automl.UserError, match="target=...: name the column"):
        automl.compare(X.assign(species=y), output_dir=tmp_path)
    with pytest.raises(automl.UserError, match="X has 150 rows but y has 149"):
        automl.compare((X, y[:-1]), output_dir=tmp_path)
    with pytest.raises(automl.UserError, match="no such file"):
        automl.compare(str(tmp_path / "missing.csv"), "species", output_dir=tmp_path)
    with pytest.raises(automl.UserError, match="brings its own test split"):
        automl.compare("iris", test=(X, y), output_dir=tmp_path)
    assert not (tmp_path / "automl.journal").exists()


def _trials(folder: Path) -> int:
    storage = open_storage(str(folder / "automl.journal"))
    return sum(
        len(storage.get_all_trials(storage.get_study_id_from_name(s.study_name)))
        for s in storage.get_all_studies()
    )


def _study_names(folder: Path) -> set[str]:
    storage = open_storage(str(folder / "automl.journal"))
    return {s.study_name for s in storage.get_all_studies()}


def test_a_killed_compare_resumes_when_called_again(tmp_path) -> None:
    """SIGKILL the process that called compare mid-comparison (a notebook kernel killed): the
    command dies with it, and the same call then finishes from what the storage holds."""
    code = (
        "import automl\n"
        "from sklearn.datasets import load_iris\n"
        "X, y = load_iris(return_X_y=True, as_frame=True)\n"
        f"automl.compare(X.assign(species=y), 'species', output_dir={str(tmp_path)!r},"
        " budget=None, learners=['decision_tree', 'knn'], n_trials=150)\n"
    )
    caller = subprocess.Popen([sys.executable, "-c", code])
    journal = tmp_path / "automl.journal"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not journal.is_file() or _trials(tmp_path) < 20):
        time.sleep(0.5)
    os.kill(caller.pid, signal.SIGKILL)
    caller.wait()
    time.sleep(2)  # the command, killed with its caller, writes nothing more
    stopped = _trials(tmp_path)
    assert 20 <= stopped < 300
    time.sleep(1)
    assert _trials(tmp_path) == stopped, "the command outlived the process that called compare"
    studies = _study_names(tmp_path)

    X, y = _iris()
    done = automl.compare(
        X.assign(species=y), "species", output_dir=tmp_path, budget=None,
        learners=["decision_tree", "knn"], n_trials=150,
    )  # fmt: skip
    # The same studies went on: both learners' 150 trials, the killed one closed and run again.
    assert _study_names(tmp_path) >= studies and len(_study_names(tmp_path)) == 2
    assert 300 <= _trials(tmp_path) <= 302
    board = done.leaderboard.set_index("model")
    assert np.isfinite(board["test_score"]).all() and done.pick in ("decision_tree", "knn")
