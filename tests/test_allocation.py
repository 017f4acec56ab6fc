"""The budget's choice of the next learner (automl.search.budget): portfolio round robin, then
FLAML's estimated cost for improvement, on trials made by hand; and where its clock starts."""

from __future__ import annotations

import datetime
import time
from pathlib import Path
from types import SimpleNamespace

import optuna
import pytest
from optuna.trial import TrialState, create_trial

from automl.plugin.types import Cost
from automl.search import allocation, costs
from automl.search.allocation import Learner, eci, next_learner
from automl.storage import bag_files

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


def _learner(*trials, cost: Cost | None = None) -> Learner:
    """A learner of a 5-fold problem of 1,250 rows of 10 columns (1,000 training rows a fold)."""
    desc = SimpleNamespace(cost=cost, folds=5, repeats=1, rows=1_250, columns=10, outputs=1)
    learner = Learner(exp=None, desc=desc, study=None, n_trials=100)  # type: ignore[arg-type]
    learner.trials = list(trials)
    return learner


def test_eci_of_the_best_learner_is_the_time_it_took_to_improve() -> None:
    # Improved at 1 s (0.80) and 3 s (0.90), then 1 s more without: max(4 - 3, 3 - 1) = 2.
    best = _learner(_trial(0, 1, 0.80), _trial(1, 2, 0.90), _trial(2, 1, 0.85))
    assert eci(best, 0.90, maximize=True) == 2.0


def test_eci_of_a_learner_behind_is_twice_the_time_to_close_the_gap() -> None:
    # Improved by 0.1 in 2 s (0.05 per second); 0.2 behind the best: twice 4 s (FLAML's).
    behind = _learner(_trial(0, 1, 0.60), _trial(1, 2, 0.70))
    assert eci(behind, 0.90, maximize=True) == pytest.approx(8.0)
    # Minimising, the same in the other direction.
    lower = _learner(_trial(0, 1, 0.40), _trial(1, 2, 0.30))
    assert eci(lower, 0.10, maximize=False) == pytest.approx(8.0)
    # Time spent since without improving slows its speed: 0.1 in the 4 s since the improvement
    # before, so 2 x 0.2 / 0.025 = 16 s.
    stalled = _learner(_trial(0, 1, 0.60), _trial(1, 2, 0.70), _trial(2, 2, 0.65))
    assert eci(stalled, 0.90, maximize=True) == pytest.approx(16.0)


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


def test_a_learner_not_yet_started_counts_its_expected_first_trial_as_its_eci() -> None:
    """FLAML's order: a learner not started counts what its first trial is expected to cost (its
    declared cost; one that declares none starts at once), so an expensive one waits until the
    others' next improvements are expected to cost more; queued portfolio configurations wait
    for ECI to choose their learner, not their turn."""
    heavy = _learner(cost=Cost(60.0))  # 5 folds of 1,000 rows: 30 s
    light = _learner(cost=Cost(0.5))  # 0.25 s
    unknown = _learner()
    assert next_learner([heavy, light, unknown], maximize=True) is unknown
    assert next_learner([heavy, light], maximize=True) is light
    best = _learner(_trial(0, 1, 0.80), _trial(1, 1, 0.90))  # ECI 1
    assert next_learner([heavy, best], maximize=True) is best
    stuck = _learner(_trial(0, 20, 0.80), _trial(1, 20, 0.90), _trial(2, 20, 0.85))  # ECI 20
    assert next_learner([heavy, stuck], maximize=True) is stuck
    stuck.trials.append(_trial(3, 40, 0.85))  # 60 s since it improved: now the heavy one's turn
    assert next_learner([heavy, stuck], maximize=True) is heavy
    behind = _learner(_trial(0, 3, 0.70))  # its portfolio's next two wait; ECI max(3, 6) = 6
    assert next_learner([behind, best], maximize=True) is best


