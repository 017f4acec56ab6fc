"""How one budget's time is shared among the learners of a comparison.

A :class:`Learner` is one learner's study as the comparison sees it; the :class:`Clock` is the
budget's time; :func:`next_learner` says whose trial runs next (FLAML's estimated cost for
improvement, :func:`eci`, a learner not yet started counting its expected first trial,
:func:`first_cost`); :func:`share` says how long that trial may take; :func:`reserve` what the end
of the comparison (refits, ensemble, closing) still needs.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import optuna
from optuna.trial import FrozenTrial, TrialState

from automl.fitting import explain
from automl.fitting.protocol import Description
from automl.search import costs
from automl.search.costs import Earlier
from automl.search.trials import TrialLoop
from automl.settings.experiment import Experiment
from automl.storage import bag_files
from automl.storage.records import (
    ERROR,
    FIT_TIME,
    PID,
    POPULATION,
    PREDICT_TIME,
    RESULT,
    ROWS,
    counted,
    span,
)

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
# Seconds kept back for writing the leaderboards and leaving, besides the refits and the ensemble.
CLOSING = 1.5
CLOSING_SHARE = 0.02  # and this share of the budget
BLENDING = 0.5  # seconds for the ensemble's selection (measured: under 0.1 s on 45,000 rows)
# and per learner with a final model, for loading its model and writing it into the ensemble's
# file: on digits an extra-trees bag (5 x 200 trees) loads in 0.4 s and writes in 0.8 s, and the
# quick start's ensemble of bags, left 1.0 s, was stopped by the budget.
MEMBER = 0.25
# What a member whose saved model is at hand costs, at this many seconds per MiB (at least MEMBER):
# letter's extra-trees refit (40 MiB) loaded in 2.3 s and was written again in 1.9, and with a
# forest's bag beside it outran the 3.1 s its ensemble had (2026-12-05, seed 0).
SECONDS_PER_MIB = 0.1
# The learners, best first, whose final models the search keeps time for: the leader's and the
# bags at hand of the next ones, the ensemble's likely members (on the seven large tables of
# benchmarks/versus.py, seed 0, it weighted 1 to 4 learners, mostly among the best three); the
# others' are made after the search where time is left.
KEPT = 3
RESTART = 3.0  # seconds a fresh worker needs (spawn and imports) before it loads the data again
SHORTEST = 0.2  # a trial given less than this is not started
PREDICT_FLOOR = 1_000  # rows whose prediction costs about what a few rows' does (its fixed cost)
# Subsample-first search (FLAML's sample-size growth): on a fold of more training rows than this,
# a learner's trials start on a seeded sample of this many, and grow by GROWTH to all of them.
FIRST_SAMPLE = 10_000
GROWTH = 4


# A process older than its command's first instruction by more than this was not started for it: it
# ran something else first, then exec'd the command (a shell's last command, as in
# `sh -c 'pip install -e . && automl budget=60'`), and its age would count that against the budget.
EXEC_GRACE = 5.0


def process_started(began: float) -> float:
    """When this process started, on ``time.monotonic()``'s clock (Linux: from /proc), so that a
    budget covers the interpreter's start and the imports; ``began`` (when the command's own code
    began) if the process is older than that by more than ``EXEC_GRACE``, or elsewhere."""
    try:
        with open("/proc/self/stat") as stat:
            ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as uptime:
            up = float(uptime.read().split()[0])
        age = up - ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return began
    started = time.monotonic() - max(0.0, age)
    return started if began - started <= EXEC_GRACE else began


class Clock:
    """The budget's time: a deadline for this run, and what must be kept back for the end."""

    def __init__(self, started: float, seconds: float, used: float) -> None:
        self.started, self.seconds, self.used_before = started, seconds, used
        self.deadline = started + seconds - used
        self.closing = CLOSING + CLOSING_SHARE * seconds

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def used(self) -> float:
        return self.used_before + time.monotonic() - self.started


