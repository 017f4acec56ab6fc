"""One time budget across learners: the whole comparison of a dataset, from start to the last
leaderboard, within ``budget`` seconds.

Each learner keeps its own study (its row on the leaderboard is its own result under its share of
the time). The loop beside :func:`automl.search.study.run`:

1. **Portfolio first.** Every learner's known-good configurations (``Model.portfolio``: its
   defaults, then ones its plugin measured) are queued in its study and run round-robin: each
   learner's first, then each one's second...
2. **Then where it pays.** The rest of the time goes, one trial at a time, to the learner with the
   lowest *estimated cost for improvement* (FLAML's ECI, Wang et al., MLSys 2021): the seconds it
   took to improve last time, or since, or, for a learner behind the best, the seconds its last rate
   of improvement needs to close the gap.
3. **A hard cap per trial.** Every fit runs in the watched worker under a cap of the time left less
   what the refits, the ensemble and the leaderboards still need; a fit past it is stopped, and the
   trial is recorded as stopped by the budget. A learner whose cheapest configuration no longer fits
   in what is left leaves the search, and the allocation says why.
4. **Refits, then an ensemble.** Each learner's best is refitted on all development rows, best
   learners first; greedy ensemble selection (automl.fitting.ensemble) over their stored validation
   predictions chooses weights, and the blend of the refits' test predictions is scored once. The
   ensemble's members are those refits (the learners' own rows), so it costs no extra fit and its
   test score comes from the very models the leaderboard reports; averaging the fold models of
   cross-validation instead would keep k models per member and fit nothing the rows show.

The storage holds everything, so the same command resumes: the trials, the refits and the predictions
are read back, and the seconds of the budget used by earlier runs (``AllocationRecord.used``) are
taken off this run's.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from automl._version import __version__
from automl.fitting import ensemble
from automl.fitting.isolation import Limits, runner
from automl.fitting.protocol import Blend, Description, Open, Runner
from automl.plugin.errors import NotApplicable
from automl.search.recovery import recover, retry_stale
from automl.search.study import (
    FINISHED,
    Interrupted,
    Summary,
    _objective,
    _provenance,
    _refit,
    evidence,
    model_path,
    open_study,
    study_name,
    summarize,
)
from automl.settings.experiment import Experiment
from automl.storage import artifacts
from automl.storage.records import (
    ALLOCATION,
    ENSEMBLE,
    ERROR,
    FIT_TIME,
    PREDICT_TIME,
    PREDICTIONS,
    PROBLEM,
    RESULT,
    RUN,
    STOPPED_BY_BUDGET,
    SURPLUS,
    AllocationRecord,
    ProblemRecord,
    ResultRecord,
    counted,
    span,
)
from automl.storage.urls import open_storage

log = logging.getLogger(__name__)

# Seconds kept back for writing the leaderboards and leaving, besides the refits and the ensemble.
CLOSING = 1.5
CLOSING_SHARE = 0.02  # and this share of the budget
BLENDING = 0.5  # seconds for the ensemble's selection (measured: under 0.1 s on 45,000 rows)
RESTART = 3.0  # seconds a fresh worker needs (spawn and imports) before it loads the data again
SHORTEST = 0.2  # a trial given less than this is not started


def process_started() -> float:
    """When this process started, on ``time.monotonic()``'s clock (Linux: from /proc), so that
    a budget covers the interpreter's start and the imports; elsewhere, now."""
    try:
        with open("/proc/self/stat") as stat:
            ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as uptime:
            up = float(uptime.read().split()[0])
        age = up - ticks / os.sysconf("SC_CLK_TCK")
        return time.monotonic() - max(0.0, age)
    except (OSError, ValueError, IndexError):
        return time.monotonic()