def test_a_learner_not_yet_started_waits_only_while_its_share_still_holds_its_first_trial() -> None:
    """Behind a leader that keeps improving cheaply, an expensive learner waits by ECI; with the
    search's time left known, it is started once the others would leave its equal share too
    small for its first trial, and not earlier; one its share no longer holds keeps its order."""
    heavy = _learner(cost=Cost(10.0))  # 5 folds of 1,000 rows: 5 s
    best = _learner(_trial(0, 1, 0.80), _trial(1, 1, 0.90))  # ECI 1
    assert next_learner([heavy, best], maximize=True) is best  # no time known: ECI alone
    assert next_learner([heavy, best], maximize=True, left=20.0) is best  # slack 20 - 5 = 15
    assert next_learner([heavy, best], maximize=True, left=5.5) is heavy  # slack 0.5 < 1
    assert allocation.slack(5.0, 5.5, untried=1) == pytest.approx(0.5)
    # Two learners still to start share what is left: 12 s hold two 5 s first trials, 2 s over.
    assert allocation.slack(5.0, 12.0, untried=2) == pytest.approx(2.0)
    # A share that no longer holds it: its expected cost, as without the time known.
    assert allocation.slack(5.0, 4.0, untried=1) == pytest.approx(5.0)
    assert next_learner([heavy, best], maximize=True, left=4.0) is best


def test_a_declared_cost_predicts_one_fit_per_fold_on_the_rows_the_trials_see() -> None:
    cost = Cost(2.0, rows=2.0, columns=0.5, outputs=1.0)
    assert cost.of(10_000, 10, 1) == pytest.approx(2.0)
    assert cost.of(20_000, 40, 3) == pytest.approx(2.0 * 4 * 2 * 3)
    learner = _learner(cost=Cost(1.0))  # linear in rows and columns
    assert learner.predicted() == pytest.approx(5 * 0.1)  # 5 folds of 1,000 rows
    learner.rows = 500  # a sample
    assert learner.predicted() == pytest.approx(5 * 0.05)
    assert _learner().predicted() is None


def test_the_machine_scales_declared_costs_by_the_lower_median_first_trial() -> None:
    assert costs.speed([]) == 1.0
    # (took, predicted): a trial predicted under CALIBRATES tells nothing, however long it took
    # (fixed costs); median of 2, 3 and 4 is 3.
    assert costs.speed([(5.0, 0.01), (2.0, 1.0), (3.0, 1.0), (8.0, 2.0)]) == pytest.approx(3.0)
    # One that took little of what it was predicted counts: dropping it would keep only the
    # trials the costs underpredicted.
    assert costs.speed([(0.1, 1.0), (0.2, 1.0), (1.3, 1.0)]) == pytest.approx(0.2)
    # Of an even count, the lower of the middle two: nursery's linear model (9x) beside k-NN
    # (1.3x) took 5.1 by the median, and kept the boosting learners out.
    assert costs.speed([(9.0, 1.0), (1.3, 1.0)]) == pytest.approx(1.3)
    assert costs.speed([(100.0, 1.0)]) == costs.SPEEDS[1]  # one odd trial is bounded
    assert costs.speed([(0.001, 1.0)]) == costs.SPEEDS[0]
    first = _trial(0, 2.0, 0.9)
    learner = _learner(first, cost=Cost(1.0))
    took, predicted = learner.measured()
    assert took == pytest.approx(2.0) and predicted == pytest.approx(0.5)


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


def test_a_learner_the_search_never_came_to_says_what_its_first_trial_was_expected_to_take() -> (
    None
):
    from automl.search.budget import _left_early

    learner = _learner(cost=Cost(60.0))
    learner.study = optuna.create_study()
    _left_early(learner, 30.0)
    assert learner.skipped == (
        "not started: its first trial was expected to take 30.0 s, more than the other learners' "
        "next improvements until the budget was spent"
    )
    assert learner.study.user_attrs["result"]["error"] == f"skipped: {learner.skipped}"
    unknown = _learner()
    unknown.study = optuna.create_study()
    _left_early(unknown, 0.0)
    assert unknown.skipped == "no time was left of the budget for its first trial"


