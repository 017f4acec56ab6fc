"""Optuna's private parts, used in one module (automl.storage.internals), on every kind of storage:
its writes leave each storage as Optuna's calls would (several user attributes of a trial in one
write, a finished trial refused as Optuna refuses it, with nothing left over to fail a later read);
its reads give what changed; a running trial of another process is closed once, a queued one
claimed once and found by ``ask``; a trial asked by hand beats, and one whose beats stopped fails.
The journal's lock outlives no writer.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import optuna
import pytest
from optuna.exceptions import UpdateFinishedTrialError
from optuna.storages.journal import JournalFileSymlinkLock

from automl.storage.internals import (
    claim_waiting,
    close_running,
    fail_stale,
    heartbeat,
    set_trial_user_attrs,
    trials_since,
)
from automl.storage.tally import install
from automl.storage.urls import open_storage

ATTRS = {"fit_time": 0.25, "predict_time": 0.01, "pid": 1234, "note": {"a": [1, 2]}}


KINDS = ["journal", "sqlite", "memory", "postgresql"]


def _storage(kind: str, tmp_path, request, beats: int | None = None) -> optuna.storages.BaseStorage:
    """A storage of ``kind``; ``beats``: a database's heartbeat interval, seconds."""
    if kind == "memory":
        return optuna.storages.InMemoryStorage()
    if kind == "postgresql":  # each test's study is a fresh one on the shared server
        return open_storage(request.getfixturevalue("postgres"), heartbeat=beats)
    return open_storage({"journal": str(tmp_path / "s.journal"),
                         "sqlite": f"sqlite:///{tmp_path / 's.db'}"}[kind],
                        heartbeat=beats)  # fmt: skip


@pytest.mark.parametrize("kind", KINDS)
def test_several_attributes_in_one_write_equal_one_call_each(tmp_path, kind, request) -> None:
    storage = _storage(kind, tmp_path, request)
    study = optuna.create_study(storage=storage)
    batched, single = study.ask(), study.ask()
    set_trial_user_attrs(study, batched, ATTRS)
    set_trial_user_attrs(study, batched, {"pid": 99})  # a key written again
    for key, value in {**ATTRS, "pid": 99}.items():
        single.set_user_attr(key, value)
    study.tell(batched, 1.0)
    study.tell(single, 1.0)
    again = optuna.load_study(study_name=study.study_name, storage=storage)  # read afresh
    first, second = again.get_trials(deepcopy=False)
    assert first.user_attrs == second.user_attrs == {**ATTRS, "pid": 99}


@pytest.mark.parametrize("kind", KINDS)
def test_a_finished_trial_is_refused_and_nothing_is_left_to_fail_later(
    tmp_path, kind, request
) -> None:
    storage = _storage(kind, tmp_path, request)
    study = optuna.create_study(storage=storage)
    trial = study.ask()
    study.tell(trial, 1.0)
    with pytest.raises(UpdateFinishedTrialError):
        set_trial_user_attrs(study, trial, ATTRS)
    study.tell(study.ask(), 2.0)  # later writes and reads of this process go on
    trials = study.get_trials(deepcopy=False)
    assert [t.value for t in trials] == [1.0, 2.0] and trials[0].user_attrs == {}


@pytest.mark.parametrize("kind", KINDS)
def test_trials_since_gives_the_new_and_the_unfinished(tmp_path, kind, request) -> None:
    storage = _storage(kind, tmp_path, request)
    study = optuna.create_study(storage=storage)
    for _ in range(5):
        study.tell(study.ask(), 1.0)
    running = study.ask()
    seen = study.get_trials(deepcopy=False)
    after = max(t._trial_id for t in seen)
    study.tell(running, 3.0)
    study.tell(study.ask(), 4.0)
    study.ask()
    since = trials_since(study, after, {running._trial_id})
    assert [(t.number, t.state.name) for t in since] == [
        (5, "COMPLETE"), (6, "COMPLETE"), (7, "RUNNING"),
    ]  # fmt: skip


@pytest.mark.parametrize("kind", KINDS)
def test_a_running_trial_of_another_process_is_closed_once(tmp_path, kind, request) -> None:
    study = optuna.create_study(storage=_storage(kind, tmp_path, request))
    study.ask()
    (left,) = study.get_trials(deepcopy=False)
    assert close_running(study, left, {"interrupted": True}) is True
    assert close_running(study, left, {"interrupted": True}) is False  # a racing worker was second
    (closed,) = study.get_trials(deepcopy=False)
    assert closed.state.name == "FAIL" and closed.user_attrs == {"interrupted": True}