@dataclass
class Learner:
    """One learner of the comparison: its experiment, its opened problem and its study."""

    exp: Experiment
    desc: Description
    study: optuna.Study
    n_trials: int
    objective: Any = None
    skipped: str | None = None  # why it left the search early
    full: bool = False  # its last ask was surplus: no more trials for it in this run
    trials: list[FrozenTrial] = field(default_factory=list)  # counted ones, as last read

    def read(self) -> None:
        self.trials = counted(self.study.get_trials(deepcopy=False))

    @property
    def finished(self) -> list[FrozenTrial]:
        return [t for t in self.trials if t.state in FINISHED]

    @property
    def complete(self) -> list[FrozenTrial]:
        return [t for t in self.trials if t.state == TrialState.COMPLETE]

    @property
    def waiting(self) -> bool:
        return any(t.state == TrialState.WAITING for t in self.trials)

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

    def best(self, maximize: bool) -> float | None:
        values = [t.value for t in self.complete if t.value is not None]
        return (max if maximize else min)(values) if values else None

    def cheapest(self) -> float | None:
        """The shortest fit among its finished trials (failed ones too: they cost the same)."""
        spans = [span(t) for t in self.finished]
        return min(spans) if spans else None

    @property
    def refit_ratio(self) -> float:
        """A refit's seconds per second of one of its trials: a k-fold trial fits k times on
        (k-1)/k of the rows, the refit once on all of them; a holdout trial once on 4/5."""
        folds = max(self.desc.folds, 1)
        return 1.5 / (folds - 1) if folds > 1 else 1.5 / 0.8

    def refit_cost(self, maximize: bool) -> float:
        """Seconds its refit may take: its best trial's fit on one fold, scaled to all
        development rows, and its prediction scaled to the test rows, with a margin."""
        complete = self.complete
        if not complete:
            return 0.0
        best = (max if maximize else min)(complete, key=lambda t: t.value)
        folds = max(self.desc.folds, 1)
        share = (folds - 1) / folds if folds > 1 else 1 - 0.2  # rows a fold's fit saw
        fit = float(best.user_attrs.get(FIT_TIME, span(best) / folds))
        predict = float(best.user_attrs.get(PREDICT_TIME, 0.0))
        validated = self.desc.rows / folds if folds > 1 else self.desc.rows * 0.2
        tested = self.desc.test_rows / validated if validated and self.desc.test_rows else 1.0
        return 1.5 * (fit / share + predict * tested) + 0.2


def eci(learner: Learner, best: float | None, maximize: bool) -> float:
    """FLAML's estimated cost for improvement of one learner, in seconds of search."""
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
    rate = abs(value - previous) / max(k1 - k2, 1e-9)
    return max(own, abs(best - value) / rate if rate > 0 else math.inf)


@dataclass(frozen=True)
class Comparison:
    """What a budget's run holds: each learner's summary, the ensemble's study, what was skipped."""

    summaries: list[Summary]
    ensemble: str | None
    not_applicable: list[str]
    used: float
    skipped: dict[str, str] = field(default_factory=dict)  # learner: why the budget left it out

    @property
    def studies(self) -> list[str]:
        return [s.study for s in self.summaries] + ([self.ensemble] if self.ensemble else [])


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


def _ensemble_study(learners: Sequence[Learner], exp: Experiment, storage: Any) -> optuna.Study:
    desc = learners[0].desc
    members = sorted(one.study.study_name for one in learners)
    name = study_name(desc.dataset, ENSEMBLE, exp.seed, {"members": members})
    study = optuna.create_study(
        study_name=name, storage=storage, direction=desc.direction, load_if_exists=True
    )
    if PROBLEM not in study.user_attrs:
        record = ProblemRecord(
            dataset=desc.dataset, model=ENSEMBLE, seed=exp.seed, metric=desc.metric,
            direction=desc.direction, task=desc.task, version=__version__,
            config={"members": members, "data": desc.fingerprint}, kind=ENSEMBLE,
            validation=desc.validation,
        )  # fmt: skip
        study.set_user_attr(PROBLEM, record.stored())
    study.set_user_attr(RUN, _provenance(exp).stored())
    return study


