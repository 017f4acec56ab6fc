"""The pick: the row of one seed's leaderboard that the harness hands over, and why; chosen on
validation evidence only, never on a test score.

The rule, in order:

1. The candidates are the rows with a validation and a test score (a final model to hand over),
   ordered by validation score; ties go to a learner over the ensemble, then to the faster refit,
   then to the name. The *best learner* is the first learner of that order.
2. Where the rows kept their validation predictions and labels (``ResultRecord.val_predictions``
   and ``.val_truth``, out of fold under cross-validation), every candidate is scored on the same
   bootstrap resamples of the validation rows as the test intervals are drawn
   (:mod:`automl.views.intervals`), and its margin over the best learner is a paired 95% interval.
3. The ensemble is the pick only when its margin over the best learner is credible: the interval
   lies wholly on the better side of 0. Its weights were chosen on those rows, so the test is if
   anything lenient; a blend that wins by a row or two of a few hundred is not the pick.
4. Otherwise a learner is: the best learner, the leaderboard naming the learners whose margin
   under it is not credible (those the validation rows cannot tell apart from it). A tie-break
   on a proper scoring rule over the same predictions (``proper``: the Brier score or the log
   loss; issue 27: a linear model that won a 20% holdout of 36,000 rows by 0.05 points of
   accuracy lost 0.8 points on test to LightGBM) measured worse than none on
   ``benchmarks/versus.py``'s 19 datasets (2026-12-06, three seeds: the pick's mean shortfall
   against the best test score on its board 1.06 points with none, 1.28 with the Brier score,
   1.49 with the log loss on the 12 small tables; 0.05, 0.06 and 0.07 on the 7 large ones):
   a forest's votes or a k-NN's neighbours' shares are honest about their accuracy yet score a
   worse Brier than sharper, less accurate probabilities (letter, seed 0: k-NN's 0.080 against
   extra trees' 0.132 handed over k-NN at 0.953 test accuracy against 0.971). So the benchmark
   keeps measuring it (``--rules``), and the pick does not use it.

Without validation evidence (rows made before it was kept, or a storage whose artifacts were not
kept), the pick is the first of step 1's order, as it always was. No peer selects this way:
AutoGluon, FLAML, the AutoML Benchmark and TabArena pick by point scores.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from automl.plugin.task import CLASSIFICATION, Task
from automl.storage import artifacts
from automl.storage.records import ENSEMBLE
from automl.views import evidence, intervals

log = logging.getLogger(__name__)

# What separates classifiers whose metric cannot (a registered metric), or None: none does, the best
# validation score stands (step 4 of the module's rule says why). benchmarks/versus.py --rules
# measures each.
PROPER_SCORE: str | None = None
SAID = {"log_loss": "log loss", "brier": "Brier score"}  # as the reason names them


@dataclass(frozen=True)
class Pick:
    """The row handed over (its label in the board; None when no row has a final model) and why,
    in words for the leaderboard."""

    index: Any
    reason: str


def ordered(runs: pd.DataFrame, maximize: bool) -> list[Any]:
    """The labels of the rows with a validation and a test score, best validation score first;
    ties to a learner over the ensemble, then the faster refit, then the name."""
    valid = runs[runs["val_score"].notna() & runs["test_score"].notna()]
    order = valid.assign(
        _v=-valid["val_score"] if maximize else valid["val_score"],
        _e=valid["kind"] == ENSEMBLE,
    )
    return list(order.sort_values(["_v", "_e", "fit_time", "model"], kind="stable").index)


def _validation(row: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """A row's validation labels and predictions, where both were kept and agree in length."""
    if not (row.artifacts and row.val_predictions and row.val_truth):
        return None
    try:
        truth = artifacts.load(row.artifacts, row.val_truth)
        predicted = artifacts.load(row.artifacts, row.val_predictions)
    except (OSError, ValueError, KeyError) as error:
        log.warning("%s: its validation predictions could not be read: %s", row.study, error)
        return None
    return (truth, predicted) if len(truth) == len(predicted) else None


