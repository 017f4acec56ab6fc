"""Bootstrap intervals checked against cases worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, mean_squared_error

from automl.views import evidence, intervals


def _hits(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    return (y == p).astype(float)


def test_a_perfect_classifier_scores_one_on_every_resample() -> None:
    y = np.array([0, 1] * 50)
    samples = intervals.bootstrap(y, {"perfect": y.copy()}, accuracy_score, True, seed=0)
    assert intervals.interval(samples["perfect"]) == (1.0, 1.0)


def test_a_coin_gets_the_binomial_interval() -> None:
    # Accuracy of independent fair-coin guesses on n rows: about Normal(p, p(1-p)/n), so the 95%
    # interval is p ± 1.96 sqrt(p(1-p)/n), ±0.0310 for n = 1000.
    rng = np.random.default_rng(1)
    n = 1000
    y, coin = rng.integers(0, 2, n), rng.integers(0, 2, n)
    p = accuracy_score(y, coin)
    half = 1.96 * math.sqrt(p * (1 - p) / n)
    low, high = intervals.interval(
        intervals.bootstrap(y, {"coin": coin}, accuracy_score, True, seed=0)["coin"]
    )
    assert low == pytest.approx(p - half, abs=0.004) and high == pytest.approx(p + half, abs=0.004)
    assert low < 0.5 < high


def test_two_identical_learners_have_a_margin_of_exactly_zero() -> None:
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 300)
    guess = np.where(rng.random(300) < 0.7, y, rng.integers(0, 3, 300))
    samples = intervals.bootstrap(y, {"a": guess, "b": guess.copy()}, accuracy_score, True, 0)
    assert intervals.margin(samples["a"], samples["b"]) == (0.0, 0.0)
    assert intervals.includes_zero(0.0, 0.0)


def test_the_margin_is_paired_narrower_than_either_interval() -> None:
    # b is a with 10 of its 500 mistakes fixed: a margin of exactly +0.02 ... +0.02 would need the
    # same rows drawn for both, which the shared resamples guarantee; its interval lies above 0.
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 1000)
    a = np.where(rng.random(1000) < 0.5, y, 1 - y)
    b = a.copy()
    wrong = np.flatnonzero(a != y)[:10]
    b[wrong] = y[wrong]
    samples = intervals.bootstrap(y, {"a": a, "b": b}, accuracy_score, True, 0)
    low, high = intervals.margin(samples["b"], samples["a"])
    width = np.subtract(*intervals.interval(samples["a"])[::-1])
    assert 0 < low <= 0.01 <= high < 0.02 and high - low < width / 4


def test_per_row_terms_give_the_same_samples_as_calling_the_metric() -> None:
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 200)
    guess = rng.integers(0, 2, 200)
    slow = intervals.bootstrap(y, {"g": guess}, accuracy_score, True, 7, n=200)["g"]
    fast = intervals.bootstrap(y, {"g": guess}, accuracy_score, True, 7, n=200, per_row=_hits)["g"]
    np.testing.assert_allclose(fast, slow, atol=1e-12)
    values, truth = rng.normal(size=100), rng.normal(size=100)

    def rmse(t, p):
        return math.sqrt(mean_squared_error(t, p))

    slow = intervals.bootstrap(truth, {"v": values}, rmse, False, 1, n=100)["v"]
    fast = intervals.bootstrap(truth, {"v": values}, rmse, False, 1, n=100,
                               per_row=lambda t, p: (t - p) ** 2, from_mean=np.sqrt)["v"]  # fmt: skip
    np.testing.assert_allclose(fast, slow, atol=1e-12)


def test_resamples_are_seeded_and_keep_the_class_counts() -> None:
    y = np.array([0] * 90 + [1] * 10)
    first = list(intervals.resamples(y, True, seed=5, n=20))
    assert all(
        np.array_equal(a, b)
        for a, b in zip(first, intervals.resamples(y, True, 5, 20), strict=True)
    )
    assert not all(
        np.array_equal(a, b)
        for a, b in zip(first, intervals.resamples(y, True, 6, 20), strict=True)
    )
    assert all(np.bincount(y[rows]).tolist() == [90, 10] for rows in first)
    loose = list(intervals.resamples(y, False, seed=5, n=50))
    assert len({int(np.bincount(y[r], minlength=2)[1]) for r in loose}) > 1


def test_a_board_without_evidence_keeps_its_rows_and_gets_no_intervals() -> None:
    board = pd.DataFrame({
        "seed": [0, 0], "pick": ["*", ""], "artifacts": ["", ""], "scored": ["", ""],
        "truth": ["", ""], "study": ["a", "b"], "metric": ["accuracy"] * 2,
        "task": ["binary"] * 2, "n_classes": [2, 2],
    })  # fmt: skip
    out = evidence.attach(board)
    assert len(out) == 2 and out["test_low"].isna().all() and out["indistinct"].isna().all()