class _Ending:
    """A learner at the end of a budget, as the schedule's final models see it."""

    def __init__(self, refit: float, bag: float | None, final: str = "auto") -> None:
        self.exp = SimpleNamespace(final=final, model=f"refit {refit}, bag {bag}")
        self.study = optuna.create_study()
        self._refit, self._bag = refit, bag

    def refit_cost(self, maximize: bool) -> float:
        return self._refit

    def fallback_cost(self, maximize: bool) -> float:
        return self._bag or 0.0

    def held(self, maximize: bool) -> bool:
        return self._bag is not None

    def refitted(self, maximize: bool) -> bool:
        return False

    def best_trial(self, maximize: bool) -> optuna.trial.FrozenTrial:
        return _trial(3, 1.0, 0.9)


def test_a_final_model_besides_the_picks_starts_only_where_its_estimate_with_margin_fits() -> None:
    """An SVM refit estimated at 2.5 s with its margin (1.7 s without) is not started where, with
    a spare for the ensemble, it does not fit: stopped by the budget, it would make no row and
    take the ensemble's time; its bag is taken where one is at hand and fits, and a learner with
    neither says why. The room is measured with the learner's study open in the worker; the spare
    a model starts beside is a fresh worker's start, or the model's estimate where that is less
    (a whole restart beside each skipped the cheap ones); its cap keeps as much of the restart as
    the room allows, since a cheap model that stalls is stopped and the worker started again."""
    from automl.search.budget import _Schedule

    schedule = object.__new__(_Schedule)
    left = 4.5 + allocation.BLENDING + 1.0  # 4.5 s of room for final models
    clock = SimpleNamespace(left=lambda: left, closing=1.0)
    schedule.learners, schedule.clock, schedule.maximize = [], clock, True
    opened: list[str] = []
    schedule.fits = SimpleNamespace(call=lambda request: opened.append(request.experiment.model))
    made: list[tuple[str, bool, float]] = []

    def refit(learner: _Ending, bag: bool = False, opened: bool = False, spare: float = 0) -> str:
        assert opened
        made.append((learner.exp.model, bag, spare))
        return "made"

    schedule._refit = refit  # type: ignore[method-assign]
    cheap, fits, bagged = _Ending(0.2, None), _Ending(1.9, 0.5), _Ending(2.5, 0.5)
    for learner in (cheap, fits, bagged):
        assert schedule._final(learner) == "made"
    assert made == [  # started beside the restart's room, or the estimate's if less; capped
        ("refit 0.2, bag None", False, allocation.RESTART),  # with the restart kept, if it fits:
        ("refit 1.9, bag 0.5", False, 4.5 - 1.9),  # one that stalls is stopped before the
        ("refit 2.5, bag 0.5", True, allocation.RESTART),  # ensemble's time
    ]
    neither, too_big_a_bag = _Ending(2.5, None), _Ending(2.5, 2.4)
    asked_refit = _Ending(2.5, 0.5, final="refit")
    for learner in (neither, too_big_a_bag, asked_refit):
        result = schedule._final(learner)
        assert result.error == (
            "skipped: no time was left of the budget for its refit (2.5 s expected, 2.0 s left "
            "beside the ensemble's)"
        )
        assert learner.study.user_attrs["result"]["error"] == result.error
    slow = schedule._final(_Ending(4.0, None))  # beside a whole restart
    assert slow.error.endswith("(4.0 s expected, 1.5 s left beside the ensemble's)")
    assert len(made) == 3 and len(opened) == 7