@pytest.mark.parametrize("kind", KINDS)
def test_a_queued_trial_is_claimed_once_and_asked_in_order(tmp_path, kind, request) -> None:
    study = optuna.create_study(storage=_storage(kind, tmp_path, request))
    study.enqueue_trial({"x": 0.25})
    (queued,) = study.get_trials(deepcopy=False)
    assert claim_waiting(study, queued) is True
    assert claim_waiting(study, queued) is False  # another process took it first
    study.tell(queued.number, 1.0)
    install(study)  # ask finds queued trials through the tally where the storage allows
    for x in (0.5, 0.75):
        study.enqueue_trial({"x": x})
    asked = [study.ask() for _ in range(3)]
    assert [t.suggest_float("x", 0, 1) for t in asked[:2]] == [0.5, 0.75]
    assert [t.number for t in asked] == [1, 2, 3]


@pytest.mark.parametrize("kind", KINDS)
def test_a_trial_asked_by_hand_beats_and_fails_once_its_beats_stop(tmp_path, kind, request) -> None:
    study = optuna.create_study(storage=_storage(kind, tmp_path, request, beats=1))
    trial = study.ask()
    with heartbeat(study, trial):  # beats where the storage keeps them (a database)
        time.sleep(0.3)
    fail_stale(study)  # within the grace period: nothing is stale
    assert study.trials[0].state.name == "RUNNING"
    if kind not in ("sqlite", "postgresql"):
        return  # journal and memory keep no beats: a dead worker is found by its process id
    time.sleep(3.0)  # two intervals without a beat (and some), more than one since the last look
    fail_stale(study)
    assert study.trials[0].state.name == "FAIL"


@pytest.mark.parametrize("kind", KINDS)
def test_stale_trials_are_looked_for_once_per_heartbeat_interval(
    tmp_path, kind, request, monkeypatch
) -> None:
    looks: list[str] = []
    monkeypatch.setattr(optuna.storages, "fail_stale_trials", lambda s: looks.append(s.study_name))
    study = optuna.create_study(storage=_storage(kind, tmp_path, request, beats=1))
    for _ in range(3):
        fail_stale(study)
    assert looks == ([study.study_name] if kind in ("sqlite", "postgresql") else [])
    time.sleep(1.1)
    fail_stale(study)
    assert len(looks) == (2 if kind in ("sqlite", "postgresql") else 0)


# The journal's write lock (automl.storage.urls.KernelLock): a writer killed while holding it, or a
# lock file that Optuna's own lock left behind, never stops the next writer. Each writer runs in a
# subprocess with a timeout, so that a lock that would block fails the test instead of hanging it.
WRITE = """
import sys, optuna
from automl.storage.urls import open_storage
study = optuna.create_study(study_name="s", storage=open_storage(sys.argv[1]), load_if_exists=True)
study.enqueue_trial({"x": 1})
print(len(study.trials))
"""

HOLD = """
import sys, time
from automl.storage.urls import KernelLock
lock = KernelLock(sys.argv[1])  # held while this process lives
lock.acquire()
print("held", flush=True)
time.sleep(600)
"""


def _write(journal: str) -> str:
    done = subprocess.run([sys.executable, "-c", WRITE, journal], capture_output=True, text=True,
                          timeout=20)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_writer_killed_holding_the_journal_lock_does_not_stop_the_next(tmp_path) -> None:
    journal = str(tmp_path / "s.journal")
    _write(journal)
    holder = subprocess.Popen([sys.executable, "-c", HOLD, journal], stdout=subprocess.PIPE,
                              text=True)  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    with pytest.raises(subprocess.TimeoutExpired):  # while it lives, the lock is its own
        subprocess.run([sys.executable, "-c", WRITE, journal], capture_output=True, timeout=5)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert _write(journal) == "2"  # the kernel released the lock with its process


def test_a_lock_left_by_optuna_own_journal_lock_does_not_stop_a_writer(tmp_path) -> None:
    journal = str(tmp_path / "s.journal")
    _write(journal)
    # What a process killed inside Optuna's default lock (a symbolic link) leaves behind.
    JournalFileSymlinkLock(journal).acquire()
    assert os.path.islink(journal + ".lock")
    assert _write(journal) == "2"