@dataclass
class Learner:
    """One learner of the comparison: its experiment, its opened problem, its study and the
    loop that runs its trials."""

    exp: Experiment
    desc: Description
    study: optuna.Study
    n_trials: int
    loop: TrialLoop = field(init=False, repr=False, compare=False)  # the schedule makes it
    skipped: str | None = None  # why it left the search early
    full: bool = False  # its last ask was surplus: no more trials for it in this run
    trials: list[FrozenTrial] = field(default_factory=list)  # counted ones, as last read
    # The process now fitting the comparison's trials, which holds each learner's best fold models
    # (automl.fitting.bag) if it fitted that trial; None: no live one (the last was stopped).
    live: int | None = None
    # The first trials of its earlier studies of the same problem under other seeds (costs.py).
    earlier: Earlier = field(default_factory=Earlier)
    # The training rows of each fold its next trials see (subsample-first); None: all of them.
    rows: int | None = None

    @property
    def _k(self) -> int:
        """Its validation folds per repeat (1: a holdout)."""
        return max(self.desc.folds, 1) // max(self.desc.repeats, 1)

    @property
    def _trained(self) -> float:
        """The share of the development rows a fold's fit sees: (k-1)/k, or 4/5 of a holdout."""
        k = self._k
        return (k - 1) / k if k > 1 else 0.8

    @property
    def fold_rows(self) -> int:
        """The training rows of one of its validation folds."""
        return int(self.desc.rows * self._trained)

    @cached_property
    def _bag_key(self) -> str:
        """Its study's key for its bags' files (automl.storage.bag_files), made once."""
        return bag_files.key(self.exp.identity())

    def first_rows(self) -> int | None:
        """The sample its trials start from, or go on with after a resume (the largest a completed
        trial saw; None once one saw all rows): all rows for a small table, or a population."""
        if self.fold_rows <= FIRST_SAMPLE or self.exp.population > 1:
            return None
        seen = [t.user_attrs.get(ROWS) for t in self.complete]
        if any(s is None for s in seen):
            return None
        return max([FIRST_SAMPLE, *seen])

    def grown(self) -> int | None:
        """The next sample size: GROWTH times this one, or all rows."""
        assert self.rows is not None
        bigger = self.rows * GROWTH
        return None if bigger >= self.fold_rows else bigger

    def read(self) -> None:
        self.trials = counted(self.study.get_trials(deepcopy=False))

    def predicted(self, rows: int | None = None) -> float | None:
        """Seconds a trial of its first configuration takes by its declared cost (Model.cost) on
        the reference machine: a fit on each validation fold of ``rows`` training rows (default:
        the rows its next trials see); None where it declares none."""
        cost = self.desc.cost
        if cost is None:
            return None
        seen = rows or self.rows or self.fold_rows
        return max(self.desc.folds, 1) * cost.of(seen, self.desc.columns, self.desc.outputs)

    def measured(self) -> tuple[float, float] | None:
        """Its first trial's seconds and what its cost predicted for them, once it completed:
        the evidence that scales every declared cost to this machine (costs.speed)."""
        first = next((t for t in self.complete if t.number == 0), None)
        if first is None:
            return None
        predicted = self.predicted(first.user_attrs.get(ROWS) or self.fold_rows)
        return None if predicted is None else (span(first), predicted)

    @property
    def finished(self) -> list[FrozenTrial]:
        return [t for t in self.trials if t.state in FINISHED]

    @property
    def complete(self) -> list[FrozenTrial]:
        return [t for t in self.trials if t.state == TrialState.COMPLETE]

    @property
    def done(self) -> bool:
        """Its trial budget is used: by finished trials, and by running ones, which hold their
        places (a trial a killed run left running, until recovery can close it, as in a study's
        own loop); or its last ask was surplus."""
        running = sum(t.state == TrialState.RUNNING for t in self.trials)
        return self.full or len(self.finished) + running >= self.n_trials

    @property
    def seconds(self) -> float:
        return sum(map(span, self.finished))

    def best_trial(self, maximize: bool) -> FrozenTrial | None:
        complete = self.complete
        return (max if maximize else min)(complete, key=lambda t: t.value) if complete else None

    def best(self, maximize: bool) -> float | None:
        values = [t.value for t in self.complete if t.value is not None]
        return (max if maximize else min)(values) if values else None

    def cheapest(self) -> float | None:
        """The shortest fit among its finished trials (failed ones too: they cost the same)."""
        spans = [span(t) for t in self.finished]
        return min(spans) if spans else None

    @property
    def bags(self) -> bool:
        """Whether its final model is its best trial's bag of fold models (no refit), as asked,
        where the trials are fitted one at a time (a population keeps none)."""
        return self.desc.final == "bag" and self.exp.population <= 1

    def bagged(self, maximize: bool) -> bool:
        """Whether its final model is its best trial's bag, at hand, so that it costs a
        prediction of the test split, not a refit (a bag of a sample's fold models is refitted on
        all rows where the budget allows)."""
        best = self.best_trial(maximize)
        return self.bags and self.held(maximize) and ROWS not in best.user_attrs

    def held(self, maximize: bool) -> bool:
        """Whether its best trial's fold models are at hand (held by the live process, or kept in
        a file), whatever its final model is to be."""
        best = self.best_trial(maximize)
        if best is None or POPULATION in best.user_attrs:
            return False  # a population's fold models are kept by none
        return self._live(best) or bag_files.kept(self.exp.artifacts, self._bag_key, best.number)

    def _live(self, best: FrozenTrial) -> bool:
        """Whether the live worker fitted ``best`` and so holds its fold models in memory."""
        return self.live is not None and best.user_attrs.get(PID) == self.live

    @property
    def refit_ratio(self) -> float:
        """A refit's seconds per second of one of its trials: a k-fold trial fits k times on
        (k-1)/k of the rows (k x r times, repeated r times), the refit once on all of them; a
        holdout trial once on 4/5. A bag is made of the trial's own fold models: a running trial
        needs no room for it."""
        if self.bags:
            return 0.0
        folds = max(self.desc.folds, 1)
        return 1.5 / (folds - self.desc.repeats) if folds > 1 else 1.5 / 0.8

    def refit_cost(self, maximize: bool) -> float:
        """Seconds its refit may take: its best trial's fit on one fold, scaled to all
        development rows, and its prediction scaled to the test rows, with a margin."""
        best = self.best_trial(maximize)
        if best is None:
            return 0.0
        if self.bagged(maximize):
            return self._bag_cost(best) + self._explained(best, max(self.desc.folds, 1))
        share = self._trained  # of the rows, what a fold's fit saw
        if ROWS in best.user_attrs and self.desc.rows:  # a sample of them
            share = min(share, int(best.user_attrs[ROWS]) / self.desc.rows)
        fit = float(best.user_attrs.get(FIT_TIME, span(best) / max(self.desc.folds, 1)))
        predict = float(best.user_attrs.get(PREDICT_TIME, 0.0))
        refit = 1.5 * (fit / share + predict * self._tested()) + 0.2
        # A bag of all rows' folds that the live worker holds is scored beside the refit
        # (automl.fitting.fitter; one kept only in its file is not loaded for it): a prediction
        # of the test split per fold model. Uncounted, a k-NN refit on adult estimated at 2.0 s
        # took 5.7.
        beside = ROWS not in best.user_attrs and self._live(best)
        return refit + self._explained(best) + (self._bag_cost(best) if beside else 0.0)

    def _bag_cost(self, best: FrozenTrial) -> float:
        """Seconds its bag of ``best``'s fold models takes: each predicts the test split; nothing
        is fitted. A bag the live worker does not hold is loaded from its file first, at the
        rate of a saved model's loading: uncounted, a forest's bag on magic (seed 0) was given
        0.3 s and stopped at 0.4, before its first prediction."""
        predict = float(best.user_attrs.get(PREDICT_TIME, 0.0))
        cost = 1.5 * predict * self._tested() * max(self.desc.folds, 1) + 0.2
        if not self._live(best) and bag_files.kept(self.exp.artifacts, self._bag_key, best.number):
            path = bag_files.path(str(self.exp.artifacts), self._bag_key, best.number)
            cost += member_cost(str(path))
        return cost

    def _explained(self, best: FrozenTrial, models: int = 1) -> float:
        """Seconds the saved final model's explanation takes beyond what its cap allows it
        (automl.fitting.explain): a tenth of the time the cap leaves, which never overruns the cap,
        and first one prediction of at most ROWS test rows by ``models`` models to estimate it,
        which may."""
        if self.desc.columns > explain.MAX_COLUMNS:
            return 0.0
        predict = float(best.user_attrs.get(PREDICT_TIME, 0.0))
        validated = max(self.desc.rows * (1 - self._trained), 1.0)
        return 1.5 * predict * min(self.desc.test_rows, explain.ROWS) / validated * models

    def fallback_cost(self, maximize: bool) -> float:
        """Seconds the end must keep for it when it is next to the leader: its bag's prediction
        where a bag is at hand (its final model, or the one it falls back to); nothing otherwise (its
        refit is made only if the time left allows)."""
        best = self.best_trial(maximize)
        if best is None or not self.held(maximize):
            return 0.0
        return self._bag_cost(best) + self._explained(best, max(self.desc.folds, 1))

    def _tested(self) -> float:
        """How many times a fold's prediction the test split's costs: its rows over a fold's
        validation rows, those counted as at least PREDICT_FLOOR (a prediction of a few rows is
        its fixed cost: on ItalyPowerDemand, 11 validation rows and 1,029 test rows, a forest's
        0.03 s scaled by rows reserved 24 s of a 60 s budget for predictions that took 0.3)."""
        validated = self.desc.rows * (1 - self._trained)
        return max(1.0, self.desc.test_rows / max(validated, PREDICT_FLOOR))

    def refitted(self, maximize: bool) -> bool:
        """Whether its study holds the refit of its best trial, made without error."""
        best = self.best_trial(maximize)
        stored = self.study.user_attrs.get(RESULT) or {}
        return best is not None and stored.get("best_trial") == best.number and ERROR not in stored


