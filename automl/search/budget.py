"""One time budget across learners: the whole comparison of a dataset, from start to the last
leaderboard, within ``budget`` seconds.

Each learner keeps its own study (its row on the leaderboard is its own result under its share of
the time), whose trials run through the trial loop (:mod:`automl.search.trials`) as the plain
study's do; this module decides whose trial runs next and how long it may take
(:mod:`automl.search.allocation`):

1. **Where it pays.** Every learner's known-good configurations (``Model.portfolio``: its
   defaults, then ones its plugin measured) are queued in its study, and the time goes, one trial
   at a time, to the learner with the lowest *estimated cost for improvement* (FLAML's ECI, Wang
   et al., MLSys 2021): the seconds it took to improve last time, or since, or, for a learner
   behind the best, the seconds its last rate of improvement needs to close the gap. A learner not
   yet started counts what its first trial is expected to cost (:mod:`automl.search.costs`: its
   first configuration's time in an earlier study of the same problem under another seed, or else
   its declared cost, ``Model.cost``, scaled to this machine by the first trials already run), as
   FLAML counts its learners' relative costs: cheap learners start at once, an expensive one when
   the others' next improvements are expected to cost more. A learner expected to take more than
   its share is not started: it would spend its share and leave with nothing; nor is one the
   search never came to; their rows say why.
2. **Samples first on large tables** (FLAML's sample-size growth): where a fold has more than
   ``FIRST_SAMPLE`` training rows, a learner's trials see a seeded sample of that many (recorded
   on the trial as ``rows``); after a trial that is its best on the sample, if one four times as
   large would fit an equal share of the time left, its trials see four times as many rows (at
   last all), that best configuration first. A final model never is one fitted on a sample: a
   learner whose best trial saw one is refitted on all rows.
3. **A hard cap per trial.** Every fit runs in the watched worker under a cap of the time left less
   what the end still needs (the leader's final model, the bags of the next two learners, the
   ensemble and the leaderboards: the others' final models are made in what is left); a fit past
   it is stopped, and the trial is recorded as stopped by the budget. A learner whose cheapest
   configuration no longer fits in what is left leaves the search, and the allocation says why.
4. **Final models, then an ensemble.** The best learner's final model first (the pick's), then
   the others', best first, each only where its estimate with its margin fits in what the
   ensemble and the closing leave (else its bag where one is at hand, else none, its row saying
   why): one stopped by the budget makes no row and takes the worker, and the ensemble's time, with
   it. The ensemble (:mod:`automl.search.blend`) blends those final models, so it costs no extra
   fit and its test score comes from the very models the leaderboard reports.

The pick is always handed over: the best learner's refit is made even when no time is left for it
(the next best's if it fails), and the run says by how much the budget was exceeded; when no refit
can be made, :class:`Comparison` says why (``no_pick``) and the command fails in one line.

The storage holds everything, so the same command resumes: the trials, the refits and the
predictions are read back, and the seconds of the budget used by earlier runs
(``AllocationRecord.used``, recorded every :func:`tick` seconds, so a killed run's count too) are
taken off this run's.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from optuna.trial import FrozenTrial, TrialState

from automl.fitting.isolation import Limits, runner
from automl.fitting.protocol import Open, Runner
from automl.plugin.errors import NotApplicable
from automl.search import blend, costs
from automl.search.allocation import (
    GROWTH,
    RESTART,
    SHORTEST,
    Clock,
    Learner,
    blending,
    first_cost,
    kept,
    next_learner,
    ranked,
    reserve,
    share,
    speed_of,
    with_spare,
)
from automl.search.recovery import recover, retry_stale
from automl.search.study import Summary, open_study, summarize
from automl.search.trials import Interrupted, TrialLoop
from automl.settings.experiment import Experiment
from automl.storage.records import (
    ALLOCATION,
    ERROR,
    PID,
    RESULT,
    ROWS,
    STOPPED_BY_BUDGET,
    SURPLUS,
    AllocationRecord,
    ResultRecord,
    span,
)
from automl.storage.urls import open_storage

log = logging.getLogger(__name__)
# The pick's refit, when the budget has no time left for it, may take this many times its estimate
# (itself 1.5 times the best trial's fit, scaled to all rows) before the cap stops it.
PICK_CAP = 3.0
# After the refits, the search goes on where the end's estimates left at least this share of the
# budget unused, and a fresh worker's start (RESTART; a round's opening and refits cost about
# that), at most RESUMES times (each round's refits may leave a little again).
RESUME = 0.05
RESUMES = 2


@dataclass(frozen=True)
class Comparison:
    """What a budget's run holds: each learner's summary, the ensemble's study, what was skipped."""

    summaries: list[Summary]
    ensemble: str | None
    not_applicable: list[str]
    used: float
    skipped: dict[str, str] = field(default_factory=dict)  # learner: why the budget left it out
    no_pick: str | None = None  # why no refit succeeded though some learner completed a trial

    @property
    def studies(self) -> list[str]:
        return [s.study for s in self.summaries] + ([self.ensemble] if self.ensemble else [])


