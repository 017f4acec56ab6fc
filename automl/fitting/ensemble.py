"""Ensemble selection: greedy forward selection with replacement (Caruana et al., ICML 2004).

The members are the best trial of each learner, given by their validation predictions (class
probabilities or regression values, aligned row for row). Each round adds, with replacement, the
member that makes the running average score best (by the score it is given: the harness gives
classifiers the log loss, :meth:`automl.fitting.fitter.Fitter.blend`); the ensemble kept is the best
of all rounds (the earliest on ties), so by that score it is never worse than the best single
member, which round one picks. Weights
are how often each member was added, over the rounds kept. AutoGluon's weighted ensemble is the same
procedure. Written here rather than taken from a library: scikit-learn has no selection of this kind,
and it is 30 lines over arrays the harness already holds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

SIZE = 25  # rounds: weights are multiples of 1/25, and more rounds rarely change the choice


@dataclass(frozen=True)
class Selection:
    weights: tuple[float, ...]  # one per member, summing to 1
    score: float  # the weighted average's
    member_scores: tuple[float, ...]  # each member alone


def select(
    predictions: Sequence[np.ndarray],
    score: Callable[[np.ndarray], float],
    maximize: bool,
    size: int = SIZE,
) -> Selection:
    """Choose weights for ``predictions`` by ``size`` rounds of greedy selection under ``score``."""
    if not predictions:
        raise ValueError("an ensemble needs at least one member")
    arrays = [np.asarray(p, dtype=np.float64) for p in predictions]
    alone = tuple(float(score(p)) for p in arrays)
    sign = 1.0 if maximize else -1.0
    counts = np.zeros(len(arrays))
    total = np.zeros_like(arrays[0])
    best_score, best_counts = -np.inf, counts
    for r in range(1, size + 1):
        tried = [
            alone[i] if r == 1 else float(score((total + a) / r)) for i, a in enumerate(arrays)
        ]
        pick = int(np.argmax([sign * t for t in tried]))  # the first of equals
        total += arrays[pick]
        counts = counts.copy()
        counts[pick] += 1
        if sign * tried[pick] > best_score:
            best_score, best_counts = sign * tried[pick], counts
    weights = tuple(float(c) for c in best_counts / best_counts.sum())
    return Selection(weights, sign * best_score, alone)


def blend(predictions: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """The weighted average of ``predictions``."""
    return sum(
        w * np.asarray(p, dtype=np.float64) for p, w in zip(predictions, weights, strict=True) if w
    )