def eci(learner: Learner, best: float | None, maximize: bool) -> float:
    """FLAML's estimated cost for improvement of one learner, in seconds of search: for the
    leader, the longer of its last improvement's time and the time since; for a learner behind
    it, at least twice its gap to the best over its speed, the speed being its last improvement
    over the time from the improvement before to now (flaml/automl/automl.py,
    ``_select_estimator``). A speed over the last improvement's own interval alone, and the gap
    counted once, made a learner far behind look cheap: on a 16,500-row table k-NN, 30% behind
    in RMSE, ran seven trials in the middle of the minute while LightGBM, the best, waited."""
    spent, sign = 0.0, 1.0 if maximize else -1.0
    improved: list[tuple[float, float]] = []  # (seconds spent when found, value), each a new best
    for t in learner.finished:
        spent += span(t)
        if t.state == TrialState.COMPLETE and t.value is not None:
            if not improved or sign * t.value > sign * improved[-1][1]:
                improved.append((spent, t.value))
    if not improved:
        return spent  # nothing yet: its failures' cost
    k1, value = improved[-1]
    k2, previous = improved[-2] if len(improved) > 1 else (0.0, None)
    own = max(spent - k1, k1 - k2)
    if best is None or sign * value >= sign * best:
        return own
    if previous is None:
        return max(own, 2 * spent)
    rate = abs(value - previous) / max(spent - k2, 1e-9)
    return max(own, 2 * abs(best - value) / rate if rate > 0 else math.inf)