def test_a_bag_kept_only_in_its_file_counts_its_loading(tmp_path: Path) -> None:
    """A bag the live worker does not hold is loaded from its file before it predicts: its cost
    counts the loading at a saved model's rate (a forest's bag on magic, given 0.3 s, was stopped
    at 0.4 before its first prediction); the live worker's own bag needs no loading."""
    desc = SimpleNamespace(cost=None, folds=5, repeats=1, rows=10_000, columns=10, outputs=1,
                           test_rows=1_000, final="auto")  # fmt: skip
    best = _trial(0, 1.2, 0.9)
    best.set_user_attr("predict_time", 0.01)
    best.set_user_attr("pid", 7)
    exp = SimpleNamespace(artifacts=str(tmp_path), identity=lambda: {"model": "m"})
    learner = Learner(exp=exp, desc=desc, study=None, n_trials=9)  # type: ignore[arg-type]
    learner.trials = [best]
    bag = 1.5 * 0.01 * 1.0 * 5 + 0.2  # five fold models predict 1,000 test rows each
    assert learner._bag_cost(best) == pytest.approx(bag)  # no file, nor a live holder
    path = bag_files.path(str(tmp_path), learner._bag_key, 0)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"0" * 30 * 2**20)  # 30 MiB
    assert learner._bag_cost(best) == pytest.approx(bag + 30 * allocation.SECONDS_PER_MIB)
    learner.live = 7  # held by the live worker: nothing to load
    assert learner._bag_cost(best) == pytest.approx(bag)


def test_a_refits_estimate_counts_the_bag_scored_beside_it_and_the_explanations_probe(
    tmp_path: Path,
) -> None:
    """A holdout learner of 10,000 rows (2,000 validated) whose best trial fitted in 1.0 s and
    predicted in 0.1 s, 5,000 test rows of 10 columns: its refit, 1.5 x (1.0 / 0.8 + 0.1 x 2.5)
    + 0.2; with its bag at hand, the bag's test score beside it, 1.5 x 0.1 x 2.5 + 0.2; and the
    explanation's first prediction of 2,000 test rows, 1.5 x 0.1 (its permutations take a tenth
    of what the cap leaves, never more than the cap)."""
    desc = SimpleNamespace(cost=None, folds=1, repeats=1, rows=10_000, columns=10, outputs=1,
                           test_rows=5_000, final="auto")  # fmt: skip
    best = _trial(0, 1.2, 0.9)
    best.set_user_attr("fit_time", 1.0)
    best.set_user_attr("predict_time", 0.1)
    best.set_user_attr("pid", 7)
    exp = SimpleNamespace(artifacts=None, identity=lambda: {"model": "m"})
    learner = Learner(exp=exp, desc=desc, study=None, n_trials=9)  # type: ignore[arg-type]
    learner.trials = [best]
    refit, beside, probe = 1.5 * (1.0 / 0.8 + 0.25) + 0.2, 1.5 * 0.25 + 0.2, 1.5 * 0.1
    assert learner.refit_cost(True) == pytest.approx(refit + probe)  # no bag at hand
    learner.live = 7  # the live worker holds its trial's model
    assert learner.refit_cost(True) == pytest.approx(refit + probe + beside)
    assert learner.fallback_cost(True) == pytest.approx(beside + probe)
    learner.live = 8  # a replaced worker: a bag kept in its file is not loaded to be scored
    exp.artifacts = str(tmp_path)
    kept = bag_files.path(str(tmp_path), learner._bag_key, 0)
    kept.parent.mkdir(parents=True)
    kept.write_bytes(b"0" * 2**20)
    assert learner.refit_cost(True) == pytest.approx(refit + probe)
    assert learner.fallback_cost(True) == pytest.approx(beside + 0.25 + probe)  # loaded: 1 MiB