def run(exps: Sequence[Experiment], seconds: float, started: float) -> Comparison:
    """Compare the learners of ``exps`` (one dataset, one seed) within ``seconds`` counted from
    ``started`` (on ``time.monotonic()``'s clock): search, refits and ensemble."""
    first = exps[0]
    run_fit = runner(first.isolation, Limits(first.trial_timeout, first.memory), None)
    storage = open_storage(first.storage, heartbeat=first.heartbeat, on_stale=retry_stale)
    learners: list[Learner] = []
    not_applicable: list[str] = []
    for exp in exps:
        try:
            desc = run_fit.call(Open(exp))
        except NotApplicable as error:
            not_applicable.append(str(error))
            continue
        study, n_trials = open_study(exp, desc, storage)
        recover(study)  # trials of a killed run: closed and queued again
        for params in desc.portfolio:
            chosen = {k: v for k, v in params.items() if k in desc.space.searched}
            if chosen:
                study.enqueue_trial(chosen, skip_if_exists=True)
        learner = Learner(exp, desc, study, n_trials)
        learner.read()
        learners.append(learner)
    if not learners:
        raise NotApplicable("no learner applies: " + "; ".join(not_applicable))
    board = _ensemble_study(learners, first, storage)
    allocation = AllocationRecord.read(board.user_attrs.get(ALLOCATION, {}))
    clock = Clock(started, seconds, allocation.used)
    maximize = learners[0].desc.direction == "maximize"
    folder = first.artifacts or os.path.join(os.path.dirname(first.storage) or ".", "artifacts")

    def save() -> None:
        record = AllocationRecord(
            budget=seconds,
            updated=datetime.now().isoformat(),  # naive local time, as Optuna stamps trials
            used=round(clock.used(), 3),
            validation=learners[0].desc.validation,
            learners={
                one.exp.model: {
                    "study": one.study.study_name,
                    "seconds": round(one.seconds, 3),
                    "trials": len(one.finished),
                    **({"skipped": one.skipped} if one.skipped else {}),
                }
                for one in learners
            },
        )
        board.set_user_attr(ALLOCATION, record.stored())

    try:
        _search(learners, run_fit, clock, maximize, folder, save)
        results = _refits(learners, run_fit, clock, maximize, folder)
        _blend(learners, results, run_fit, board, folder, maximize, clock)
    except KeyboardInterrupt:
        save()
        raise Interrupted(board.study_name) from None
    save()
    summaries = [
        summarize(one.study, one.exp, one.desc, results.get(one.exp.model)) for one in learners
    ]  # fmt: skip
    skipped = {one.exp.model: one.skipped for one in learners if one.skipped}
    return Comparison(summaries, board.study_name, not_applicable, clock.used(), skipped)


def _reserve(
    learners: Sequence[Learner],
    clock: Clock,
    maximize: bool,
    dead: bool,
    but: Learner | None = None,
) -> float:
    """Seconds the end needs: every refit still to do (but ``but``'s), the ensemble, closing (and
    a fresh worker when the last one was stopped)."""
    refits = 0.0
    for learner in learners:
        if learner is but:
            continue
        result = learner.study.user_attrs.get(RESULT) or {}
        best = _best(learner, maximize)
        if best is not None and result.get("best_trial") != best.number:
            refits += learner.refit_cost(maximize)
    return refits + BLENDING + clock.closing + (RESTART if dead else 0.0)


def _best(learner: Learner, maximize: bool) -> FrozenTrial | None:
    complete = learner.complete
    return (max if maximize else min)(complete, key=lambda t: t.value) if complete else None


def _next(learners: Sequence[Learner], maximize: bool) -> Learner | None:
    """The learner whose trial runs next: portfolio configurations round-robin, then ECI."""
    open_ = [one for one in learners if not one.skipped and not one.done]
    if not open_:
        return None
    queued = [one for one in open_ if one.waiting or not one.finished]
    if queued:
        return min(queued, key=lambda one: len(one.finished))  # ties: the earlier learner
    values = [v for v in (one.best(maximize) for one in open_) if v is not None]
    everyone = [v for v in (one.best(maximize) for one in learners) if v is not None] or values
    best = (max if maximize else min)(everyone) if everyone else None
    return min(open_, key=lambda one: eci(one, best, maximize))