def next_learner(
    learners: Sequence[Learner], maximize: bool, left: float | None = None
) -> Learner | None:
    """The learner whose trial runs next: the lowest estimated cost for improvement (FLAML's
    ECI, :func:`eci`), where a learner not yet started counts what its first trial is expected to
    cost (:func:`first_cost`), as FLAML counts its learners' relative costs: the cheap ones start
    at once, an expensive one when the others' next improvements are expected to cost more. ECI
    also says when a learner's next portfolio configurations run. On a 36,000-row table a round
    robin of the portfolios spent 20 s of 60 on the second and third configurations of SVM, k-NN
    and the forests, and LightGBM, the best, ran two trials; on a 16,500-row table CatBoost's
    first trial, started in its turn, ran out 19.5 s of 60 and was stopped.

    With ``left``, the seconds the search has left, a learner not yet started waits no longer than
    its first trial still fits its equal share of them (:func:`share`): its cost is at most the
    time the others may take before that share falls below its expected first trial (:func:`slack`)
    (not for one whose first trial was only ever stopped: a share that once ran out may again).
    Else a learner expected to take a few seconds waits behind a cheap leader's steady small
    improvements until its share no longer holds it, and leaves the search without a trial: on
    nursery (seed 0) a decision tree ran 317 trials while LightGBM and XGBoost waited, and were
    left 1.9 s and 2.8 s of the budget."""
    open_ = [one for one in learners if not one.skipped and not one.done]
    if not open_:
        return None
    values = [v for v in (one.best(maximize) for one in open_) if v is not None]
    everyone = [v for v in (one.best(maximize) for one in learners) if v is not None] or values
    best = (max if maximize else min)(everyone) if everyone else None
    # The machine's measure of the declared costs, read only while some learner is still to start:
    # once every learner has, each trial's choice costs no pass over their first trials.
    speed = speed_of(learners) if any(not one.finished for one in open_) else 1.0

    untried = sum(1 for one in learners if not one.skipped and not one.finished)

    def cost(one: Learner) -> float:
        if one.finished:
            return eci(one, best, maximize)
        expected = first_cost(one, speed)
        if left is None or (one.earlier.stopped and not one.earlier.finished):
            return expected  # only stopped before: nothing says a share would hold it
        return min(expected, slack(expected, left, untried))

    return min(open_, key=cost)  # ties: the earlier learner


def slack(expected: float, left: float, untried: int) -> float:
    """Seconds the other learners may take of the ``left`` ones before the equal share of the
    ``untried`` learners no longer holds a first trial expected to take ``expected`` seconds; for
    one it does not hold now, its whole expected cost: starting it at once would not help it."""
    room = left - untried * expected
    return room if room >= 0 else expected


