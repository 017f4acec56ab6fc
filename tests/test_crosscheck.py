"""Our Elo and critical difference against the field's maintained implementations, on the same
results: bencheval (TabArena's evaluation engine) for the Bradley-Terry Elo; scipy, autorank and
scikit-posthocs for Friedman's test and Nemenyi's critical difference."""

from __future__ import annotations

import contextlib
import functools
import io
import itertools

import numpy as np
import pandas as pd
import pytest
from scipy.stats import friedmanchisquare

from automl.views import across
from tests.test_compare import _rows

elo_utils = pytest.importorskip("bencheval.elo_utils", reason="pip install -e .[test]")
autorank = pytest.importorskip("autorank", reason="pip install -e .[test]")
posthocs = pytest.importorskip("scikit_posthocs", reason="pip install -e .[test]")


def _random_frame(seed: int = 0) -> pd.DataFrame:
    """12 datasets × 7 models × 3 seeds; half the datasets minimise an error, scores are rounded so
    that ties happen, and model ``f`` did not run on ``d3``."""
    rng = np.random.default_rng(seed)
    skill = dict(zip(["dummy", "a", "b", "c", "d", "e", "f"], np.linspace(0, 0.15, 7), strict=True))
    rows = []
    for d in range(12):
        base, minimise = rng.uniform(0.5, 0.8), d % 2 == 1
        for model, gain in skill.items():
            if (d, model) == (3, "f"):
                continue
            for s in range(3):
                good = round(base + gain + rng.normal(0, 0.04), 2)
                rows.append(
                    {"dataset": f"d{d}", "model": model, "seed": s,
                     "metric": "rmse" if minimise else "accuracy",
                     "direction": "minimize" if minimise else "maximize",
                     "test_score": 1 - good if minimise else good, "val_score": good,
                     "fit_time": 1.0, "predict_time": 0.1, "trials": 5, "study": "x"}
                )  # fmt: skip
    return pd.DataFrame(rows)


FRAMES = {"by hand": _rows(), "by hand, 3 seeds": _rows(seeds=(0, 1, 2)), "random": _random_frame()}


@functools.cache
def _our_elo(name: str) -> pd.Series:
    return across.aggregate(FRAMES[name]).set_index("model")["elo"]  # best first


def _errors(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with bencheval's column: an error, lower is better, whatever the direction."""
    frame = frame.dropna(subset=["test_score"])  # bencheval would call NaN against a score a tie
    sign = np.where(frame["direction"] == "minimize", 1.0, -1.0)
    return frame.assign(error=frame["test_score"] * sign)


def _bencheval_elo(frame: pd.DataFrame) -> pd.Series:
    """bencheval's maximum-likelihood Elo under our conventions, converted explicitly:

    - battles per (dataset, seed), each weighing 1: bencheval weighs each task 1 across its splits,
      so the task it is given is the (dataset, seed) pair, not the dataset;
    - one virtual tie between every pair, which our fit adds to keep an unbeaten model finite:
      bencheval has only a ridge (C=1e6, about 1e-4 Elo here), so the tie goes in as a battle;
    - anchor ``dummy`` = 1000 (``calibration_framework``); 400 points = 10:1 odds and a tie = half
      a win each are bencheval's defaults already.
    """
    results = _errors(frame)
    results = results.assign(unit=results["dataset"] + "/" + results["seed"].astype(str))
    helper = elo_utils.EloHelper(method_col="model", task_col="unit", error_col="error")
    battles = helper.convert_results_to_battles(results)
    virtual = pd.DataFrame(
        [
            {"model_1": a, "model_2": b, "winner": "tie", "unit": "virtual", "weight": 1.0}
            for a, b in itertools.combinations(sorted(results["model"].unique()), 2)
        ]
    )
    battles = pd.concat([battles, virtual[battles.columns]], ignore_index=True)
    return helper.compute_mle_elo(battles, calibration_framework="dummy", calibration_elo=1000)


@pytest.mark.parametrize("name", FRAMES)
def test_elo_equals_benchevals_under_the_same_conventions(name) -> None:
    ours = _our_elo(name)
    theirs = _bencheval_elo(FRAMES[name]).reindex(ours.index)
    # Residual: bencheval's ridge and its L-BFGS tolerance, at most 1e-4 Elo on these frames.
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-3)