def _opened(
    exps: Sequence[Experiment], fits: Runner, storage: Any
) -> tuple[list[Learner], list[str]]:
    """The learners that apply to the data, each with its study opened, the trials of a killed
    run queued again and its portfolio queued; and why the others do not apply."""
    learners: list[Learner] = []
    not_applicable: list[str] = []
    others = storage.get_all_studies()  # the earlier studies every learner's costs look in
    for exp in exps:
        try:
            desc = fits.call(Open(exp))
        except NotApplicable as error:
            not_applicable.append(str(error))
            continue
        study, n_trials = open_study(exp, desc, storage)
        recover(study)  # trials of a killed run: closed and queued again
        for params in desc.portfolio:
            chosen = {k: v for k, v in params.items() if k in desc.space.searched}
            if chosen:
                study.enqueue_trial(chosen, skip_if_exists=True)
        learner = Learner(exp, desc, study, n_trials, earlier=costs.earlier(storage, study, others))
        learner.read()
        learner.rows = learner.first_rows()
        learners.append(learner)
    return learners, not_applicable


def run(exps: Sequence[Experiment], seconds: float, started: float) -> Comparison:
    """Compare the learners of ``exps`` (one dataset, one seed) within ``seconds`` counted from
    ``started`` (on ``time.monotonic()``'s clock): search, refits and ensemble."""
    first = exps[0]
    fits = runner(first.isolation, Limits(first.trial_timeout, first.memory), None)
    storage = open_storage(first.storage, heartbeat=first.heartbeat, on_stale=retry_stale)
    learners, not_applicable = _opened(exps, fits, storage)
    if not learners:
        raise NotApplicable("no learner applies: " + "; ".join(not_applicable))
    board = blend.ensemble_study(learners, first, storage)
    allocation = AllocationRecord.read(board.user_attrs.get(ALLOCATION, {}))
    folder = first.artifacts or os.path.join(os.path.dirname(first.storage) or ".", "artifacts")
    clock = Clock(started, seconds, allocation.used)
    schedule = _Schedule(learners, fits, clock, folder, board)
    try:
        with _ticking(schedule):
            schedule.search()
            log.info("search ended after %.1f s of %g: refitting each learner's best",
                     clock.used(), seconds)  # fmt: skip
            results = schedule.refits()
            for _ in range(RESUMES):
                spare = schedule.spare()
                if spare is None:
                    break
                log.info("refits made after %.1f s, %.1f s to spare: the search goes on",
                         clock.used(), spare)  # fmt: skip
                schedule.search()
                results = schedule.refits()
            log.info("refits made after %.1f s: blending them into an ensemble", clock.used())
            blend.blend(learners, results, fits, board, folder, schedule.maximize, clock)
    except KeyboardInterrupt:
        schedule.save()
        raise Interrupted(board.study_name) from None
    schedule.save()
    over = clock.used() - seconds
    if schedule.overrun and over > 0:
        log.warning(
            "the budget of %g s is exceeded by %.1f s: its pick was refitted all the same, the "
            "search (or earlier runs) having used the time its refit needed", seconds, over,
        )  # fmt: skip
    summaries = [
        summarize(one.study, one.exp, one.desc, results.get(one.exp.model)) for one in learners
    ]  # fmt: skip
    skipped = {one.exp.model: one.skipped for one in learners if one.skipped}
    used = clock.used()
    return Comparison(
        summaries, board.study_name, not_applicable, used, skipped, _no_pick(results, used)
    )


