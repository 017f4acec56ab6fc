"""Reliability under faults: each way a trial can fail is recorded and the study goes on; SIGKILL
and Ctrl-C lose nothing; every row says how to make it again. Faults come from tests/faults.py."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState

from automl.search.study import run
from automl.settings.experiment import Experiment
from automl.storage.urls import open_storage
from tests.conftest import ROOT

pytestmark = pytest.mark.slow
PLUGIN = {"AUTOML_PLUGINS": "tests.faults", "PYTHONPATH": str(ROOT)}


@pytest.fixture
def faults(monkeypatch):
    for key, value in PLUGIN.items():
        monkeypatch.setenv(key, value)


def _faulty(storage: str, fault: str, on: str = "1", **kw) -> Experiment:
    base = dict(
        dataset="iris", model="faulty", storage=storage, n_trials=4, threads=1, progress=False,
        params={"fault": fault, "on": on}, isolation="subprocess", trial_timeout=5.0,
        sampler={"_target_": "optuna.samplers.TPESampler", "seed": 0},
    )  # fmt: skip
    return Experiment(**{**base, **kw})


def _trials(storage: str, study: str) -> list:
    return optuna.load_study(study_name=study, storage=open_storage(storage)).trials


@pytest.mark.parametrize(
    ("fault", "reason", "replaced"),
    [
        ("raise", "RuntimeError: injected failure on trial 1", False),
        ("hang", "still running after the hard limit trial.timeout=5 s: killed", True),
        ("segfault", "its process died of SIGSEGV", True),
        ("exit", "its process exited with code 3", True),
        ("memory", "MiB, more than trial.memory=1500 MiB: killed", True),
        ("gpu_memory", "OutOfMemoryError: CUDA out of memory", True),
        ("nan", "NonFiniteScore: metric faulty_accuracy gave nan on fold 0", False),
        ("inf", "NonFiniteScore: metric faulty_accuracy gave inf on fold 0", False),
    ],
)
def test_a_failing_trial_is_recorded_with_its_reason_and_the_study_goes_on(
    faults, storage_url, fault, reason, replaced
) -> None:
    metric = "faulty_accuracy" if fault in ("nan", "inf") else "auto"
    # Only the hang case needs the 5 s hard limit. The others get room: on a loaded CI machine,
    # touching 1.5 GiB of fresh pages once took longer than 5 s, and the hard limit struck first.
    timeout = 5.0 if fault == "hang" else 60.0
    exp = _faulty(storage_url, fault, metric=metric, memory=1500.0, trial_timeout=timeout)
    summary = run(exp)
    trials = _trials(storage_url, summary.study)
    assert [t.state for t in trials] == [
        TrialState.COMPLETE,
        TrialState.FAIL,
        *[TrialState.COMPLETE] * 2,
    ]
    assert reason in trials[1].user_attrs["error"]
    assert summary.complete == 3 and summary.failed == 1 and summary.test_score > 0.8
    owners = [t.user_attrs["owner"]["pid"] for t in trials]
    assert owners == [os.getpid()] * 4  # trials belong to the harness; fits to its worker
    fitted_by = [t.user_attrs["pid"] for t in trials if t.state == TrialState.COMPLETE]
    assert os.getpid() not in fitted_by and fitted_by[1] == fitted_by[2]
    # A broken worker is killed and the next trial gets a fresh one; an exception costs nothing.
    assert (fitted_by[0] != fitted_by[1]) == replaced


def test_in_process_trials_fail_cleanly_too(storage_url) -> None:
    pm_env = {**os.environ, **PLUGIN}
    code = (
        "from automl.search.study import run\nfrom automl.settings.experiment import Experiment\n"
        f"s = run(Experiment(dataset='iris', model='faulty', storage={storage_url!r}, n_trials=3,"
        " params={'fault': 'raise', 'on': '0'}, progress=False, threads=1))\n"
        "print(s.complete, s.failed)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=pm_env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["2", "1"]


def _cli(tmp: Path, *args: str) -> list[str]:
    return [
        sys.executable, "-m", "automl.commands.cli", f"output_dir={tmp / 'results'}",
        f"leaderboard.dir={tmp / 'lb'}", "progress=false", "threads=1", *args,
    ]  # fmt: skip


SLOW_TRIAL = [
    "dataset=iris", "model=faulty", "model.params.fault=sleep", "model.params.on=3",
    "model.params.seconds=3", "search.n_trials=6", "sampler.n_startup_trials=2",
]  # fmt: skip


def _storage(tmp: Path) -> optuna.storages.BaseStorage:
    return open_storage(str(tmp / "results" / "automl.journal"))


def _study(tmp: Path) -> optuna.Study:
    storage = _storage(tmp)
    (name,) = [s.study_name for s in storage.get_all_studies()]
    return optuna.load_study(study_name=name, storage=storage)


def _as_in_a_terminal() -> None:
    """A command typed in a terminal takes Ctrl-C. One started in the background by a shell
    without job control (``pytest &`` in a script) inherits SIGINT ignored, and so would the
    command under test: give it the default, as a terminal would."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start_and_stop_in_trial_3(tmp: Path, how: signal.Signals) -> subprocess.Popen:
    env = {**os.environ, **PLUGIN}
    process = subprocess.Popen(
        _cli(tmp, *SLOW_TRIAL), cwd=tmp, env=env, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_as_in_a_terminal,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        journal = tmp / "results" / "automl.journal"
        if journal.is_file() and _storage(tmp).get_all_studies():
            states = [t.state for t in _study(tmp).trials]
            if states.count(TrialState.COMPLETE) == 3 and TrialState.RUNNING in states:
                break
        time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("trial 3 never started")
    time.sleep(0.5)  # well inside trial 3's three seconds
    os.killpg(process.pid, how)  # the whole process group, as a terminal or the OOM killer would
    process.wait(timeout=60)
    return process


def _completed(study: optuna.Study) -> list[tuple]:
    return [(t.params, t.value) for t in study.trials if t.state == TrialState.COMPLETE]


def test_after_sigkill_the_same_command_resumes_and_equals_an_uninterrupted_run(tmp_path) -> None:
    env = {**os.environ, **PLUGIN}
    killed, whole = tmp_path / "killed", tmp_path / "whole"
    killed.mkdir(), whole.mkdir()
    _start_and_stop_in_trial_3(killed, signal.SIGKILL)
    stale = _study(killed).trials
    assert [t.state for t in stale].count(TrialState.RUNNING) == 1
    again = subprocess.run(
        _cli(killed, *SLOW_TRIAL), cwd=killed, env=env, capture_output=True, text=True
    )
    assert again.returncode == 0, again.stderr
    straight = subprocess.run(
        _cli(whole, *SLOW_TRIAL), cwd=whole, env=env, capture_output=True, text=True
    )
    assert straight.returncode == 0, straight.stderr

    resumed, reference = _study(killed), _study(whole)
    marked = [t for t in resumed.trials if t.user_attrs.get("interrupted")]
    assert [t.number for t in marked] == [3] and marked[0].state == TrialState.FAIL
    assert [t.user_attrs.get("retry_of") for t in resumed.trials][4] == 3
    assert len(_completed(resumed)) == 6  # nothing lost, nothing run twice
    assert _completed(resumed) == _completed(reference)
    assert (
        resumed.user_attrs["result"]["test_score"] == reference.user_attrs["result"]["test_score"]
    )
    board = pd.read_csv(killed / "lb" / "iris-accuracy.csv")
    assert board.loc[0, "trials"] == 6 and board.loc[0, "failed"] == 0


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_marks_the_running_trial_and_writes_the_leaderboard(tmp_path, how) -> None:
    stopped = _start_and_stop_in_trial_3(tmp_path, how)
    assert stopped.returncode == 130
    err = stopped.stderr.read()
    assert "interrupted" in err and "Traceback" not in err
    trials = _study(tmp_path).trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 3 + [TrialState.FAIL]
    assert trials[3].user_attrs["interrupted"] is True
    board = pd.read_csv(tmp_path / "lb" / "iris-accuracy.csv")  # written from what finished
    assert board.loc[0, "trials"] == 3 and "interrupted" in board.loc[0, "error"]

    env = {**os.environ, **PLUGIN}
    again = subprocess.run(
        _cli(tmp_path, *SLOW_TRIAL), cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert again.returncode == 0, again.stderr
    board = pd.read_csv(tmp_path / "lb" / "iris-accuracy.csv")
    assert board.loc[0, "trials"] == 6 and pd.isna(board.loc[0, "error"])


def test_the_recorded_command_makes_the_same_row_again(tmp_path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir(), second.mkdir()
    made = subprocess.run(
        _cli(first, "dataset=wine", "model=decision_tree", "search.n_trials=4", "seed=3"),
        cwd=first, capture_output=True, text=True,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    row = pd.read_csv(first / "lb" / "wine-accuracy.csv").iloc[0]
    assert (
        row["device"] == "cpu"
        and "optuna " in row["versions"]
        and "plugin:classical" in row["versions"]
    )
    assert row["command"].startswith("automl ")
    words = [
        w for w in shlex.split(row["command"])[1:] if not w.startswith(("output_dir", "leader"))
    ]
    assert {"dataset=wine", "model=decision_tree", "search.n_trials=4", "seed=3"} <= set(words)
    again = subprocess.run(_cli(second, *words), cwd=second, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    other = pd.read_csv(second / "lb" / "wine-accuracy.csv").iloc[0]
    assert other["test_score"] == row["test_score"] and other["best_params"] == row["best_params"]


def test_a_ctrl_c_while_the_worker_starts_does_not_kill_it() -> None:
    from automl.fitting.worker import Worker

    worker = Worker()
    try:
        worker.start()
        for _ in range(20):  # across the worker's bootstrap, before it gets to ignore them
            os.kill(worker.pid, signal.SIGINT)
            time.sleep(0.05)
        time.sleep(1.0)
        assert worker._process.is_alive(), f"the worker died: exit code {worker._process.exitcode}"
    finally:
        worker.close()