class _Waiting:
    """A learner at the end of its search, as the reserve sees it."""

    def __init__(self, score: float, refit: float, bag: float, baseline: bool = False) -> None:
        self.score, self.refit, self.bag = score, refit, bag
        self.complete = [object()]
        self.desc = SimpleNamespace(baseline=baseline)

    def refitted(self, maximize: bool) -> bool:
        return False

    def best(self, maximize: bool) -> float:
        return self.score

    def refit_cost(self, maximize: bool) -> float:
        return self.refit

    def fallback_cost(self, maximize: bool) -> float:
        return self.bag


def test_the_search_keeps_time_for_the_leaders_final_model_and_the_next_bags_only() -> None:
    """The end's reserve holds the leader's refit and the bags of the next KEPT - 1 learners (each
    with the spare the end starts it beside); a weaker learner's slow bag (an SVM predicting many
    test rows) does not end the search early, and is made after it only where time is left. A
    baseline, never an ensemble member, takes no place among them."""
    clock = SimpleNamespace(closing=1.0)
    leader, second, third = (
        _Waiting(0.9, 2.0, 0.5),
        _Waiting(0.8, 9.0, 0.3),
        _Waiting(0.7, 9.0, 0.2),
    )
    weak_and_slow, baseline = _Waiting(0.6, 20.0, 9.0), _Waiting(0.85, 0.1, 0.1, baseline=True)
    learners = [weak_and_slow, third, baseline, leader, second]
    ended = allocation.blending(learners) + 1.0
    kept = allocation.reserve(learners, clock, True, False)  # type: ignore[arg-type]
    assert allocation.KEPT == 3 and kept == pytest.approx(2.0 + 0.6 + 0.4 + ended)
    assert allocation.reserve(learners, clock, True, True, but=second) == pytest.approx(  # type: ignore[arg-type]
        2.0 + 0.4 + ended + allocation.RESTART
    )
    assert allocation.reserve(learners, clock, True, False, but=leader) == pytest.approx(  # type: ignore[arg-type]
        0.6 + 0.4 + ended  # the running leader's refit is counted by its own cap
    )
    minimize = [_Waiting(s.score, s.refit, s.bag) for s in learners]  # now the lowest leads
    assert allocation.reserve(minimize, clock, False, False) == pytest.approx(  # type: ignore[arg-type]
        20.0 + 0.4 + 0.6 + ended
    )
    tied = [_Waiting(0.9, 5.0, 0.1), _Waiting(0.9, 2.0, 0.1), _Waiting(0.5, 1.0, 0.1)]
    assert allocation.reserve(tied, clock, True, False) == pytest.approx(  # type: ignore[arg-type]
        2.0 + 0.2 + 0.2 + allocation.blending(tied) + 1.0  # the cheaper of a tie leads
    )


def test_a_worker_stopped_at_a_final_models_cap_takes_the_bags_it_held() -> None:
    """After a final model stopped by its cap (the worker gone, or a fresh one started), no
    learner's bag is taken for held by the live process: it is loaded from its file, at its
    cost, or is not at hand; with fits in this process nothing is stopped."""
    from automl.search.budget import _Schedule

    schedule = object.__new__(_Schedule)
    clock = SimpleNamespace(left=lambda: 30.0, closing=1.0)
    first, second = SimpleNamespace(live=7, complete=[]), SimpleNamespace(live=7, complete=[])
    schedule.learners, schedule.clock = [first, second], clock
    loop = SimpleNamespace(refit=lambda seconds, bag: "stopped")
    learner = SimpleNamespace(loop=loop)
    schedule.fits = SimpleNamespace(pid=7)  # the same worker: still held
    assert schedule._refit(learner, opened=True) == "stopped"  # type: ignore[arg-type]
    assert first.live == 7 and second.live == 7
    schedule.fits = SimpleNamespace(pid=None)  # stopped: the worker is gone
    schedule._refit(learner, opened=True)  # type: ignore[arg-type]
    assert first.live is None and second.live is None
    first.live = 7
    schedule.fits = SimpleNamespace()  # in this process
    schedule._refit(learner, opened=True)  # type: ignore[arg-type]
    assert first.live == 7
