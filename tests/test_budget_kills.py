"""A budget comparison killed (SIGKILL of its process group) at any moment, once or several times,
resumes with the same command to its answer: a saved pick that reloads and predicts its reported
test score exactly, every completed trial kept, no wait for the trials the killed runs left running,
and the seconds of all runs together within 1.1 times the budget plus one refit. When nothing of the
budget is left, the pick is refitted all the same; when no refit can be made, the command fails in
one line.
"""

from __future__ import annotations

import datetime
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState

from automl.storage.urls import open_storage
from tests.conftest import ROOT
from tests.test_budget import _studies
from tests.test_winner import SCORE, _tables

pytestmark = pytest.mark.slow
PLUGIN = {"AUTOML_PLUGINS": "tests.faults", "PYTHONPATH": str(ROOT)}
BUDGET = 20
# dummy's few configurations are tried in a moment; every fit of drowsy, its refit too, sleeps 1 s
# (a holdout trial is one fit), so that a kill lands inside one, and its trials fill the budget.
COMPARE = ["model=dummy,drowsy", "validation=holdout", f"budget={BUDGET}"]


def _command(tmp: Path, *args: str) -> list[str]:
    return [
        sys.executable, "-m", "automl.commands.cli", f"output_dir={tmp / 'results'}",
        f"leaderboard.dir={tmp / 'lb'}", "progress=false", "threads=1", "dataset=csv",
        f"dataset.path={tmp / 'train.csv'}", f"dataset.test_path={tmp / 'test.csv'}",
        "dataset.target=label", *args,
    ]  # fmt: skip


@dataclass
class Run:
    """One run of the command: when it was launched, its output so far, what it took."""

    process: subprocess.Popen
    launched: datetime.datetime  # local time, as Optuna stamps trials
    started: float  # time.monotonic()
    lines: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def output(self) -> str:
        return "".join(self.lines)


