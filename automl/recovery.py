"""Crash-safe resume: interrupted trials are found, marked and run again; sampling is replayable.

Every trial records its owner (host, process id and that process's start time). A trial still
RUNNING in the storage whose owner on this host is gone was interrupted (SIGKILL, a power cut);
one stopped by Ctrl-C is marked as it stops. Both become FAIL with ``interrupted`` set, do not count
against the budget, and have their parameters queued to run again.

To make a resumed study equal an uninterrupted one, trial k (counting the trials before it that were
not interrupted) draws from the sampler seeded with ``seed + k``: its proposal depends only on the
trials before it and on k, never on how many runs it took to get there.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Sequence
from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.trial import FrozenTrial, TrialState

OWNER = "owner"
INTERRUPTED = "interrupted"
RETRY_OF = "retry_of"
# Samplers whose only state is their random generator, so that a fresh one per trial loses nothing.
# QMC's low-discrepancy sequence needs one fixed seed; other samplers keep their one instance.
RESEEDABLE = ("TPESampler", "RandomSampler", "CmaEsSampler", "GPSampler", "BruteForceSampler")


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


def _gone(who: Any) -> bool:
    if not isinstance(who, dict) or who.get("host") != socket.gethostname():
        return False  # another machine's worker: heartbeats, not this check, judge it
    if who.get("pid") == os.getpid():
        return False
    return _started(int(who["pid"])) != who.get("started")  # gone, or the pid now names another


def interrupted(trial: FrozenTrial) -> bool:
    return bool(trial.user_attrs.get(INTERRUPTED))


def counted(trials: Sequence[FrozenTrial]) -> list[FrozenTrial]:
    """The trials that count against the budget: all but the interrupted ones."""
    return [t for t in trials if not interrupted(t)]


def recover(study: optuna.Study) -> int:
    """Mark the trials whose process died as interrupted, and queue every interrupted trial that
    has not been queued yet to run again with the same parameters. Returns how many were queued."""
    storage = study._storage  # Optuna's public API cannot set attributes of another's trial
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if _gone(trial.user_attrs.get(OWNER)):
            storage.set_trial_user_attr(trial._trial_id, INTERRUPTED, True)
            storage.set_trial_user_attr(
                trial._trial_id, "error", "interrupted: its process died before it finished"
            )
            study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)
    trials = study.get_trials(deepcopy=False)
    queued = {t.user_attrs.get(RETRY_OF) for t in trials}
    again = [t for t in trials if interrupted(t) and t.number not in queued]
    for trial in again:
        study.enqueue_trial(trial.params, user_attrs={RETRY_OF: trial.number})
    return len(again)


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
            earlier = study.get_trials(deepcopy=False)
            position = sum(1 for t in earlier if t.number < trial.number and not interrupted(t))
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
