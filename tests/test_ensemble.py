"""Greedy ensemble selection (automl.fitting.ensemble) against cases worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from automl.fitting import ensemble


def _two_columns(p1: list[float]) -> np.ndarray:
    p1 = np.asarray(p1)
    return np.column_stack([1 - p1, p1])


def _accuracy(y: np.ndarray):
    return lambda proba: float(np.mean(proba.argmax(axis=1) == y))


def test_weights_of_a_case_worked_out_by_hand() -> None:
    # y = 0 1 1 0. Alone: A predicts 0 1 0 0 (0.75), B 1 1 1 1 (0.50), C 0 0 1 0 (0.75).
    # Round 1 takes A (the first of the two best). Round 2: A+B averages to 0.50 0.75 0.65 0.50,
    # which predicts 0 1 1 0 (1.00); A+A stays 0.75, A+C gives 0 0 1 0 (0.75): B is added.
    # Round 3 can at best equal 1.00, which is not better: the ensemble kept is A and B, 1/2 each.
    y = np.array([0, 1, 1, 0])
    a = _two_columns([0.4, 0.6, 0.4, 0.4])
    b = _two_columns([0.6, 0.9, 0.9, 0.6])
    c = _two_columns([0.1, 0.4, 0.7, 0.1])
    chosen = ensemble.select([a, b, c], _accuracy(y), maximize=True, size=10)
    assert chosen.weights == (0.5, 0.5, 0.0)
    assert chosen.score == 1.0
    assert chosen.member_scores == (0.75, 0.5, 0.75)
    blended = ensemble.blend([a, b, c], chosen.weights)
    assert np.allclose(blended, (a + b) / 2)


def test_a_minimised_metric_averages_two_biased_members() -> None:
    y = np.array([2.0, 2.0])
    mse = lambda p: float(np.mean((p - y) ** 2))  # noqa: E731
    chosen = ensemble.select([np.array([1.0, 1.0]), np.array([3.0, 3.0])], mse, maximize=False)
    assert chosen.weights == (0.5, 0.5) and chosen.score == 0.0 and chosen.member_scores == (1, 1)


def test_one_member_is_the_whole_ensemble() -> None:
    y = np.array([0, 1])
    chosen = ensemble.select([_two_columns([0.2, 0.9])], _accuracy(y), maximize=True)
    assert chosen.weights == (1.0,) and chosen.score == 1.0


@pytest.mark.parametrize("seed", range(20))
def test_never_worse_than_its_best_member(seed) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, 60)
    members = [rng.dirichlet(np.ones(3), 60) for _ in range(5)]
    score = _accuracy(y)
    chosen = ensemble.select(members, score, maximize=True)
    assert chosen.score >= max(chosen.member_scores)
    assert chosen.score == pytest.approx(score(ensemble.blend(members, chosen.weights)))
    assert sum(chosen.weights) == pytest.approx(1.0)


def test_no_member_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one member"):
        ensemble.select([], lambda p: 0.0, maximize=True)
