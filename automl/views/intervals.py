"""How sure a test score is: a bootstrap over the test rows.

Each resample draws the test rows with replacement (within each class for classification, so
that every resample keeps the test split's class counts), seeded, and the same resamples score every
row of a leaderboard: the difference of two rows' scores on each resample gives a paired interval of
their margin, far narrower than two separate intervals when the rows make the same mistakes. Two
identical sets of predictions get a margin of exactly 0 on every resample. Intervals are percentile
intervals (2.5% and 97.5% of the resampled scores), as the AutoML Benchmark and TabArena report for
per-dataset scores where they give any.

Written here rather than taken from scipy: ``scipy.stats.bootstrap`` resamples each argument on its
own or pairs them all, but neither stratifies nor lets several predictions share one set of
resamples lazily (the 1000 × n index matrix would not fit for 100,000 test rows).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Mapping

import numpy as np

RESAMPLES = 1000
CONFIDENCE = 0.95

Score = Callable[[np.ndarray, np.ndarray], float]  # (truth, predicted) -> score


def resamples(
    y: np.ndarray, stratified: bool, seed: int, n: int = RESAMPLES
) -> Iterator[np.ndarray]:
    """``n`` resamples of the rows of ``y`` as index arrays, the same for the same arguments."""
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(y == c) for c in np.unique(y)] if stratified else [np.arange(len(y))]
    for _ in range(n):
        yield np.concatenate([g[rng.integers(0, len(g), len(g))] for g in groups])


def bootstrap(
    y: np.ndarray,
    predicted: Mapping[str, np.ndarray],
    score: Score,
    stratified: bool,
    seed: int,
    n: int = RESAMPLES,
    per_row: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    from_mean: Callable[[np.ndarray], np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Each prediction's score on the same ``n`` resamples of the test rows. With ``per_row`` (the
    metric is the mean of per-row terms, then ``from_mean``), the terms are averaged per resample:
    the same numbers, without calling ``score`` n times per row of the leaderboard."""
    y = np.asarray(y)
    names = list(predicted)
    # Identical predictions (an ensemble that is one of its members) are scored once.
    distinct: dict[bytes, int] = {}
    slot = [distinct.setdefault(np.ascontiguousarray(predicted[k]).tobytes(), len(distinct))
            for k in names]  # fmt: skip
    unique = [predicted[names[slot.index(i)]] for i in range(len(distinct))]
    draws = resamples(y, stratified, seed, n)
    if per_row is not None:
        terms = np.stack([np.asarray(per_row(y, p), dtype=float) for p in unique])
        means = np.stack([terms[:, rows].mean(axis=1) for rows in draws], axis=1)
        scores = from_mean(means) if from_mean is not None else means
    else:
        found: list[list[float]] = [[] for _ in unique]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a resample without some class: metrics may warn
            for rows in draws:
                for i, values in enumerate(unique):
                    found[i].append(float(score(y[rows], values[rows])))
        scores = np.array(found)
    return {name: scores[slot[k]] for k, name in enumerate(names)}


def interval(samples: np.ndarray) -> tuple[float, float]:
    """The central ``CONFIDENCE`` percentile interval of ``samples`` (NaN ones left out)."""
    finite = samples[np.isfinite(samples)]
    if not len(finite):
        return float("nan"), float("nan")
    tail = 100 * (1 - CONFIDENCE) / 2
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low), float(high)


def margin(samples: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """The interval of ``samples − reference``, resample by resample."""
    return interval(samples - reference)


def includes_zero(low: float, high: float) -> bool:
    return bool(low <= 0 <= high)
