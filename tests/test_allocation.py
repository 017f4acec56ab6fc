"""The budget's choice of the next learner (automl.search.budget): portfolio round robin, then
FLAML's estimated cost for improvement, on trials made by hand; and where its clock starts."""

from __future__ import annotations

import datetime
import time

import optuna
import pytest
from optuna.trial import TrialState, create_trial

from automl.search import allocation
from automl.search.allocation import Learner, eci, next_learner

START = datetime.datetime(2026, 1, 1)


def _trial(number: int, seconds: float, value: float | None) -> optuna.trial.FrozenTrial:
    trial = create_trial(
        state=TrialState.COMPLETE if value is not None else TrialState.FAIL,
        value=value,
        params={},
        distributions={},
    )
    trial.number = number
    trial.datetime_start = START
    trial.datetime_complete = START + datetime.timedelta(seconds=seconds)
    return trial


def _learner(*trials) -> Learner:
    learner = Learner(exp=None, desc=None, study=None, n_trials=100)  # type: ignore[arg-type]
    learner.trials = list(trials)
    return learner


def test_eci_of_the_best_learner_is_the_time_it_took_to_improve() -> None:
    # Improved at 1 s (0.80) and 3 s (0.90), then 1 s more without: max(4 - 3, 3 - 1) = 2.
    best = _learner(_trial(0, 1, 0.80), _trial(1, 2, 0.90), _trial(2, 1, 0.85))
    assert eci(best, 0.90, maximize=True) == 2.0


def test_eci_of_a_learner_behind_is_the_time_to_close_the_gap() -> None:
    # Improved by 0.1 in 2 s (0.05 per second); 0.2 behind the best: 4 s.
    behind = _learner(_trial(0, 1, 0.60), _trial(1, 2, 0.70))
    assert eci(behind, 0.90, maximize=True) == pytest.approx(4.0)
    # Minimising, the same in the other direction.
    lower = _learner(_trial(0, 1, 0.40), _trial(1, 2, 0.30))
    assert eci(lower, 0.10, maximize=False) == pytest.approx(4.0)


def test_a_learner_that_never_succeeded_costs_what_it_spent() -> None:
    assert eci(_learner(_trial(0, 3, None)), 0.9, maximize=True) == 3.0


def test_first_trials_go_round_robin_then_to_the_lowest_eci() -> None:
    fast = _learner(_trial(0, 1, 0.80), _trial(1, 1, 0.90))  # best; ECI 1
    slow = _learner(_trial(0, 10, 0.85))  # behind, one improvement: ECI max(10, 2 * 10) = 20
    new = _learner()
    assert (
        next_learner([fast, slow, new], maximize=True) is new
    )  # every learner's first trial first
    assert next_learner([fast, slow], maximize=True) is fast
    slow.skipped = "no time"
    fast.n_trials = 2  # done
    assert next_learner([fast, slow], maximize=True) is None


def test_the_budget_counts_from_the_process_start_unless_the_process_ran_something_else_first() -> (
    None
):
    started = allocation.process_started(began=-1e9)  # this process's start, as /proc gives it
    assert started <= time.monotonic()
    # The command's code began soon after: the process was started for it, and the budget counts
    # its interpreter's start and imports too.
    assert allocation.process_started(began=started + 1.0) == pytest.approx(started, abs=0.05)
    # It began long after: the process was a shell that ran something else (pip install ...), then
    # exec'd the command; that is not the budget's time.
    late = started + allocation.EXEC_GRACE + 60.0
    assert allocation.process_started(began=late) == late