def _no_pick(results: dict[str, ResultRecord], used: float) -> str | None:
    """Why the comparison hands over no model, when its learners had trials but no refit."""
    if not results or any(not r.error for r in results.values()):
        return None
    model, result = next(iter(results.items()))  # the best learner's, tried first
    return (
        f"no pick: no learner's best could be refitted ({model}: {result.error}) after "
        f"{used:.1f} s; raise budget= or trial.timeout="
    )


def tick(seconds: float) -> float:
    """How often a run records the seconds it has used: a run killed at any moment (SIGKILL, the
    OOM killer) leaves at most this much of its time uncounted, under 0.5% of the budget."""
    return min(max(seconds / 200, 0.2), 10.0)


@contextmanager
def _ticking(schedule: _Schedule) -> Iterator[None]:
    """Record the allocation now and every :func:`tick` seconds until the block ends, from a
    thread, since the main one waits on fits: the seconds of a run killed mid-fit are taken off
    the budget of the next, not only those up to its last finished trial."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(tick(schedule.clock.seconds)):
            try:
                schedule.save()
            except Exception as error:  # a storage hiccup costs one beat, not the comparison
                log.debug("recording the seconds used failed: %s", error)

    schedule.save()
    beating = threading.Thread(target=beat, name="automl-budget-tick", daemon=True)
    beating.start()
    try:
        yield
    finally:
        stop.set()
        beating.join()


class _Schedule:
    """One run of a comparison's learners under its clock: whose trial runs next, with what cap,
    and the refits at the end. One worker serves them all, opened on each learner in turn."""

    def __init__(
        self, learners: list[Learner], fits: Runner, clock: Clock, folder: str, board: Any
    ) -> None:
        self.learners, self.fits, self.clock, self.board = learners, fits, clock, board
        self.maximize = learners[0].desc.direction == "maximize"
        self.current: Learner | None = None  # the learner the worker has open
        self.dead = False  # the last trial's worker was stopped: the next needs a fresh one
        self.running: Learner | None = None  # whose trial runs, and its share of the time left
        self.share: float | None = None
        self._saving = threading.Lock()  # the run's thread and its ticking one (_ticking)
        self.overrun = False  # the pick's refit was made with no time left for it
        for one in learners:
            one.loop = TrialLoop(one.study, fits, one.desc, one.n_trials, folder=folder,
                                 cap=self.cap)  # fmt: skip

    def cap(self) -> float:
        """What the running trial may take: the time left less what the end needs for the other
        learners (allocation.reserve), with room for its own refit should it become its
        learner's best, and at most its share."""
        learner = self.running
        other = reserve(self.learners, self.clock, self.maximize, True, but=learner)
        ratio = learner.refit_ratio if learner is not None else 0.0
        general = max((self.clock.left() - other) / (1 + ratio), 0.0)
        return general if self.share is None else min(general, self.share)

    def save(self) -> None:
        """Record the allocation so far on the ensemble's study: the seconds used, and per learner
        its study, search seconds, trials and why it left early."""
        with self._saving:
            self.board.set_user_attr(ALLOCATION, self._record().stored())

    def _record(self) -> AllocationRecord:
        return AllocationRecord(
            budget=self.clock.seconds,
            updated=datetime.now().isoformat(),  # naive local time, as Optuna stamps trials
            used=round(self.clock.used(), 3),
            validation=self.learners[0].desc.validation,
            learners={
                one.exp.model: {
                    "study": one.study.study_name,
                    "seconds": round(one.seconds, 3),
                    "trials": len(one.finished),
                    **({"skipped": one.skipped} if one.skipped else {}),
                }
                for one in self.learners
            },
        )

    def search(self) -> None:
        """Trials, one at a time, to the learner whose turn it is, while the time allows."""
        while True:
            left = self.clock.left() - reserve(self.learners, self.clock, self.maximize, self.dead)
            learner = next_learner(self.learners, self.maximize, left)
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
            self.share, self.running = share(learner, self.learners, left), learner
            if not learner.finished and not self._fits(learner):
                continue
            if learner is not self.current:
                self.fits.call(Open(learner.exp))  # a stopped worker is replaced here
                self.current, self.dead = learner, False
            if self.cap() < SHORTEST:
                break
            learner.loop.rows = learner.rows
            self._trial(learner)
            self.save()
        speed = speed_of(self.learners)
        for learner in self.learners:
            _left_early(learner, first_cost(learner, speed))

    def _fits(self, learner: Learner) -> bool:
        """Whether ``learner``'s first trial can finish in the time it would be given, as far as
        its earlier studies of this problem tell, or else its declared cost scaled to this
        machine by the first trials already run (automl.search.costs); if not, it leaves the
        search before it starts, saying why."""
        given = self.cap()
        if learner.earlier.known:
            if learner.earlier.fits(given):
                return True
            why = str(learner.earlier)
        else:
            predicted = learner.predicted()
            if predicted is None:
                return True
            speed = speed_of(self.learners)
            if speed * predicted <= costs.MARGIN * given:
                return True
            why = _predicted(learner, speed * predicted, speed)
        learner.skipped = f"{why}; it would have had {given:.1f} s of the budget"
        log.info("%s: %s", learner.exp.model, learner.skipped)
        return False

    def _trial(self, learner: Learner) -> None:
        """One trial of ``learner``; a learner whose trial the budget stopped, or whose first 3
        failed, leaves the search."""
        before = len(learner.finished)
        asked = len(learner.study.get_trials(deepcopy=False))
        learner.loop.one()
        learner.read()
        fitted = [t.user_attrs[PID] for t in learner.finished[before:] if PID in t.user_attrs]
        if fitted:  # the process that fits: it holds the fold models of the trials it fitted
            for one in self.learners:
                one.live = fitted[-1]
        last = learner.study.get_trials(deepcopy=False)[asked:]
        learner.full = any(t.user_attrs.get(SURPLUS) for t in last)
        stopped = learner.finished[before:] if len(learner.finished) > before else []
        if any(t.user_attrs.get(STOPPED_BY_BUDGET) for t in stopped):
            learner.skipped = (
                "its first trial did not fit in its share of the budget"
                if before == 0
                else "its trial was stopped by the budget"
            )
            self.dead, self.current = True, None  # the worker was stopped with it
            for one in self.learners:  # and every fold model it held
                one.live = None
        elif len(learner.finished) >= 3 and not learner.complete:
            learner.skipped = "its first 3 trials failed"
        elif learner.rows is not None and len(learner.finished) > before:
            self._grow(learner, learner.finished[-1])

    def _grow(self, learner: Learner, last: FrozenTrial) -> None:
        """Subsample-first (FLAML's sample-size growth): after a trial that is its learner's best
        on the current sample, the next trials see GROWTH times as many rows (at last all of them)
        if one would fit an equal share of the time left, starting with that best configuration
        again, so that it is measured on more rows before the search goes on from it."""
        if last.state != TrialState.COMPLETE or last.value is None:
            return
        sign = 1.0 if self.maximize else -1.0
        same = [t for t in learner.complete if t.user_attrs.get(ROWS) == learner.rows]
        if any(sign * t.value > sign * last.value for t in same if t.value is not None):
            return
        left = self.clock.left() - reserve(self.learners, self.clock, self.maximize, self.dead)
        searching = [one for one in self.learners if not one.skipped and not one.done]
        if GROWTH * span(last) > left / max(len(searching), 1):
            return
        learner.rows = learner.grown()
        learner.study.enqueue_trial(dict(last.params), skip_if_exists=False)
        learner.read()
        log.info("%s: its trials now see %s training rows per fold", learner.exp.model,
                 "all" if learner.rows is None else learner.rows)  # fmt: skip

    def spare(self) -> float | None:
        """After the refits, the seconds the search may go on with, beyond what the end still
        needs, where they are at least RESUME of the budget (and RESTART) and a learner has
        trials to run; None otherwise. The end's estimates carry margins (a refit's 1.5x, a fresh worker's start kept
        beside each final model) that its models mostly leave unused: on california housing
        (seed 0) the search ended at 44 s of 60 with 16 s kept for the end, which took 6. The
        search goes on with the learners the end keeps time for, the likely pick and members."""
        alive = getattr(self.fits, "pid", 0) is not None  # a final model's stop took the worker
        self.current, self.dead = None, not alive  # the refits left the worker on other studies
        going_on = kept(self.learners, self.maximize)
        for one in self.learners:
            # Only the learners the end keeps time for search on: another's better trial would
            # leave its row without the final model it has, for want of time to make the new one
            # (adult, seed 0: 3 of 10 rows kept a test score).
            one.full = one.full or not any(one is other for other in going_on)
        left = self.clock.left() - reserve(self.learners, self.clock, self.maximize, self.dead)
        enough = max(RESUME * self.clock.seconds, RESTART)
        if left < enough or next_learner(self.learners, self.maximize) is None:
            return None
        return left

    def refits(self) -> dict[str, ResultRecord]:
        """Refit each learner's best within what the budget has left: the best learner first (the
        pick's model), then the others by their validation scores, best first, so that the
        ensemble's likely members and the rows nearest the pick have theirs before the budget ends
        (cheapest first, the end's time went to weak learners' refits while on bike sharing
        LightGBM, third of ten, was left without one).

        A comparison always hands over a pick: until one refit has succeeded, the next best
        learner's is made even when the budget has no time left for it (earlier runs, or a search
        whose trials took longer than estimated, spent it), under a cap of a few times its
        estimate; :func:`run` says by how much the budget was exceeded."""
        results: dict[str, ResultRecord] = {}
        maximize = self.maximize
        order = ranked(self.learners, maximize)
        for learner in order:  # the pick: the best learner whose refit succeeds, at any cost
            bag = self._bag_instead(learner)  # no overrun: its bag
            if bag:
                log.info(
                    "%s: its bag instead of a refit on all rows: the refit is expected to take "
                    "%.1f s, %.1f s are left beside the ensemble's", learner.exp.model,
                    learner.refit_cost(maximize) / 1.5, self._room(),
                )  # fmt: skip
            if self._no_time_for(learner) and not bag:
                self.overrun = True
            result = self._refit(learner, PICK_CAP * learner.refit_cost(maximize), bag)
            if result is not None:
                results[learner.exp.model] = result
                if not result.error:
                    break
        for learner in (one for one in order if one.exp.model not in results):
            made = self._final(learner)
            if made is not None:
                results[learner.exp.model] = made
        return results

    def _final(self, learner: Learner) -> ResultRecord | None:
        """The final model of a learner that is not the pick, only where its estimate with its
        margin fits in the time the ensemble and the closing leave: its refit, else its bag
        (final=auto, the bag at hand), else none, its row saying why. Such a model stopped by the
        budget makes no row, and the stop takes the worker with it, whose restart comes out of the
        ensemble's time: on a 15,000-row table (magic, seed 0) an SVM refit estimated without its
        margin and a forest's bag given 0.3 s were stopped, and the ensemble after them.

        So the room is measured once its worker is ready (a worker stopped by the last final model
        is replaced in the opening), and keeps a fresh worker's start for the ensemble: the
        estimates leave out the model's saving (on nursery an extra-trees refit estimated at 1.8 s
        took 2.4, 0.7 of it pickling 200 deep trees), and one stopped at 55 s of 60 left the
        ensemble, after the restart, 0.7 s.

        A model starts where its estimate fits beside a spare of the restart, or of the estimate
        if less (a whole restart kept beside each skipped the cheap ones: on magic, seed 0, the
        tree's, k-NN's, the linear model's and the dummy's, and 6.7 s of the 60 were left over);
        once started, its cap keeps the whole restart where the room allows, since a cheap model
        that stalls (k-NN's refit on adult, estimated at 2.0 s, took 5.7) is stopped at its cap,
        and the fresh worker after it comes out of the ensemble's time."""
        maximize = self.maximize
        self.fits.call(Open(learner.exp))
        room = self._room()
        needed = learner.refit_cost(maximize)
        if learner.refitted(maximize) or with_spare(needed) <= room:
            return self._refit(learner, opened=True, spare=min(RESTART, max(room - needed, 0.0)))
        bag = learner.fallback_cost(maximize)  # its bag's prediction, where one is at hand
        if learner.exp.final == "auto" and learner.held(maximize) and with_spare(bag) <= room:
            return self._refit(learner, bag=True, opened=True, spare=min(RESTART, room - bag))
        best = learner.best_trial(maximize)
        left = max(room - min(RESTART, needed), 0.0)
        result = ResultRecord(
            best.number if best else None, {}, best.value if best else None,
            error=f"skipped: no time was left of the budget for its refit ({needed:.1f} s "
            f"expected, {left:.1f} s left beside the ensemble's)",
        )  # fmt: skip
        learner.study.set_user_attr(RESULT, result.stored())
        return result

    def _bag_instead(self, learner: Learner) -> bool:
        """Whether ``learner``'s final model is to be its bag although its experiment makes a
        refit (final=auto under a holdout): the budget has no time left for the refit, and the
        bag is at hand. An explicit final=refit is refitted at any cost."""
        return (
            learner.exp.final == "auto"
            and self._no_time_for(learner)
            and learner.held(self.maximize)
        )

    def _no_time_for(self, learner: Learner) -> bool:
        """Whether ``learner``'s refit is still to make and the budget has no time left for it."""
        needed = learner.refit_cost(self.maximize) / 1.5  # the estimate without its margin
        return not learner.refitted(self.maximize) and self._room() < needed

    def _room(self) -> float:
        """Seconds left for final models: the time left less the ensemble's and the closing's."""
        return self.clock.left() - blending(self.learners) - self.clock.closing

    def _refit(
        self,
        learner: Learner,
        least: float = 0.0,
        bag: bool = False,
        opened: bool = False,
        spare: float = 0.0,
    ) -> ResultRecord | None:
        """Refit ``learner``'s best in what the budget has left but ``spare`` seconds, or in
        ``least`` seconds if more (the stored refit, when an earlier run made it); with ``bag``,
        make its bag instead; ``opened``: its study is open in the worker already."""
        if not opened:
            self.fits.call(Open(learner.exp))  # a worker stopped by the last refit is replaced
        result = learner.loop.refit(max(self._room() - spare, least, SHORTEST), bag=bag)
        self._forget_stopped()
        return result

    def _forget_stopped(self) -> None:
        """A worker stopped at a final model's cap took the fold models it held: from then on the
        learners' bags are kept in their files only (loaded from there, at their cost), or
        nowhere, and not taken for held by the live process."""
        if not hasattr(self.fits, "pid"):
            return  # fitting in this process: nothing is stopped
        for one in self.learners:
            if one.live is not None and one.live != self.fits.pid:
                one.live = None