def test_elo_orders_models_as_benchevals_native_fit_does() -> None:
    """bencheval left to its own (TabArena's) conventions: each dataset weighs 1 across its seeds,
    and no virtual tie. The order agrees; our ratings sit nearer the anchor, since the virtual tie
    pulls every pair toward even odds (e = 1766 here, 1829 in TabArena's fit). Where a model loses
    every battle, as ``dummy`` does in ``_rows()``, only the ridge bounds bencheval's ratings
    (a at 3601 where ours says 1338)."""
    ours = _our_elo("random")
    helper = elo_utils.EloHelper(
        method_col="model", task_col="dataset", error_col="error", split_col="seed"
    )
    battles = helper.convert_results_to_battles(_errors(FRAMES["random"]))
    theirs = helper.compute_mle_elo(battles, calibration_framework="dummy", calibration_elo=1000)
    assert list(ours.index) == list(theirs.index)  # both best first
    assert ((ours - 1000).abs() <= (theirs.reindex(ours.index) - 1000).abs() + 1e-9).all()


def _complete_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Datasets × models, higher is better, mean over seeds, only models that ran everywhere (the
    models ``critical_difference`` compares; scikit-posthocs would drop datasets instead)."""
    good = _errors(frame).assign(good=lambda f: -f["error"])
    table = good.pivot_table(index="dataset", columns="model", values="good", aggfunc="mean")
    return table.dropna(axis=1)


@pytest.mark.parametrize("name", ["by hand", "random"])
def test_friedman_and_nemenyi_agree_with_scipy_and_scikit_posthocs(name) -> None:
    frame = FRAMES[name]
    ours = across.critical_difference(frame)
    table = _complete_table(frame)
    statistic, p_value = friedmanchisquare(*table.to_numpy().T)
    assert ours.statistic == pytest.approx(statistic, rel=1e-12)
    assert ours.p_value == pytest.approx(p_value, rel=1e-12)
    assert ours.datasets == len(table)
    # scikit-posthocs gives Nemenyi's pairwise p-values: below alpha exactly where the mean ranks
    # differ by more than our critical difference.
    p = posthocs.posthoc_nemenyi_friedman(table.to_numpy()).to_numpy()
    rank = dict(zip(ours.models, ours.mean_ranks, strict=True))
    for (i, a), (j, b) in itertools.combinations(enumerate(table.columns), 2):
        assert (p[i, j] < ours.alpha) == (abs(rank[a] - rank[b]) > ours.cd), (a, b)
    # Demšar (2006), table 5a: q_0.05 = 2.343 for 3 models, 2.850 for 6.
    k = len(table.columns)
    q = ours.cd / np.sqrt(k * (k + 1) / (6 * ours.datasets))
    assert q == pytest.approx({3: 2.343, 6: 2.850}[k], abs=1e-3)  # printed to 3 decimals


def test_mean_ranks_friedman_and_cd_equal_autoranks() -> None:
    frame = FRAMES["random"]  # autorank wants five datasets or more
    ours = across.critical_difference(frame)
    with contextlib.redirect_stdout(io.StringIO()):  # it announces the forced mode
        theirs = autorank.autorank(
            _complete_table(frame).reset_index(drop=True),
            alpha=ours.alpha,
            order="descending",  # higher is better: rank 1 is the best model, as ours
            force_mode="nonparametric",  # else it picks ANOVA + Tukey when scores look normal
        )
    assert (theirs.omnibus, theirs.posthoc) == ("friedman", "nemenyi")
    assert theirs.pvalue == pytest.approx(ours.p_value, rel=1e-12)
    mean = theirs.rankdf["meanrank"].astype(float)
    np.testing.assert_allclose(mean.reindex(ours.models), ours.mean_ranks, rtol=1e-12)
    # autorank takes the studentized range from statsmodels' qsturng, an interpolation of printed
    # tables (1.3e-5 relative off here); ours is scipy's exact quantile.
    assert theirs.cd == pytest.approx(ours.cd, rel=1e-4)
