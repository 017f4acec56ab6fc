"""What a learner's first trial will cost, known before it starts.

Two sources, the better first: the storage's earlier studies of the same problem under other
seeds (``automl -m seed=0,1,2``, a benchmark's repeats, yesterday's run), whose first trial ran the
same first portfolio configuration on data of the same shape (:class:`Earlier`); else the cost its
plugin declares (``Model.cost``, measured by ``benchmarks/costs.py``: seconds on a reference shape
and machine, and how they grow with rows, columns and classes), scaled to this machine and data by
the first trials this comparison has already run (:func:`speed`).

A comparison gives each learner's first trial at most an equal share of what is left
(:func:`automl.search.allocation.share`); a learner predicted to take longer than that would only
spend its share and leave with nothing (on a 36,000-row table CatBoost, k-NN and SVM were started,
stopped at their caps, and the worker stopped with them had to be started again), so it is not
started, and its row says why.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import TrialState

from automl.storage.records import PROBLEM, STOPPED_BY_BUDGET, span

# A first trial whose declared cost predicts less than this is mostly fixed costs (a process,
# preprocessing, scoring), not a measure of how fast this machine fits: it does not scale the
# declared costs. The test is on the prediction, not on the seconds measured: keeping only the
# trials that took long keeps the ones the costs underpredicted (on mushroom it kept XGBoost's
# 1.3x alone, among LightGBM's 0.15x, SVM's 0.14x and k-NN's 0.58x, and CatBoost, predicted 30 s
# where it takes about 4, was not started); on iris every measure was of fixed costs, scaled the
# costs tenfold, and kept CatBoost out of a 150-row table.
CALIBRATES = 0.5
SPEEDS = (0.1, 10.0)
# A declared cost predicts a fit within about 3x (benchmarks/costs.py: its worst ratios of measured
# to predicted are 1.3 to 4 per learner; on digits it put LightGBM at 13 s for a 6 s share): a
# learner is kept out only when predicted to take more than this many times its share. One that
# is started and does outlast its share is stopped at its cap, as one without a declared cost.
MARGIN = 3.0  # the scaling kept within these bounds: one odd trial cannot skip everyone
STOPPED_MARGIN = 1.25  # a share this much above what a stopped first trial ran may let it finish
_OTHER = ("seed", "data")  # what may differ between studies of one problem under other seeds


@dataclass(frozen=True)
class Earlier:
    """The first trials of a learner's earlier studies: the seconds of those that finished, and
    of those a budget stopped (each a lower bound)."""

    finished: tuple[float, ...] = ()
    stopped: tuple[float, ...] = ()

    @property
    def known(self) -> bool:
        """Whether any earlier study tells."""
        return bool(self.finished or self.stopped)

    def fits(self, seconds: float) -> bool:
        """Whether a first trial given ``seconds`` may finish: the median of the finished ones is
        less; where every one was stopped, ``seconds`` is a quarter more than the longest ran (a
        share no larger than what it once ran out of would only be spent again)."""
        if self.finished:
            return statistics.median(self.finished) < seconds
        return not self.stopped or STOPPED_MARGIN * max(self.stopped) <= seconds

    def at_least(self) -> float | None:
        """Seconds its first trial is expected to take at least: the median of the finished
        ones, or, where every one was stopped, the longest it ran before it was."""
        if self.finished:
            return statistics.median(self.finished)
        return max(self.stopped) if self.stopped else None

    def __str__(self) -> str:
        n = len(self.finished) + len(self.stopped)
        studies = f"{n} earlier {'study' if n == 1 else 'studies'} of this problem"
        if self.finished:
            return f"its first configuration took {self.at_least():.1f} s in {studies}"
        return f"its first configuration was stopped after {self.at_least():.1f} s in {studies}"


def _problem(config: Any) -> Any:
    """A study's identity without what differs under another seed: every ``seed`` (the study's,
    its splits', its sampler's) and the data's digest (a seeded test split changes it)."""
    if isinstance(config, dict):
        return {k: _problem(v) for k, v in config.items() if k not in _OTHER}
    return config


def earlier(storage: Any, study: optuna.Study, others: Sequence[Any]) -> Earlier:
    """The first trials of the studies in ``storage`` of ``study``'s problem under another seed
    (the same learner, data, fixed parameters, metric and validation), among ``others`` (the
    storage's studies, as ``get_all_studies`` gives them: read once for every learner)."""
    mine = study.user_attrs.get(PROBLEM) or {}
    wanted = _problem(mine.get("config") or {})
    if not wanted:
        return Earlier()
    finished: list[float] = []
    stopped: list[float] = []
    for other in others:
        problem = other.user_attrs.get(PROBLEM) or {}
        if other.study_name == study.study_name or problem.get("model") != mine.get("model"):
            continue
        if _problem(problem.get("config") or {}) != wanted:
            continue
        trials = storage.get_all_trials(
            storage.get_study_id_from_name(other.study_name), deepcopy=False
        )
        first = next((t for t in trials if t.number == 0), None)
        if first is None or first.state == TrialState.RUNNING:
            continue
        if first.state == TrialState.COMPLETE:
            finished.append(span(first))
        elif first.user_attrs.get(STOPPED_BY_BUDGET):
            stopped.append(span(first))
    return Earlier(tuple(finished), tuple(stopped))


def speed(measured: Iterable[tuple[float, float]]) -> float:
    """How many times the declared costs this machine and data take: the lower median ratio of
    the seconds first trials took to the seconds their costs predicted (``measured``: pairs of
    those), over the trials predicted long enough to tell (:data:`CALIBRATES`); 1 before any.

    The lower median, because a ratio measures the machine and, as much, how well one learner's
    cost fits these data, and the two errors cost unequally: a learner kept out on too slow a
    measure is lost to the comparison, one started on too fast a one spends its share and is
    stopped at its cap. On nursery (seed 0) the linear model's first trial took 9x its cost
    (multinomial, on one-hot columns) and k-NN's 1.3x; their median, 5.1, kept LightGBM and
    XGBoost out, and a decision tree was the pick."""
    ratios = [took / predicted for took, predicted in measured if predicted >= CALIBRATES]
    if not ratios:
        return 1.0
    low, high = SPEEDS
    return min(max(statistics.median_low(ratios), low), high)