def _launch(tmp: Path, *args: str) -> Run:
    launched, started = datetime.datetime.now(), time.monotonic()
    process = subprocess.Popen(
        _command(tmp, *args), cwd=tmp, env={**os.environ, **PLUGIN}, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    run = Run(process, launched, started)

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            run.lines.append(line)

    threading.Thread(target=read, daemon=True).start()
    return run


def _drowsy_running(run: Run, tmp: Path, complete: int) -> bool:
    """A trial of drowsy running in ``run``'s process, after ``complete`` of its trials finished."""
    drowsy = _studies(tmp).get("drowsy")
    trials = drowsy.trials if drowsy else []
    done = sum(t.state == TrialState.COMPLETE for t in trials)
    return done >= complete and any(
        t.state == TrialState.RUNNING and t.params
        and (t.user_attrs.get("owner") or {}).get("pid") == run.process.pid
        for t in trials
    )  # fmt: skip


Moment = Callable[[Run, Path], bool]
MOMENTS: dict[str, Moment] = {
    # drowsy's first trial, among the learners' first (the portfolio's)
    "portfolio": lambda run, tmp: _drowsy_running(run, tmp, complete=0),
    # one of drowsy's later trials
    "fit": lambda run, tmp: _drowsy_running(run, tmp, complete=2),
    "refits": lambda run, tmp: "refitting each learner's best" in run.output,
    "ensemble": lambda run, tmp: "blending them into an ensemble" in run.output,
}


def _kill_at(tmp: Path, moment: str) -> Run:
    run = _launch(tmp, *COMPARE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and run.process.poll() is None:
        try:
            if MOMENTS[moment](run, tmp):
                break
        except Exception:  # the journal is being written: look again
            pass
        time.sleep(0.02)
    else:
        run.process.kill()
        pytest.fail(f"the moment to kill ({moment}) never came:\n{run.output}")
    os.killpg(run.process.pid, signal.SIGKILL)
    run.process.wait(timeout=60)
    run.seconds = time.monotonic() - run.started
    return run


def _completed(tmp: Path) -> dict[tuple[str, int], float]:
    return {
        (name, t.number): t.value
        for name, study in _studies(tmp).items()
        for t in study.trials
        if t.state == TrialState.COMPLETE
    }


def _pick(tmp: Path) -> pd.Series:
    board = pd.read_csv(tmp / "lb" / "train-accuracy.csv")
    picks = board[board["pick"] == "*"]
    assert len(picks) == 1, board.to_string()
    return picks.iloc[0]


def _reloads_exactly(tmp: Path) -> pd.Series:
    """The pick: saved, and its model, reloaded in a fresh process, scores what the board says."""
    pick = _pick(tmp)
    assert isinstance(pick["model_path"], str) and pick["model_path"], pick.to_string()
    out = subprocess.run([sys.executable, "-c", SCORE, pick["model_path"], str(tmp / "test.csv")],
                         cwd=tmp, env={**os.environ, **PLUGIN}, capture_output=True, text=True,
                         check=True)  # fmt: skip
    assert float(out.stdout) == pick["test_score"], pick.to_string()
    return pick


@pytest.mark.parametrize(
    "moments", [["portfolio", "fit", "refits"], ["fit", "ensemble"], ["fit"]], ids="-".join
)
def test_a_comparison_killed_at_any_moment_resumes_to_its_answer(tmp_path, moments) -> None:
    _tables(tmp_path)
    runs: list[Run] = []
    kept: dict[tuple[str, int], float] = {}
    for moment in moments:
        runs.append(_kill_at(tmp_path, moment))
        kept |= _completed(tmp_path)
    last = _launch(tmp_path, *COMPARE)
    assert last.process.wait(timeout=300) == 0, last.output
    last.seconds = time.monotonic() - last.started
    runs.append(last)

    pick = _reloads_exactly(tmp_path)
    completed = _completed(tmp_path)
    assert kept.items() <= completed.items()  # no completed trial lost, none changed
    trials = [t for study in _studies(tmp_path).values() for t in study.trials]
    assert not [t.number for t in trials if t.state == TrialState.RUNNING]
    # The trials a killed run left running were closed by the next run before its first trial:
    # which started within seconds of its launch, not after waiting for them.
    started = [t for t in trials if t.datetime_start is not None]  # not those still queued
    resumed = 0
    for killed, after, then in zip(runs[:-1], runs[1:], [*(r.launched for r in runs[2:]), None],
                                   strict=True):  # fmt: skip
        dead = [t for t in started if killed.launched <= t.datetime_start < after.launched
                and t.user_attrs.get("interrupted")]  # fmt: skip
        new = [
            t.datetime_start
            for t in started
            if after.launched <= t.datetime_start and (then is None or t.datetime_start < then)
        ]
        if dead and new:
            first = min(new)
            assert (first - after.launched).total_seconds() < 10, after.output
            assert all(t.datetime_complete <= first for t in dead)
            resumed += 1
    assert resumed or not {"portfolio", "fit"} & set(moments)  # a kill in a trial was resumed
    # The seconds of all runs: within 1.1 times the budget, plus the pick's refit.
    total = sum(run.seconds for run in runs)
    refit = float(pick["fit_time"]) + float(pick["predict_time"])
    allocation = json.loads(pd.read_csv(tmp_path / "lb" / "train-accuracy.csv")
                            .set_index("model").loc["ensemble", "allocation"])  # fmt: skip
    shown = f"{[round(r.seconds, 1) for r in runs]} s; recorded {allocation['used']} s"
    assert total <= 1.1 * BUDGET + refit, shown


def _allocation(tmp: Path) -> dict:
    return _studies(tmp)["ensemble"].user_attrs.get("allocation") or {}


def test_a_run_killed_in_a_long_fit_leaves_the_seconds_it_used(tmp_path) -> None:
    """The seconds before the kill are on record, though no trial finished: the next run takes
    them off its budget (the run records them every ``budget.tick`` seconds)."""
    _tables(tmp_path)
    run = _launch(tmp_path, "model=sleepy", "validation=holdout", "budget=60")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _sleepy_running(run, tmp_path):
        time.sleep(0.05)
    time.sleep(3)  # inside the fit, which sleeps 600 s
    os.killpg(run.process.pid, signal.SIGKILL)
    run.process.wait(timeout=60)
    seconds = time.monotonic() - run.started
    used = _allocation(tmp_path).get("used", 0.0)
    assert seconds - 1.0 <= used <= seconds, (used, seconds)


def _sleepy_running(run: Run, tmp: Path) -> bool:
    try:
        sleepy = _studies(tmp).get("sleepy")
    except Exception:  # the journal is being written: look again
        return False
    return bool(sleepy) and any(t.state == TrialState.RUNNING and t.params for t in sleepy.trials)


@pytest.mark.parametrize("final", ["auto", "refit"])
def test_a_budget_spent_by_earlier_runs_still_hands_over_its_pick(tmp_path, final) -> None:
    """final=auto under a holdout: its bag, at no cost to the budget; final=refit: its refit, at
    any cost, and the run says by how much the budget is exceeded."""
    _tables(tmp_path)
    _kill_at(tmp_path, "fit")
    storage = open_storage(str(tmp_path / "results" / "automl.journal"))
    board = _studies(tmp_path)["ensemble"]
    spent = {**board.user_attrs["allocation"], "used": BUDGET + 5.0}
    optuna.load_study(study_name=board.study_name, storage=storage).set_user_attr(
        "allocation", spent
    )
    again = _launch(tmp_path, *COMPARE, f"final={final}")
    assert again.process.wait(timeout=300) == 0, again.output
    time.sleep(0.2)  # the last of its output
    exceeded = f"the budget of {BUDGET} s is exceeded by" in again.output
    assert exceeded == (final == "refit"), again.output
    pick = _reloads_exactly(tmp_path)
    assert pick["model"] == "drowsy", pick.to_string()  # dummy's best is no match for a tree
    assert pick["final"].split()[0] == ("bag" if final == "auto" else "refit"), pick.to_string()


def test_a_comparison_with_no_refit_to_hand_over_fails_in_one_line(tmp_path) -> None:
    _tables(tmp_path)
    done = subprocess.run(
        _command(tmp_path, "model=brittle", "validation=holdout", "budget=10", "final=refit"),
        cwd=tmp_path,
        env={**os.environ, **PLUGIN}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if line.startswith("automl: error:")]
    assert len(errors) == 1 and "no pick: no learner's best could be refitted" in errors[0], (
        done.stderr
    )
    assert "raise budget=" in errors[0] and "Traceback" not in done.stderr
