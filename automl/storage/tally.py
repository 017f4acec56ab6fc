"""A study's trials as this process last read them, and the counts its budget needs, kept current
by reading only what changed (``storage.trials_since``): new trials, and those unfinished at the
last look. A finished trial never changes again, so the counts grow with each one read instead of
being summed over the whole study before every trial; the cost of a look stays flat as a study
grows to thousands of trials (benchmarks/overhead.py --sizes).

It is the incremental cache of the one counting rule (``records.counts``), and answers what that
rule answers over a list of all trials (tests/test_tally.py holds them equal): which trials count
against the budget (not the interrupted, the surplus, nor those a retry replaces, which a later
trial can make so), how many finished ones count, their search time, the best value, a trial's
position among the counted, and whether a trial is surplus: beyond the trial budget, or a second
retry of one trial.
"""

from __future__ import annotations

from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from automl.storage.internals import (
    claim_waiting,
    same_storage,
    serve_waiting,
    study_key,
    trial_id_of,
    trials_since,
)
from automl.storage.records import RETRY_OF, SURPLUS, counts, interrupted, span

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


class Tally:
    """One study's trials, read incrementally (see the module's docstring)."""

    def __init__(self, study: optuna.Study) -> None:
        self.study = study
        self.trials: dict[int, FrozenTrial] = {}  # by number
        self._after = -1  # every trial with a higher id is unread
        self._unfinished: dict[int, int] = {}  # trial id: number, as of the last look
        self.excluded: set[int] = set()
        self.replaced: set[int] = set()  # numbers that a (queued or run) retry replaces
        self.retries: dict[int, list[int]] = {}  # a replaced number: the trials retrying it
        self.interrupted: set[int] = set()
        self.done = 0  # finished trials that count
        self.spent = 0.0  # their search time, seconds (records.span)
        self._values: dict[int, float] = {}  # counted complete trials' values
        self._best: dict[str, float] = {}  # direction: the best of _values, kept while known
        # The newest trial asked when no other worker had asked one since the last look: what
        # this tally knows below it is current enough for its surplus check (Reseeded sets it).
        self.vouched: int | None = None

    def look(self) -> Tally:
        """Read what changed since the last look (one query of the storage)."""
        fresh = trials_since(self.study, self._after, set(self._unfinished))
        for trial in fresh:
            self._take(trial)
        return self

    def _take(self, trial: FrozenTrial) -> None:
        number, trial_id = trial.number, trial_id_of(trial)
        self._after = max(self._after, trial_id)
        self.trials[number] = trial
        retry_of = trial.user_attrs.get(RETRY_OF)
        if retry_of is not None and number not in self.retries.get(retry_of, []):
            self.retries.setdefault(retry_of, []).append(number)
            self.replaced.add(retry_of)
            self._exclude(retry_of)
        if trial.state not in FINISHED:
            self._unfinished[trial_id] = number
            return
        self._unfinished.pop(trial_id, None)
        if interrupted(trial):
            self.interrupted.add(number)
        if not counts(trial, self.replaced):
            self.excluded.add(number)
            return
        self.done += 1
        self.spent += span(trial)
        if trial.state == TrialState.COMPLETE and trial.value is not None:
            self._values[number] = trial.value
            self._best = {d: _better(d)(b, trial.value) for d, b in self._best.items()}

    def _exclude(self, number: int) -> None:
        """A retry now replaces trial ``number``: it stops counting, if it counted."""
        if number in self.excluded:
            return
        self.excluded.add(number)
        trial = self.trials.get(number)
        if trial is not None and trial.state in FINISHED:
            self.done -= 1
            self.spent -= span(trial)
            if self._values.pop(number, None) is not None:
                self._best.clear()  # the best may have been this one

    def best(self, direction: str) -> float | None:
        """The best value of the counted complete trials, kept as they come (not a pass over
        them all before every trial)."""
        if not self._values:
            return None
        if direction not in self._best:
            self._best[direction] = _better(direction)(self._values.values())
        return self._best[direction]

    def waiting(self) -> list[FrozenTrial]:
        """The queued (WAITING) trials as of the last look, oldest first."""
        numbers = sorted(n for n in self._unfinished.values()
                         if self.trials[n].state == TrialState.WAITING)  # fmt: skip
        return [self.trials[n] for n in numbers]

    def running(self, counting: bool = True) -> list[FrozenTrial]:
        """Running trials; ``counting``: only those that count (one marked surplus is about to
        fail)."""
        out = [self.trials[n] for n in self._unfinished.values()
               if self.trials[n].state == TrialState.RUNNING]  # fmt: skip
        return [t for t in out if not t.user_attrs.get(SURPLUS)] if counting else out

    def counting(self) -> int:
        """Trials that count against the budget, finished or not."""
        return len(self.trials) - len(self.excluded)

    @property
    def next_number(self) -> int:
        """The number the next trial gets if no other worker has asked one since the last look
        (trial numbers are contiguous in a study)."""
        return len(self.trials)

    def position(self, number: int) -> int:
        """How many trials numbered before ``number`` count. Numbers are contiguous in a study, so
        all of 0..number-1 are known after a look."""
        later = sum(1 for n in self.excluded if n >= number)  # few: only the newest trials
        return number - (len(self.excluded) - later)

    def surplus(self, number: int, n_trials: int) -> bool:
        """Whether trial ``number`` would exceed the trial budget ``n_trials``, counting the trials
        numbered before it (finished or running elsewhere), or repeats a retry that an earlier
        trial already runs: two workers asked at once, or queued one retry twice."""
        trial = self.trials.get(number)
        if trial is None and number != self.next_number:
            trial = self.look().trials[number]
        # Unread and next in line: asked afresh (see ``vouched``), so no retry of anything.
        retry_of = None if trial is None else trial.user_attrs.get(RETRY_OF)
        if retry_of is not None and min(self.retries.get(retry_of, [number])) < number:
            return True
        return self.position(number) >= n_trials

    def unqueued(self) -> list[FrozenTrial]:
        """Interrupted trials that no retry replaces yet."""
        return [self.trials[n] for n in sorted(self.interrupted - self.replaced)]


def _better(direction: str) -> Any:
    return max if direction == "maximize" else min


_TALLIES: dict[tuple[int, int], Tally] = {}
KEPT = 64  # tallies kept per process (a sweep's studies), the oldest dropped first


def tally(study: optuna.Study, look: bool = True) -> Tally:
    """This process's tally of ``study`` (one per storage and study), brought up to date unless
    ``look`` is False (as it was last read)."""
    key = study_key(study)
    found = _TALLIES.pop(key, None)
    if found is None or not same_storage(found.study, study):
        found = Tally(study)
    _TALLIES[key] = found  # the most recent last
    while len(_TALLIES) > KEPT:
        _TALLIES.pop(next(iter(_TALLIES)))
    return found.look() if look else found


def pop_waiting(study: optuna.Study) -> FrozenTrial | None:
    """The first queued trial, as of a look of the tally, that this process moves to RUNNING
    (another may take it first), or None: what Optuna's ``ask`` looks for before every trial, by
    a read of every trial of the study. On a journal or a database (Optuna's cache in front of
    it) the look reads what Optuna's own read would, the journal's new lines or the database's
    new and unfinished trials, and no more (see ``install``)."""
    for trial in tally(study).waiting():
        if claim_waiting(study, trial):
            return trial
    return None


def install(study: optuna.Study) -> None:
    """Let ``study.ask`` find its queued trials through ``pop_waiting`` where that costs less."""
    serve_waiting(study, lambda: pop_waiting(study))