def _predicted(learner: Learner, seconds: float, speed: float) -> str:
    """Why a learner's declared cost keeps it out: the seconds predicted, for what shape."""
    desc = learner.desc
    rows = learner.rows or learner.fold_rows
    classes = f" of {desc.outputs} classes" if desc.outputs > 1 else ""
    fits = max(desc.folds, 1)
    return (
        f"its first configuration was predicted to take {seconds:.1f} s ({fits} "
        f"{'fit' if fits == 1 else 'fits'} on {rows:,} rows of {desc.columns} columns{classes}; "
        f"its declared cost x {speed:.2g}, this machine's measure of it so far)"
    )


def _left_early(learner: Learner, expected: float) -> None:
    """After the search: why a learner without a completed trial has none, on its row
    (``expected``: the seconds its first trial was expected to take)."""
    if not learner.complete and not learner.skipped:
        if any(t.user_attrs.get(STOPPED_BY_BUDGET) for t in learner.finished):
            learner.skipped = "its trial was stopped by the budget"  # in an earlier run
        elif not learner.finished and expected > 0:
            learner.skipped = (
                f"not started: its first trial was expected to take {expected:.1f} s, more than "
                "the other learners' next improvements until the budget was spent"
            )
        elif not learner.finished:
            learner.skipped = "no time was left of the budget for its first trial"
    if learner.skipped and not learner.complete:
        errors = [t.user_attrs[ERROR] for t in learner.finished if ERROR in t.user_attrs]
        why = f"skipped: {learner.skipped}" + (f" ({errors[-1]})" if errors else "")
        learner.study.set_user_attr(RESULT, ResultRecord(error=why).stored())