def speed_of(learners: Sequence[Learner]) -> float:
    """How many times their declared costs the learners' first trials took here (costs.speed)."""
    return costs.speed(m for m in (one.measured() for one in learners) if m is not None)


def first_cost(learner: Learner, speed: float) -> float:
    """Seconds its first trial is expected to take: as long as in its earlier studies of this
    problem, or its declared cost times ``speed``; 0 where neither tells (it starts at once)."""
    if learner.earlier.known:
        return learner.earlier.at_least() or 0.0
    predicted = learner.predicted()
    return 0.0 if predicted is None else speed * predicted


def share(learner: Learner, learners: Sequence[Learner], left: float) -> float:
    """The most a trial of ``learner`` may take of the ``left`` seconds, besides the cap. Until
    every learner has had a first trial, none may take more than an equal share of what is left
    among those still to start: one slow learner cannot starve the others of their first. Later,
    a trial may take four times its learner's longest so far, or an equal share among the
    learners still searching, whichever is more."""
    untried = [one for one in learners if not one.skipped and not one.finished]
    if learner in untried:
        return left / len(untried)
    searching = [one for one in learners if not one.skipped and not one.done]
    equal = left / max(len(searching), 1)
    longest = max(map(span, learner.finished))
    return max(4 * longest, equal)


def reserve(
    learners: Sequence[Learner],
    clock: Clock,
    maximize: bool,
    dead: bool,
    but: Learner | None = None,
) -> float:
    """Seconds the end needs (but ``but``'s part): the leader's final model (the learner with the
    best validation score, the likely pick: its refit, or its bag), the bags at hand of the
    ``KEPT - 1`` learners next to it (the ensemble's likely members), the ensemble, closing (and
    a fresh worker when the last one was stopped). The other learners' final models are made
    after the search in what is left, best first; they do not end the search early: on a large
    table one SVM whose best trial saw a sample reserved 25 s of a 60 s budget for a refit on all
    rows, and the search stopped at 19 s; and with every learner's bag kept, adult's search (seed
    0) ended at 34 s of 60, 9 s of its 23 s kept for an SVM's bag predicting 16,000 rows, which
    the end then had no room for."""
    leader, *near = kept(learners, maximize) or [None]
    ends = 0.0
    for one in learners:
        if not one.complete or one.refitted(maximize) or one is but:
            continue
        if one is leader:
            ends += one.refit_cost(maximize)
        elif any(one is other for other in near):
            ends += with_spare(one.fallback_cost(maximize))
    return ends + blending(learners) + clock.closing + (RESTART if dead else 0.0)


def kept(learners: Sequence[Learner], maximize: bool) -> list[Learner]:
    """The learners whose final models the search keeps time for (:func:`reserve`): the leader,
    and the ``KEPT - 1`` next to it but a baseline (never an ensemble member)."""
    scored = ranked(learners, maximize)
    return scored[:1] + [one for one in scored[1:] if not one.desc.baseline][: KEPT - 1]


def ranked(learners: Sequence[Learner], maximize: bool) -> list[Learner]:
    """The learners with a validation score, best first, ties to the cheaper refit: the order in
    which the end makes their final models (budget._Schedule.refits)."""
    sign = 1.0 if maximize else -1.0
    scored = [one for one in learners if one.best(maximize) is not None]
    scored.sort(key=lambda one: one.refit_cost(maximize))
    scored.sort(key=lambda one: -sign * (one.best(maximize) or 0.0))
    return scored


def with_spare(seconds: float) -> float:
    """What a final model estimated at ``seconds`` needs to be started at the end: its estimate
    and a spare for a fresh worker's start should it be stopped, or of the estimate if less
    (budget._Schedule._final)."""
    return seconds + min(RESTART, seconds)


def blending(learners: Sequence[Learner]) -> float:
    """Seconds the ensemble needs: its selection, and its candidates' models loaded and written.
    Flat per candidate: only the members the selection keeps are loaded (usually a few), and
    those too large for the time left are left out (automl.search.blend); by every candidate's
    size, adult's end (seed 0) kept 9 s of 60 back for an ensemble that took 0.4."""
    return BLENDING + MEMBER * sum(1 for one in learners if one.complete)


def member_cost(model: str | None) -> float:
    """Seconds an ensemble member's saved model (None: not made yet) takes to load and to be
    written into the ensemble's file."""
    try:
        size = os.path.getsize(model) if model else 0
    except OSError:
        size = 0
    return max(MEMBER, SECONDS_PER_MIB * size / 2**20)