def pick(runs: pd.DataFrame, maximize: bool, seed: int, proper: str | None = PROPER_SCORE) -> Pick:
    """The pick among ``runs``, the rows of one seed of one leaderboard. ``proper``: the registered
    metric that separates classifiers that validation cannot (None: the best validation score)."""
    order = ordered(runs, maximize)
    if not order:
        return Pick(None, "")
    learners = [i for i in order if runs.at[i, "kind"] != ENSEMBLE]
    if not learners:
        return Pick(order[0], "the best validation score")
    best = learners[0]
    kept = {i: found for i in order if (found := _validation(runs.loc[i])) is not None}
    first = runs.loc[best]
    metric = evidence.metric_for(first.metric, first.task)
    if best not in kept or metric is None:
        return Pick(order[0], "the best validation score (no validation predictions to weigh it)")
    truth = kept[best][0]
    same = {i: p for i, (y, p) in kept.items() if np.array_equal(y, truth)}
    if len(same) < 2:
        return Pick(order[0], "the best validation score (no other row's validation predictions)")
    classes = int(first.n_classes) if pd.notna(first.n_classes) else None
    shown = {i: _scored(p, metric.needs) for i, p in same.items()}
    extra = {"n_classes": classes} if metric.per_class and classes else {}
    samples = intervals.bootstrap(
        truth, shown, partial(metric.score, **extra), Task(first.task) in CLASSIFICATION, seed,
        per_row=metric.per_row, from_mean=metric.from_mean,
    )  # fmt: skip
    sign = 1.0 if maximize else -1.0

    def margin(i: Any) -> tuple[float, float]:  # i's margin over the best learner, better > 0
        low, high = intervals.margin(sign * samples[i], sign * samples[best])
        return low, high

    def said(i: Any) -> str:
        low, high = margin(i)
        point = sign * (runs.at[i, "val_score"] - runs.at[best, "val_score"])
        return f"{point:+.4f}, 95% interval {low:+.4f} to {high:+.4f}"

    name = runs.at[best, "model"]
    ensembles = [i for i in order if i in same and runs.at[i, "kind"] == ENSEMBLE]
    for i in ensembles:
        if margin(i)[0] > 0:
            return Pick(
                i, f"the ensemble: its validation margin over {name} is credible ({said(i)})"
            )
    why = "".join(
        f"; the ensemble's validation margin over {name} is not credible ({said(i)})"
        for i in ensembles
        if order.index(i) < order.index(best)
    )
    tied = [i for i in learners if i in same and i != best and margin(i)[1] >= 0]
    if not tied:
        return Pick(best, f"the best validation score{why}")
    rule = None if proper is None else evidence.metric_for(proper, first.task)
    if Task(first.task) not in CLASSIFICATION or rule is None:
        others = ", ".join(runs.at[i, "model"] for i in tied)
        return Pick(best, f"the best validation score; {others} not credibly behind{why}")
    losses = {i: float(rule.score(truth, _normalised(same[i]))) for i in [best, *tied]}
    turn = 1.0 if rule.direction == "minimize" else -1.0
    chosen = min(losses, key=lambda i: (turn * losses[i], [best, *tied].index(i)))
    rivals = ", ".join(
        f"{runs.at[i, 'model']} {losses[i]:.4f}" for i in [best, *tied] if i != chosen
    )
    return Pick(
        chosen,
        f"validation margins among {', '.join(runs.at[i, 'model'] for i in [best, *tied])} are not "
        f"credible; {runs.at[chosen, 'model']} has the best validation {SAID.get(rule.name, rule.name)} "
        f"({losses[chosen]:.4f}; {rivals}){why}",
    )


def _scored(predicted: np.ndarray, needs: str) -> np.ndarray:
    """What a metric scores of kept validation predictions: labels from class probabilities."""
    return predicted.argmax(axis=1) if needs == "label" and predicted.ndim == 2 else predicted


def _normalised(proba: np.ndarray) -> np.ndarray:
    """Class probabilities kept as float32, as float64 rows that sum to 1 again."""
    proba = np.asarray(proba, dtype=np.float64)
    return proba / np.clip(proba.sum(axis=1, keepdims=True), 1e-12, None)
