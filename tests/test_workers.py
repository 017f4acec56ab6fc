"""Several workers on one study: shared trials, one budget, and a killed worker loses nothing.

Workers are `automl` processes started as a user starts them, pointed at one storage: the real
PostgreSQL server (`.ci/run` starts it) and the journal file, the single-machine default.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
import warnings
from pathlib import Path

import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState

from automl.search.study import run
from automl.settings.experiment import Experiment
from automl.storage.records import OWNER, RETRY_OF, SURPLUS, counted
from automl.storage.tally import tally
from automl.storage.urls import open_storage
from tests.test_reliability import PLUGIN, _cli

pytestmark = pytest.mark.slow
BUDGET = 8


def _study(url: str, seed: int) -> optuna.Study:
    storage = open_storage(url)
    names = [s.study_name for s in storage.get_all_studies() if f"/seed={seed}/" in s.study_name]
    assert len(names) == 1, names
    return optuna.load_study(study_name=names[0], storage=storage)


def _worker(tmp: Path, url: str, seed: int, n: int) -> subprocess.Popen:
    args = _cli(
        tmp / f"w{n}", "dataset=iris", "model=faulty", "model.params.fault=sleep",
        "model.params.on=all", "model.params.seconds=1.5", f"search.n_trials={BUDGET}",
        f"storage={url}", f"seed={seed}", "sampler.n_startup_trials=3",
    )  # fmt: skip
    return subprocess.Popen(
        args, cwd=tmp, env={**os.environ, **PLUGIN}, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _running_trial_of(url: str, seed: int, pid: int, deadline: float) -> int:
    """Wait until process ``pid`` fits a trial of the study (its parameters are all drawn, so its
    configuration is known); the trial's number."""
    while time.monotonic() < deadline:
        try:
            trials = _study(url, seed).get_trials(states=(TrialState.RUNNING,))
        except (AssertionError, KeyError):
            trials = []  # the study does not exist yet
        mine = [
            t
            for t in trials
            if t.user_attrs.get(OWNER, {}).get("pid") == pid and len(t.params) == 2
        ]
        if mine:
            return mine[0].number
        time.sleep(0.1)
    pytest.fail(f"worker {pid} never ran a trial")


@pytest.fixture(params=["journal", "postgresql"])
def shared_url(request, tmp_path) -> str:
    if request.param == "journal":
        return str(tmp_path / "shared.journal")
    return request.getfixturevalue("postgres")


def test_workers_share_one_budget_and_a_killed_one_loses_nothing(tmp_path, shared_url) -> None:
    seed = uuid.uuid4().int % 10**6  # a study of its own in a database that outlives the test
    workers = [_worker(tmp_path, shared_url, seed, n) for n in range(3)]
    try:
        victim = workers[0]
        killed = _running_trial_of(shared_url, seed, victim.pid, time.monotonic() + 120)
        os.killpg(victim.pid, signal.SIGKILL)  # the worker and its fit process, mid-trial
        victim.wait(timeout=30)
        for worker in workers[1:]:
            assert worker.wait(timeout=240) == 0, worker.stderr.read()
    finally:
        for worker in workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)

    study = _study(shared_url, seed)
    trials = study.get_trials()
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(complete) == BUDGET  # exactly the budget, across three workers
    owners = {t.user_attrs[OWNER]["pid"] for t in complete}
    assert len(owners) == 2 and victim.pid not in owners  # the survivors shared the work
    lost = trials[killed]
    assert lost.state == TrialState.FAIL and lost.user_attrs["interrupted"] is True
    (retry,) = [t for t in complete if t.user_attrs.get(RETRY_OF) == killed]
    assert retry.params == lost.params  # the killed trial's configuration ran again
    others = [t for t in trials if t.state != TrialState.COMPLETE and t.number != killed]
    assert all(t.user_attrs.get(SURPLUS) for t in others)  # any other is a closed race, not a fit
    assert "result" in study.user_attrs
    for n in (1, 2):  # every survivor's leaderboard sees the whole study
        board = pd.read_csv(tmp_path / f"w{n}" / "lb" / "iris-accuracy.csv")
        assert board.loc[0, "trials"] == BUDGET and board.loc[0, "failed"] == 0