def _search(
    learners: Sequence[Learner],
    run_fit: Runner,
    clock: Clock,
    maximize: bool,
    folder: str,
    save: Any,
) -> None:
    current: Learner | None = None
    dead = False
    share: list[float | None] = [None]  # a trial's cap besides what is left: its fair share
    running: list[Learner | None] = [None]

    def cap() -> float:
        """What the running trial may take: the time left less the other learners' refits, with
        room for its own refit should it become its learner's best, and at most its share."""
        learner = running[0]
        other = _reserve(learners, clock, maximize, True, but=learner)
        ratio = learner.refit_ratio if learner is not None else 0.0
        general = max((clock.left() - other) / (1 + ratio), 0.0)
        return general if share[0] is None else min(general, share[0])

    while True:
        left = clock.left() - _reserve(learners, clock, maximize, dead)
        learner = _next(learners, maximize)
        if learner is None or left < SHORTEST:
            break
        cheapest = learner.cheapest()
        if cheapest is not None and cheapest > left:
            learner.skipped = (
                f"its cheapest configuration took {cheapest:.1f} s; "
                f"{max(left, 0):.1f} s of the budget were left"
            )
            log.info("%s: %s", learner.exp.model, learner.skipped)
            continue
        # Until every learner has had a first trial, none may take more than an equal share of
        # what is left: one slow learner cannot starve the others of their first. Later, a trial
        # may take four times its learner's longest so far, or an equal share among the learners
        # still searching, whichever is more.
        untried = [one for one in learners if not one.skipped and not one.finished]
        searching = [one for one in learners if not one.skipped and not one.done]
        if learner in untried:
            share[0] = left / len(untried)
        else:
            longest = max(map(span, learner.finished))
            share[0] = max(4 * longest, left / max(len(searching), 1))
        running[0] = learner
        if learner is not current:
            run_fit.call(Open(learner.exp))  # a stopped worker is replaced here
            current, dead = learner, False
        if cap() < SHORTEST:
            break
        if learner.objective is None:
            learner.objective = _objective(
                run_fit, learner.desc.space, learner.n_trials, cap=cap, artifacts=folder
            )
        before = len(learner.finished)
        asked = len(learner.study.get_trials(deepcopy=False))
        learner.study.optimize(learner.objective, n_trials=1, catch=(Exception,))
        learner.read()
        last = learner.study.get_trials(deepcopy=False)[asked:]
        learner.full = any(t.user_attrs.get(SURPLUS) for t in last)
        stopped = learner.finished[before:] if len(learner.finished) > before else []
        if any(t.user_attrs.get(STOPPED_BY_BUDGET) for t in stopped):
            learner.skipped = (
                "its first trial did not fit in its share of the budget"
                if before == 0
                else "its trial was stopped by the budget"
            )
            dead, current = True, None  # the worker was stopped with it
        elif len(learner.finished) >= 3 and not learner.complete:
            learner.skipped = "its first 3 trials failed"
        save()
    for learner in learners:
        if not learner.complete and not learner.skipped:
            if any(t.user_attrs.get(STOPPED_BY_BUDGET) for t in learner.finished):
                learner.skipped = "its trial was stopped by the budget"  # in an earlier run
            elif not learner.finished:
                learner.skipped = "no time was left of the budget for its first trial"
        if learner.skipped and not learner.complete:
            errors = [t.user_attrs[ERROR] for t in learner.finished if ERROR in t.user_attrs]
            why = f"skipped: {learner.skipped}" + (f" ({errors[-1]})" if errors else "")
            learner.study.set_user_attr(RESULT, ResultRecord(error=why).stored())


