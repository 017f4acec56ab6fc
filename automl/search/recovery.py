"""Crash-safe resume: interrupted trials are found, marked and run again; sampling is replayable.

Every trial records its owner (host, process id and that process's start time). A trial still
RUNNING in the storage whose owner on this host is gone was interrupted (SIGKILL, a power cut);
one stopped by Ctrl-C is marked as it stops; in a database storage, one whose heartbeat stopped
(its machine died) is failed by Optuna. All of them become FAIL, do not count against the budget,
and have their parameters queued to run again, once, by whichever worker of the study is first.

Several workers may share a study. The budget is counted from the storage, not per process: a trial
whose position among the counted trials is at or beyond the budget (two workers asked at once), or
that repeats a retry another worker already runs, is closed as ``surplus`` before it fits anything
(``automl.storage.tally``'s ``surplus``).

To make a resumed study equal an uninterrupted one, trial k (counting the trials before it that were
not interrupted) draws from the sampler seeded with ``seed + k``: its proposal depends only on the
trials before it and on k, never on how many runs it took to get there.
"""

from __future__ import annotations

import datetime
import os
import socket
from collections.abc import Callable, Sequence
from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.trial import FrozenTrial, TrialState

from automl.storage.internals import close_running, fail_stale, set_trial_user_attrs
from automl.storage.records import ERROR, INTERRUPTED, OWNER, RETRY_OF
from automl.storage.tally import Tally, tally

# A RUNNING trial without an owner this long after it started was orphaned: its process died between
# creating it and stamping it, a window of microseconds (see Reseeded).
ORPHANED_AFTER = datetime.timedelta(seconds=60)


def _started(pid: int) -> str | None:
    """When process ``pid`` started, in clock ticks since boot (None if there is no such process,
    or only its zombie: killed, not yet reaped by its parent, it runs nothing)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[19] if len(fields) > 19 and fields[0] not in ("Z", "X") else None


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


def _close(study: optuna.Study, trial: FrozenTrial, reason: str) -> bool:
    """Fail a RUNNING trial of another process as interrupted; True for the one process that
    closes it (workers may race here), which then queues its retry."""
    return close_running(study, trial, {INTERRUPTED: True, ERROR: f"interrupted: {reason}"})


def recover(study: optuna.Study) -> Tally:
    """Close the trials whose process died, and queue every interrupted trial that has not been
    queued yet to run again with the same parameters. Returns the study's tally after that (one
    read of what changed when nothing needed doing: this runs before every trial)."""
    fail_stale(study)  # other machines' dead workers (retry_stale), once per heartbeat interval
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
        set_trial_user_attrs(study, trial, {OWNER: owner()})
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
