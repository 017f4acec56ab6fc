"""A population's fit: several trials of one study fitted and scored on every fold, trained
together by the model's ``fit_population`` (one after another without it), as the Fitter fits one
trial. A member that is pruned or fails leaves, and the others go on. Each member's fit time is its
share of the program's (the time divided by the members trained).
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
import optuna

from automl.fitting.data import Fold
from automl.fitting.evaluate import blendable, predict
from automl.fitting.protocol import (
    FitPopulation,
    Judge,
    Member,
    PopulationResult,
    RemoteError,
    TrialResult,
)
from automl.fitting.resolved import Resolved


def fit(
    resolved: Resolved, request: FitPopulation, judges: tuple[Judge | None, ...] = ()
) -> PopulationResult:
    """Every member's result, in the order asked, or the error that stopped it."""
    members, folds = request.members, resolved.prepared.folds
    judges = judges or (None,) * len(members)
    errors: dict[int, BaseException] = {}
    scores: list[list[float]] = [[] for _ in members]
    kept: list[list[np.ndarray]] = [[] for _ in members]
    times = np.zeros((len(members), 2))  # fit, predict seconds summed over folds
    for step, fold in enumerate(folds):
        live, built = _built(resolved, members, judges, times, errors)
        if not live:
            break
        began = time.perf_counter()
        stopped = _trained(resolved, built, fold)
        share = (time.perf_counter() - began) / len(live)
        for i, estimator, error in zip(live, built, stopped, strict=True):
            times[i, 0] += share
            if error is not None:
                errors[i] = error
                continue
            try:
                _scored(resolved, estimator, fold, step, scores[i], kept[i], times[i], judges[i])
            except Exception as raised:  # TrialPruned included: this member leaves
                errors[i] = raised
    return PopulationResult(tuple(
        RemoteError.of(errors[i]) if i in errors else TrialResult(
            score=float(np.mean(scores[i])),
            fit_time=float(times[i, 0]) / len(folds),
            predict_time=float(times[i, 1]) / len(folds),
            pid=os.getpid(),
            predictions=resolved.prepared.per_row(np.concatenate(kept[i])) if kept[i] else None,
        )
        for i in range(len(members))
    ))  # fmt: skip


def _built(
    resolved: Resolved,
    members: tuple[Member, ...],
    judges: tuple[Judge | None, ...],
    times: np.ndarray,
    errors: dict[int, BaseException],
) -> tuple[list[int], list[Any]]:
    """The estimators of the members still in the population, for the next fold."""
    live, built = [], []
    for i, member in enumerate(members):
        if i in errors:
            continue
        # A member's clock (its time limit, shared by its folds) counts its own share of the
        # folds before: as if it had trained them alone.
        began = time.monotonic() - float(times[i].sum())
        context = resolved.context_for(member.number, judges[i], began)
        try:
            built.append(resolved.model.build(member.params, context))
            live.append(i)
        except Exception as error:
            errors[i] = error
    return live, built


def _trained(resolved: Resolved, built: list[Any], fold: Fold) -> list[BaseException | None]:
    """Train the built estimators on ``fold``, together where the model can."""
    model = resolved.model
    if model.fit_population is not None:
        return list(model.fit_population(built, fold.X_train, fold.y_train))
    return [_alone(estimator, fold.X_train, fold.y_train) for estimator in built]


def _alone(estimator: Any, X: Any, y: Any) -> BaseException | None:
    """Fit one member of a population whose model trains one at a time."""
    try:
        estimator.fit(X, y)
    except Exception as error:  # optuna.TrialPruned included: the member leaves, the rest go on
        return error
    return None


def _scored(
    resolved: Resolved,
    estimator: Any,
    fold: Fold,
    step: int,
    scores: list[float],
    kept: list[np.ndarray],
    times: np.ndarray,
    judge: Judge | None,
) -> None:
    """Score one member's estimator on ``fold``'s validation rows; its pruner may stop it."""
    metric, n_classes = resolved.metric, resolved.context.n_classes
    began = time.perf_counter()
    prediction = predict(estimator, fold.X_valid, metric, n_classes)
    times[1] += time.perf_counter() - began
    scores.append(resolved.score(fold.y_valid, prediction, f"fold {step}"))
    if resolved.keep_predictions:
        kept.append(blendable(estimator, fold.X_valid, prediction, metric, n_classes))
    several = len(resolved.prepared.folds) > 1
    if judge is not None and several and judge(step, float(np.mean(scores))):
        raise optuna.TrialPruned(f"pruned after fold {step}")