def _refits(
    learners: Sequence[Learner], run_fit: Runner, clock: Clock, maximize: bool, folder: str
) -> dict[str, ResultRecord]:
    """Refit each learner's best within what the budget has left: the best learner first (the
    pick's model), then the cheapest first, so that as many rows as the time allows have one."""
    results: dict[str, ResultRecord] = {}
    ranked = [one for one in learners if one.complete]
    sign = 1.0 if maximize else -1.0
    ranked.sort(key=lambda one: one.refit_cost(maximize))
    ranked.sort(key=lambda one: -sign * (one.best(maximize) or 0.0))
    ranked = ranked[:1] + sorted(ranked[1:], key=lambda one: one.refit_cost(maximize))
    for learner in ranked:
        best = _best(learner, maximize)
        stored = learner.study.user_attrs.get(RESULT) or {}
        cached = best is not None and stored.get("best_trial") == best.number
        needed = learner.refit_cost(maximize) / 1.5  # the estimate without its margin
        if not cached and clock.left() - BLENDING - clock.closing < needed:
            result = ResultRecord(
                best.number if best else None, {}, best.value if best else None,
                error="skipped: no time was left of the budget for its refit",
            )  # fmt: skip
            learner.study.set_user_attr(RESULT, result.stored())
            results[learner.exp.model] = result
            continue
        run_fit.call(Open(learner.exp))  # a worker stopped by the last refit is replaced here
        cap = max(clock.left() - BLENDING - clock.closing, SHORTEST)
        result = _refit(learner.study, run_fit, learner.desc.space, cap=cap, artifacts=folder)
        if result is not None:
            results[learner.exp.model] = result
    return results


def _blend(
    learners: Sequence[Learner],
    results: dict[str, ResultRecord],
    run_fit: Runner,
    board: optuna.Study,
    folder: str,
    maximize: bool,
    clock: Clock,
) -> None:
    """Choose and score the ensemble of the learners' refitted bests; record it on ``board``."""
    members = []
    for learner in learners:
        result = results.get(learner.exp.model)
        if result is None or result.error or result.predictions is None:
            continue
        trials = learner.study.get_trials(deepcopy=False)
        best = trials[result.best_trial] if result.best_trial is not None else None
        if best is None or PREDICTIONS not in best.user_attrs:
            continue
        members.append((learner, result, best))
    if not members:
        board.set_user_attr(
            RESULT, ResultRecord(error="no learner has predictions to blend").stored()
        )
        return
    key = {one.study.study_name: best.number for one, _, best in members}
    previous = board.user_attrs.get(RESULT) or {}
    if previous.get("members") == key and "error" not in previous and previous.get("scored"):
        return  # the same members as the stored ensemble: nothing to redo
    try:
        arrays = tuple(
            (artifacts.load(folder, best.user_attrs[PREDICTIONS]), artifacts.load(folder, r.predictions))
            for _, r, best in members
        )  # fmt: skip
        run_fit.call(Open(members[0][0].exp))
        models = tuple(r.model for _, r, _ in members if r.model)
        save = str(model_path(folder, board.study_name)) if len(models) == len(members) else None
        cap = max(clock.left() - clock.closing, SHORTEST)
        chosen = run_fit.call(Blend(arrays, ensemble.SIZE, models, save, cap))
    except KeyboardInterrupt:
        raise
    except Exception as error:  # the learners' rows stand; the ensemble says why it has none
        reason = f"the ensemble failed: {type(error).__name__}: {error}"[:2000]
        log.warning(reason)
        board.set_user_attr(RESULT, ResultRecord(error=reason).stored())
        return
    sign = 1.0 if maximize else -1.0
    top = max(range(len(members)), key=lambda i: sign * members[i][1].val_score)
    weights = list(chosen.weights)
    val, test = chosen.val_score, chosen.test_score
    made = {"model": chosen.model, "importance": chosen.importance, "n_classes": chosen.n_classes,
            **evidence(folder, chosen, board)}  # fmt: skip
    if not sign * val > sign * members[top][1].val_score:
        # No better than its best member as the leaderboard reports it: the ensemble is that member.
        weights = [1.0 if i == top else 0.0 for i in range(len(members))]
        val, test = members[top][1].val_score, members[top][1].test_score
        kept = ("model", "importance", "artifacts", "predictions", "scored", "truth", "n_classes")
        made = {k: getattr(members[top][1], k) for k in kept}
    used = [(m, w) for m, w in zip(members, weights, strict=True) if w > 0]
    record = ResultRecord(
        **made,
        params={m[0].exp.model: round(w, 4) for m, w in used},
        val_score=val,
        test_score=test,
        fit_time=sum(m[1].fit_time or 0.0 for m, _ in used),
        predict_time=sum(m[1].predict_time or 0.0 for m, _ in used),
        device=", ".join(sorted({m[1].device or "cpu" for m, _ in used})),
    )
    board.set_user_attr(RESULT, {**record.stored(), "members": key})
