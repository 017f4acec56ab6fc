"""Greedy ensemble selection (automl.fitting.ensemble) against cases worked out by hand, and the
members a budget's ensemble may have (automl.search.blend): never the baseline."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import optuna
import pytest

from automl.fitting import ensemble
from automl.search import blend
from automl.storage.records import PREDICTIONS, ResultRecord


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


def _learner(model: str, baseline: bool) -> SimpleNamespace:
    """What ``blend`` reads of a learner: its name, whether it is a baseline, its best trial with
    kept validation predictions."""
    study = optuna.create_study()
    study.enqueue_trial({})
    study.optimize(lambda t: t.set_user_attr(PREDICTIONS, f"{model}-oof") or 0.5, n_trials=1)
    return SimpleNamespace(exp=SimpleNamespace(model=model), desc=SimpleNamespace(baseline=baseline),
                           study=study)  # fmt: skip


def test_the_baseline_is_never_a_member_though_accuracy_ties_would_take_it() -> None:
    # Labels 1, 1, 0. The learner's probabilities of class 1 tie on the first two rows (argmax: 0);
    # the baseline predicts the training prior, 0.6, everywhere. Alone they score 1/3 and 2/3;
    # blended half and half, 1.0: greedy selection on accuracy gives the baseline half the weight,
    # for breaking the learner's ties on these three rows, not for anything it knows.
    y = np.array([1, 1, 0])
    learner, baseline = _two_columns([0.5, 0.5, 0.2]), _two_columns([0.6, 0.6, 0.6])
    chosen = ensemble.select([learner, baseline], _accuracy(y), maximize=True)
    assert chosen.weights == (0.5, 0.5) and chosen.score == 1.0
    # A budget's ensemble leaves the baseline out (Model.baseline; the built-in dummy says so).
    learners = [_learner("svm", baseline=False), _learner("dummy", baseline=True)]
    refit = ResultRecord(best_trial=0, val_score=0.5, test_score=0.5, predictions="test")
    members = blend._members(learners, {"svm": refit, "dummy": refit})  # type: ignore[arg-type]
    assert [one.exp.model for one, _, _ in members] == ["svm"]


def test_members_whose_models_would_not_load_in_the_time_left_are_left_out_largest_first(
    tmp_path,
) -> None:
    """Saved models of 40, 20 and 1 MiB (sparse files; 0.1 s per MiB to load and write again,
    0.5 s for the selection): in 2.5 s the 40 MiB one goes first, then the 20 MiB one (0.5 + 2.0
    + 0.25 > 2.5); in 3.0 s those two fit. The best on validation stays even where it alone is
    too large."""

    def member(name: str, mib: int, val: float) -> tuple:
        path = tmp_path / f"{name}.model"
        with path.open("wb") as f:
            f.truncate(mib * 2**20)
        return (_learner(name, baseline=False), ResultRecord(val_score=val, model=str(path)), None)

    members = [member("forest", 40, 0.90), member("trees", 20, 0.91), member("knn", 1, 0.92)]
    arrays = (("forest-val", "forest-test"), ("trees-val", "trees-test"), ("knn-val", "knn-test"))
    kept, kept_arrays = blend._within(members, arrays, 2.5, maximize=True)
    assert [one.exp.model for one, _, _ in kept] == ["knn"]
    assert kept_arrays == (("knn-val", "knn-test"),)
    kept, _ = blend._within(members, arrays, 3.0, maximize=True)  # 0.5 + 2.0 + 0.25 fits
    assert [one.exp.model for one, _, _ in kept] == ["trees", "knn"]
    kept, _ = blend._within(members, arrays, 9.0, maximize=True)
    assert len(kept) == 3
    kept, _ = blend._within(members, arrays, 1.0, maximize=False)  # lowest is best: forest
    assert [one.exp.model for one, _, _ in kept] == ["forest"]