def test_a_trial_whose_heartbeat_stopped_runs_again(postgres) -> None:
    # A worker on another machine died: no process id to check here, only its silence.
    seed = uuid.uuid4().int % 10**6
    exp = Experiment(
        dataset="iris", model="knn", storage=postgres, seed=seed, n_trials=2, progress=False,
        threads=1, heartbeat=1, sampler={"_target_": "optuna.samplers.TPESampler", "seed": seed},
    )  # fmt: skip
    first = run(exp)
    storage = open_storage(postgres, heartbeat=1)
    study = optuna.load_study(study_name=first.study, storage=storage)
    distributions = study.trials[0].distributions
    with warnings.catch_warnings():  # Optuna expects heartbeats with optimize(); this is a fake
        warnings.simplefilter("ignore", UserWarning)
        elsewhere = study.ask(fixed_distributions=distributions)
    study._storage.set_trial_user_attr(
        elsewhere._trial_id, OWNER, {"host": "another-machine", "pid": 1, "started": "1"}
    )
    storage.record_heartbeat(elsewhere._trial_id)  # it beat once, then its machine went down
    time.sleep(2.5)  # past the grace period of two heartbeats

    again = run(Experiment(**{**exp.__dict__, "n_trials": 4}))
    trials = study.get_trials()
    assert trials[elsewhere.number].state == TrialState.FAIL
    (retry,) = [t for t in trials if t.user_attrs.get(RETRY_OF) == elsewhere.number]
    assert retry.state == TrialState.COMPLETE and retry.params == elsewhere.params
    assert again.complete == 4 and again.failed == 0  # the stale trial counts nowhere
    optuna.delete_study(study_name=first.study, storage=storage)


def _trial(study: optuna.Study, **attrs) -> int:
    trial = study.ask()
    for key, value in attrs.items():
        trial.set_user_attr(key, value)
    return trial.number


def test_a_trial_beyond_the_budget_or_a_second_retry_is_surplus() -> None:
    study = optuna.create_study()
    for _ in range(2):
        study.tell(_trial(study), 1.0)
    running = _trial(study)  # another worker's trial in flight: it counts
    late = _trial(study)  # asked by a second worker at the same moment
    counts = tally(study)
    assert not counts.surplus(running, 3) and counts.surplus(late, 3)
    assert not counts.surplus(late, 4)

    study._storage.set_trial_user_attr(study.trials[running]._trial_id, "interrupted", True)
    study.tell(running, state=TrialState.FAIL)  # it was interrupted...
    first = _trial(study, **{RETRY_OF: running})  # ...and two workers queued it again
    second = _trial(study, **{RETRY_OF: running})
    trials, counts = study.get_trials(), tally(study)
    assert not counts.surplus(first, 4) and counts.surplus(second, 4)
    assert [t.number for t in counted(trials)] == [0, 1, late, first, second]


def _launched(tmp: Path, *launcher: str, trials: int) -> list:
    """Run two workers of one study through a Hydra launcher; the study's completed trials, after
    checking that the leaderboard saw them all."""
    args = _cli(
        tmp, *launcher, "worker=0,1", "dataset=iris", "model=faulty", "model.params.fault=sleep",
        "model.params.on=all", "model.params.seconds=1", f"search.n_trials={trials}",
    )  # fmt: skip
    done = subprocess.run(
        args, cwd=tmp, env={**os.environ, **PLUGIN}, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    board = pd.read_csv(tmp / "lb" / "iris-accuracy.csv")
    assert len(board) == 1 and board.loc[0, "trials"] == trials
    study = _study(str(tmp / "results" / "automl.journal"), 0)
    return study.get_trials(states=(TrialState.COMPLETE,))


def test_the_joblib_launcher_runs_workers_of_one_study_side_by_side(tmp_path) -> None:
    complete = _launched(tmp_path, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", trials=6)
    assert len(complete) == 6
    assert len({t.user_attrs[OWNER]["pid"] for t in complete}) == 2  # two processes shared it


def test_the_submitit_launcher_runs_workers_as_separate_jobs(tmp_path) -> None:
    # submitit_local is the SLURM launcher's executor on this machine: the same pickled jobs.
    launcher = ("hydra/launcher=submitit_local", "hydra.launcher.timeout_min=5")
    complete = _launched(tmp_path, *launcher, trials=4)
    assert len(complete) == 4 and os.getpid() not in {t.user_attrs[OWNER]["pid"] for t in complete}


def test_the_slurm_launcher_composes_with_the_documented_settings(tmp_path) -> None:
    args = _cli(
        tmp_path, "hydra/launcher=submitit_slurm", "hydra.launcher.partition=gpu",
        "hydra.launcher.gpus_per_node=1", "hydra.launcher.cpus_per_task=8",
        "hydra.launcher.timeout_min=240", "worker=3", "--cfg", "hydra",
    )  # fmt: skip
    done = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "SlurmLauncher" in done.stdout and "partition: gpu" in done.stdout
