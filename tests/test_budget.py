"""Budget mode (automl/search/budget.py): one time budget across learners, through ``automl`` as a
user runs it. The budget holds against a learner slow on purpose, the ensemble is never worse than
its best member, and a comparison killed in its search or in its refits resumes to the same result.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState

from automl.storage.urls import open_storage
from tests.conftest import ROOT

pytestmark = pytest.mark.slow
PLUGIN = {"AUTOML_PLUGINS": "tests.faults", "PYTHONPATH": str(ROOT)}


def _cli(tmp: Path, *args: str) -> list[str]:
    return [
        sys.executable, "-m", "automl.commands.cli", f"output_dir={tmp / 'results'}",
        f"leaderboard.dir={tmp / 'lb'}", "progress=false", "threads=1", *args,
    ]  # fmt: skip


def _board(tmp: Path) -> pd.DataFrame:
    return pd.read_csv(tmp / "lb" / "iris-accuracy.csv").set_index("model")


def test_the_budget_holds_against_a_learner_slow_on_purpose(tmp_path) -> None:
    budget = 30
    started = time.monotonic()
    done = subprocess.run(
        _cli(tmp_path, "dataset=iris", f"budget={budget}", "model=faulty,sleepy,dummy"),
        cwd=tmp_path, env={**os.environ, **PLUGIN}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    wall = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert wall <= 1.1 * budget, f"{wall:.1f} s for a budget of {budget} s"
    board = _board(tmp_path)
    # The slow learner's only trial was stopped at its cap: its row says so, and it is no failure.
    assert board.loc["sleepy", "trials"] == 0 and board.loc["sleepy", "failed"] == 1
    assert "stopped by the budget" in board.loc["sleepy", "error"]
    assert board.loc["faulty", "trials"] > 1  # the other learners had the rest of the time
    # The allocation is recorded and shown; validation=auto chose cross-validation for 120 rows.
    allocation = json.loads(board.loc["ensemble", "allocation"])
    assert allocation["budget"] == budget and allocation["used"] <= 1.1 * budget
    assert allocation["learners"]["sleepy"]["skipped"] == (
        "its first trial did not fit in its share of the budget"
    )
    assert board.loc["faulty", "validation"] == "5-fold cross-validation (validation=auto)"
    markdown = (tmp_path / "lb" / "iris-accuracy.md").read_text()
    assert "## Budget (seed 0)" in markdown and "| sleepy |" in markdown
    # The ensemble: its members and weights, and never a worse validation score than its best.
    members = json.loads(board.loc["ensemble", "best_params"])
    assert set(members) <= {"faulty", "dummy"} and sum(members.values()) == pytest.approx(1)
    learners = board.drop(index="ensemble")
    assert board.loc["ensemble", "val_score"] >= learners["val_score"].max()
    # Each learner's trials kept their validation predictions for it.
    storage = open_storage(str(tmp_path / "results" / "automl.journal"))
    study = optuna.load_study(study_name=board.loc["faulty", "study"], storage=storage)
    kept = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert kept and all("predictions" in t.user_attrs for t in kept)


# faulty: fast fits; dozy: every fit sleeps 0.15 s (5 folds: about 0.8 s a trial); the kill lands
# in one of dozy's trials, or in dozy's refit.
COMPARE = ["dataset=iris", "budget=300", "model=faulty,dozy", "search.n_trials=4"]


def _studies(tmp: Path) -> dict[str, optuna.Study]:
    journal = tmp / "results" / "automl.journal"
    if not journal.is_file():
        return {}
    storage = open_storage(str(journal))
    return {
        s.study_name.split("/")[1]: optuna.load_study(study_name=s.study_name, storage=storage)
        for s in storage.get_all_studies()
    }


def _kill_when(tmp: Path, ready) -> None:
    process = subprocess.Popen(
        _cli(tmp, *COMPARE), cwd=tmp, env={**os.environ, **PLUGIN}, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if ready(_studies(tmp)):
                break
        except Exception:  # the journal is being written: look again
            pass
        time.sleep(0.05)
    else:
        process.kill()
        pytest.fail("the moment to kill never came")
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)


def _in_search(studies) -> bool:
    """Inside one of dozy's fits: a trial of it running, owned and with its parameters drawn (a
    kill between a trial's creation and its owner's stamp leaves one that only time recovers)."""
    dozy = studies.get("dozy")
    trials = dozy.trials if dozy else []
    running = [t for t in trials if t.state == TrialState.RUNNING]
    return any(t.state == TrialState.COMPLETE for t in trials) and any(
        "owner" in t.user_attrs and t.params for t in running
    )


def _in_refits(studies) -> bool:
    dozy = studies.get("dozy")
    if dozy is None:
        return False
    complete = [t for t in dozy.trials if t.state == TrialState.COMPLETE]
    return len(complete) == 4 and "result" not in dozy.user_attrs


RESULT = ["test_score", "val_score", "best_params", "trials", "failed"]


@pytest.mark.parametrize("moment", [_in_search, _in_refits], ids=["search", "refits"])
def test_killed_then_run_again_equals_an_uninterrupted_comparison(tmp_path, moment) -> None:
    killed, whole = tmp_path / "killed", tmp_path / "whole"
    killed.mkdir(), whole.mkdir()
    _kill_when(killed, moment)
    assert (
        "ensemble" not in _studies(killed)
        or "result" not in _studies(killed)["ensemble"].user_attrs
    )
    env = {**os.environ, **PLUGIN}
    again = subprocess.run(
        _cli(killed, *COMPARE), cwd=killed, env=env, capture_output=True, text=True
    )
    assert again.returncode == 0, again.stderr
    straight = subprocess.run(
        _cli(whole, *COMPARE), cwd=whole, env=env, capture_output=True, text=True
    )
    assert straight.returncode == 0, straight.stderr
    resumed, reference = _board(killed)[RESULT], _board(whole)[RESULT]
    shown = f"resumed:\n{resumed.to_string()}\nuninterrupted:\n{reference.to_string()}"
    assert resumed.sort_index().equals(reference.sort_index()), shown
    assert json.loads(_board(killed).loc["ensemble", "best_params"])  # members and weights


def test_a_learner_too_slow_for_its_share_in_an_earlier_study_is_not_started(tmp_path) -> None:
    """seed=0: the slow learner's first trial runs its share out and is stopped; seed=1, the same
    problem in the same storage: it is not started at all, its row says why, and the faster
    learner has the whole budget."""
    budget = 20
    runs = {}
    for seed in (0, 1):
        started = time.monotonic()
        done = subprocess.run(
            _cli(tmp_path, "dataset=iris", f"budget={budget}", "model=faulty,sleepy", f"seed={seed}"),
            cwd=tmp_path, env={**os.environ, **PLUGIN}, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert time.monotonic() - started <= 1.1 * budget
        board = pd.read_csv(tmp_path / "lb" / "iris-accuracy.csv")
        runs[seed] = board[board["seed"] == seed].set_index("model")
    assert runs[0].loc["sleepy", "failed"] == 1
    assert "stopped by the budget" in runs[0].loc["sleepy", "error"]
    sleepy = runs[1].loc["sleepy"]
    assert sleepy["trials"] == 0 and sleepy["failed"] == 0  # never started: nothing spent
    # Its first trial is expected to take what it ran in seed 0 before it was stopped: more than
    # the faster learner's next improvements, so the search never comes to it.
    stopped = runs[0].loc["sleepy", "error"]
    ran = float(stopped.split("still running after ")[1].split(" s")[0])
    why = sleepy["error"]
    assert "not started: its first trial was expected to take " in why
    expected = float(why.split("expected to take ")[1].split(" s")[0])
    assert abs(expected - ran) < 1.0, (expected, ran)  # its trial's span, as its error read it
    assert runs[1].loc["faulty", "trials"] > runs[0].loc["faulty", "trials"]


def test_a_learner_whose_declared_cost_outlasts_its_share_is_not_started(tmp_path) -> None:
    """slothful declares what sleepy does not (every fit 600 s): the search starts it last, once
    faulty has had its 5 trials; then it is not started, its row says what was predicted and
    what it would have had, nothing is stopped, and the budget holds."""
    budget = 20
    started = time.monotonic()
    done = subprocess.run(
        _cli(tmp_path, "dataset=iris", f"budget={budget}", "model=faulty,slothful",
             "search.n_trials=5"),
        cwd=tmp_path, env={**os.environ, **PLUGIN}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started <= 1.1 * budget
    board = _board(tmp_path)
    slothful = board.loc["slothful"]
    assert slothful["trials"] == 0 and slothful["failed"] == 0  # never started: nothing stopped
    why = slothful["error"]
    assert "its first configuration was predicted to take 3000.0 s (5 fits on 96 rows" in why
    assert "it would have had" in why
    assert board.loc["faulty", "trials"] == 5
