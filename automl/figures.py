"""The report's pictures, as PNG bytes: a critical-difference diagram, score against fit time with
its Pareto front, and each study's search (best so far against trials and against time, and
hyperparameter importances from Optuna)."""

from __future__ import annotations

import io
import warnings

import matplotlib

matplotlib.use("Agg")  # files only, never a window

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import optuna  # noqa: E402
import pandas as pd  # noqa: E402
from optuna.trial import TrialState  # noqa: E402

from automl.compare import CriticalDifference
from automl.records import FIT_TIME  # noqa: E402

DPI = 90


def _png(figure: plt.Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def cd_diagram(cd: CriticalDifference) -> bytes:
    """Models on an axis of mean rank (best on the left); a bar joins models whose ranks differ by
    less than the critical difference, which is drawn above the axis."""
    k = len(cd.models)
    figure, axis = plt.subplots(figsize=(8, 1.2 + 0.28 * k))
    axis.set_xlim(1, k)
    axis.set_ylim(-0.6 - 0.45 * ((k + 1) // 2) - 0.2, 1.6)
    axis.axis("off")
    axis.hlines(0, 1, k, color="black")
    for r in range(1, k + 1):
        axis.vlines(r, 0, 0.15, color="black")
        axis.text(r, 0.25, str(r), ha="center", fontsize=8)
    axis.hlines(1.2, 1, 1 + cd.cd, color="black", linewidth=2)
    axis.text(1 + cd.cd / 2, 1.32, f"CD = {cd.cd:.2f}", ha="center", fontsize=8)
    for i, (model, rank) in enumerate(zip(cd.models, cd.mean_ranks, strict=True)):
        left = i < (k + 1) // 2
        y = -0.6 - 0.45 * (i if left else k - 1 - i)
        end = 0.9 if left else k + 0.1
        axis.plot([rank, rank, end], [0, y, y], color="dimgray", linewidth=0.8)
        axis.text(end, y, f" {model} ({rank:.2f}) " if left else f" ({rank:.2f}) {model}",
                  ha="right" if left else "left", va="center", fontsize=8)  # fmt: skip
    cliques, last_end = [], -1
    for i in range(k):  # maximal runs of models closer than the critical difference
        j = max(m for m in range(i, k) if cd.mean_ranks[m] - cd.mean_ranks[i] < cd.cd)
        if j > i and j > last_end:
            cliques.append((i, j))
            last_end = j
    for n, (i, j) in enumerate(cliques):
        y = -0.25 - 0.12 * n
        axis.hlines(y, cd.mean_ranks[i] - 0.03, cd.mean_ranks[j] + 0.03, linewidth=3, color="k")
    axis.set_title(
        f"Friedman p = {cd.p_value:.3g} over {cd.datasets} datasets; Nemenyi at α = {cd.alpha}",
        fontsize=9,
    )
    return _png(figure)


def pareto(board: pd.DataFrame, metric: str, maximize: bool) -> bytes:
    """Test score against the final refit's fit time, one point per model, with the Pareto front:
    the models that no other beats on both."""
    points = board.dropna(subset=["test_score", "fit_time"]).sort_values("fit_time")
    figure, axis = plt.subplots(figsize=(6, 3.6))
    for row in points.itertuples():
        axis.annotate(str(row.model), (row.fit_time, row.test_score), fontsize=7,
                      xytext=(3, 3), textcoords="offset points")  # fmt: skip
    _front(axis, list(zip(points["fit_time"], points["test_score"], strict=True)), maximize)
    if len(points) and points["fit_time"].min() > 0:
        axis.set_xscale("log")
    axis.set_xlabel("fit time of the final model (s)")
    axis.set_ylabel(f"test {metric}")
    return _png(figure)


def search(study: optuna.Study, maximize: bool) -> bytes:
    """A study's search: each trial's value and the best so far against the trial number and
    against elapsed time, the hyperparameter importances where Optuna can compute them, and each
    trial's score against its fit time with the Pareto front."""
    trials = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
    figure, axes = plt.subplots(1, 4, figsize=(16, 3))
    if trials:
        values = np.array([t.value for t in trials])
        best = np.maximum.accumulate(values) if maximize else np.minimum.accumulate(values)
        start = min(t.datetime_start for t in trials)
        elapsed = [(t.datetime_complete - start).total_seconds() for t in trials]
        numbers = [t.number for t in trials]
        axes[0].scatter(numbers, values, s=10, color="tab:blue", label="trial")
        axes[0].step(numbers, best, where="post", color="tab:orange", label="best so far")
        axes[0].set_xlabel("trial")
        axes[0].legend(fontsize=7)
        axes[1].step(elapsed, best, where="post", color="tab:orange")
        axes[1].set_xlabel("seconds since the first trial")
        timed = [(t.user_attrs[FIT_TIME], t.value) for t in trials if FIT_TIME in t.user_attrs]
        if timed:
            _front(axes[3], sorted(timed), maximize)
            axes[3].set_xlabel("trial fit time (s)")
    for axis in (axes[0], axes[1], axes[3]):
        axis.set_ylabel("validation score")
    importances = _importances(study)
    if importances:
        names = list(importances)[::-1]
        axes[2].barh(names, [importances[n] for n in names], color="tab:green")
        axes[2].set_xlabel("importance (fANOVA)")
    else:
        axes[2].text(0.5, 0.5, "importances need 2+ trials\nand a searched parameter",
                     ha="center", va="center", fontsize=8)  # fmt: skip
        axes[2].axis("off")
    figure.tight_layout()
    return _png(figure)


def _front(axis: plt.Axes, points: list[tuple[float, float]], maximize: bool) -> None:
    """Points (time, score), sorted by time, and their Pareto front: those no faster point beats."""
    front, best = [], None
    for seconds, score in points:
        if best is None or (score > best if maximize else score < best):
            best = score
            front.append((seconds, score))
    axis.scatter([p[0] for p in points], [p[1] for p in points], s=12, color="tab:blue")
    if front:
        axis.step(*zip(*front, strict=True), where="post", color="tab:orange", label="Pareto front")
        axis.legend(fontsize=7)


def _importances(study: optuna.Study) -> dict[str, float]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
            return optuna.importance.get_param_importances(study, evaluator=evaluator)
    except (ValueError, RuntimeError):  # too few trials, or nothing searched
        return {}
