"""Crash-safe resume: interrupted trials are found, marked and run again; sampling is replayable.

Every trial records its owner (host, process id and that process's start time). A trial still
RUNNING in the storage whose owner on this host is gone was interrupted (SIGKILL, a power cut);
one stopped by Ctrl-C is marked as it stops; in a database storage, one whose heartbeat stopped
(its machine died) is failed by Optuna. All of them become FAIL, do not count against the budget,
and have their parameters queued to run again, once, by whichever worker of the study is first.

Several workers may share a study. The budget is counted from the storage, not per process: a trial
whose position among the counted trials is at or beyond the budget (two workers asked at once), or
that repeats a retry another worker already runs, is closed as ``surplus`` before it fits anything.

To make a resumed study equal an uninterrupted one, trial k (counting the trials before it that were
not interrupted) draws from the sampler seeded with ``seed + k``: its proposal depends only on the
trials before it and on k, never on how many runs it took to get there.
"""

from __future__ import annotations

import datetime
import os
import socket
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.exceptions import UpdateFinishedTrialError
from optuna.samplers import BaseSampler
from optuna.trial import FrozenTrial, TrialState

from automl.storage.records import (
    ERROR,
    INTERRUPTED,
    OWNER,
    RETRY_OF,
    excluded,
)
from automl.storage.tally import Tally, tally
from automl.storage.urls import set_trial_user_attrs

# A RUNNING trial without an owner this long after it started was orphaned: its process died between
# creating it and stamping it, a window of microseconds (see Reseeded).
ORPHANED_AFTER = datetime.timedelta(seconds=60)


def _started(pid: int) -> str | None:
    """When process ``pid`` started, in clock ticks since boot (None if there is no such process)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def owner() -> dict[str, Any]:
    """This process, identified so that a later run can tell whether it still lives."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "started": _started(os.getpid())}


def _gone(trial: FrozenTrial) -> bool:
    who = trial.user_attrs.get(OWNER)
    if who is None:
        started = trial.datetime_start
        return started is not None and datetime.datetime.now() - started > ORPHANED_AFTER
    if not isinstance(who, dict) or who.get("host") != socket.gethostname():
        return False  # another machine's worker: heartbeats, not this check, judge it
    if who.get("pid") == os.getpid():
        return False
    return _started(int(who["pid"])) != who.get("started")  # gone, or the pid now names another


def surplus(trials: Sequence[FrozenTrial], number: int, budget: int) -> bool:
    """Whether trial ``number`` would exceed the budget, counting the trials numbered before it
    (finished or running elsewhere), or repeats a retry that an earlier trial already runs."""
    (trial,) = [t for t in trials if t.number == number]
    earlier = [t for t in trials if t.number < number]
    retry_of = trial.user_attrs.get(RETRY_OF)
    if retry_of is not None and any(t.user_attrs.get(RETRY_OF) == retry_of for t in earlier):
        return True
    return _position(trials, number) >= budget


def _position(trials: Sequence[FrozenTrial], number: int) -> int:
    """How many trials numbered before ``number`` count. Exclusions are judged over all trials: a
    trial's retry is numbered after it."""
    out = excluded(trials)
    return sum(1 for t in trials if t.number < number and t.number not in out)


def _close(study: optuna.Study, trial: FrozenTrial, reason: str) -> bool:
    """Fail a RUNNING trial of another process as interrupted; True for the one process that
    closes it (workers may race here), which then queues its retry."""
    storage = study._storage  # Optuna's public API cannot set attributes of another's trial
    try:
        set_trial_user_attrs(storage, trial._trial_id,
                             {INTERRUPTED: True, ERROR: f"interrupted: {reason}"})  # fmt: skip
        return storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)
    except UpdateFinishedTrialError:
        return False  # another worker closed it first


_STALE_LOOKS: dict[tuple[int, int], float] = {}  # (storage, study): when this process last looked


def _fail_stale(study: optuna.Study) -> None:
    """Optuna's ``fail_stale_trials``, at most once per heartbeat interval per study: a trial is
    stale only after two intervals without a beat, so looking more often finds nothing sooner,
    and each look is a query and a commit. (``optimize`` makes its own before every trial.)"""
    beats = getattr(study._storage, "get_heartbeat_interval", None)  # a database's storage
    interval = beats() if beats is not None else None
    if interval is None:
        return  # no heartbeats: fail_stale_trials would do nothing
    key, now = (id(study._storage), study._study_id), time.monotonic()
    last = _STALE_LOOKS.get(key)
    if last is not None and now - last < interval:
        return
    _STALE_LOOKS[key] = now
    with warnings.catch_warnings():  # experimental, and the tool for this
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


def recover(study: optuna.Study) -> Tally:
    """Close the trials whose process died, and queue every interrupted trial that has not been
    queued yet to run again with the same parameters. Returns the study's tally after that (one
    read of what changed when nothing needed doing: this runs before every trial)."""
    _fail_stale(study)  # other machines' dead workers (retry_stale)
    counts = tally(study)
    closed = [_close(study, t, "its process died before it finished")
              for t in counts.running(counting=False) if _gone(t)]  # fmt: skip
    if closed:
        counts = tally(study)
    again = counts.unqueued()
    for trial in again:  # two workers may both queue one; surplus() runs only the first
        study.enqueue_trial(trial.params, user_attrs={RETRY_OF: trial.number})
    return tally(study) if again else counts


def retry_stale(study: optuna.Study, trial: FrozenTrial) -> None:
    """Optuna's heartbeat callback: a trial whose worker stopped beating (another machine died) was
    failed by this process alone; run its parameters again."""
    study.enqueue_trial(trial.params, user_attrs={RETRY_OF: trial.number})


class Reseeded(BaseSampler):
    """Stamps each new trial with its owner, and (with a seed) draws it from a sampler made afresh
    and seeded by the trial's position in the study.

    The owner is stamped here, inside ``study.ask`` right after the trial is created, rather than
    in the objective: a process killed in between would leave a RUNNING trial that no later run
    could attribute, and so never recover.
    """

    def __init__(self, make: Callable[[int | None], BaseSampler], seed: int | None) -> None:
        self._make = make
        self._seed = seed
        self._current = make(seed)

    def __str__(self) -> str:
        return f"Reseeded({self._current})"

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        study._storage.set_trial_user_attr(trial._trial_id, OWNER, owner())
        if self._seed is not None:
            # Read again only when another worker asked a trial since the last look (this one's
            # number says so); the objective's surplus check reads again before anything fits.
            counts = tally(study, look=False)
            counts.vouched = trial.number if trial.number == counts.next_number else None
            if counts.vouched is None:
                counts.look()
            position = counts.position(trial.number)
            self._current = self._make(self._seed + position)
        self._current.before_trial(study, trial)

    def infer_relative_search_space(
        self, study: optuna.Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return self._current.infer_relative_search_space(study, trial)

    def sample_relative(
        self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        return self._current.sample_relative(study, trial, search_space)

    def sample_independent(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        return self._current.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self._current.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self._current.reseed_rng()
