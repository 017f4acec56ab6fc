"""Builders, search spaces and portfolios of XGBoost and CatBoost.

Each library is imported inside its builder, so that loading the plugin (which every ``automl``
start does) stays cheap. Trees run on the CPU unless ``device=cuda`` asks for the GPU: on the
tables a comparison meets, tree boosting's GPU builds pay off only on large ones, and ``auto``
keeps a CPU machine's and a GPU machine's results the same.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from automl import PATIENCE, Cost, FitContext, Float, Int, Interval, Model, least_improvement

POSITIVE = Interval(0, low_open=True)
NON_NEGATIVE = Interval(0)
COUNT = Interval(1, integer=True)
FRACTION = Interval(0, 1, low_open=True)  # (0, 1]


def _jobs(context: FitContext) -> int:
    return context.threads if context.threads > 0 else -1


def build_xgboost(params: Mapping[str, Any], context: FitContext) -> Any:
    from xgboost import XGBClassifier, XGBRegressor

    kind = XGBClassifier if context.task.is_classification else XGBRegressor
    return kind(
        **params,
        tree_method="hist",
        enable_categorical=True,  # the native family's pandas categoricals, split on as such
        device="cuda" if context.device == "cuda" else "cpu",
        n_jobs=_jobs(context),
        random_state=context.seed,
        verbosity=0,
    )


def _until(deadline: float) -> Any:
    """An XGBoost callback that ends boosting at ``deadline`` (``time.monotonic()``); the model
    predicts with its best round so far, as after early stopping. (Made here: XGBoost is
    imported only when a learner fits.)"""
    from xgboost.callback import TrainingCallback

    class Until(TrainingCallback):
        def after_iteration(self, model: Any, epoch: int, _log: Any) -> bool:  # noqa: ARG002
            return time.monotonic() >= deadline

    return Until()


def _least(estimator: Any, y_valid: Any) -> float:
    """The least fall of the validation loss that counts (automl.plugin.stopping) for XGBoost's
    and CatBoost's own losses: log loss for a classifier, RMSE for a regressor."""
    from sklearn.base import is_classifier

    classification = is_classifier(estimator)
    return least_improvement(y_valid, classification, root=not classification)


def fit_xgboost(
    estimator: Any, X: Any, y: Any, X_valid: Any, y_valid: Any, deadline: float | None = None
) -> dict[str, Any]:
    """Boost until XGBoost's own validation loss (log loss, or RMSE) has not improved for
    ``PATIENCE`` rounds by the least that counts (automl.plugin.stopping), or until ``deadline``;
    the model predicts with its best round, which the refit takes."""
    from xgboost.callback import EarlyStopping

    stops = [EarlyStopping(rounds=PATIENCE, min_delta=_least(estimator, y_valid))]
    estimator.set_params(
        early_stopping_rounds=None,
        callbacks=stops if deadline is None else [*stops, _until(deadline)],
    )
    try:
        estimator.fit(X, y, eval_set=[(X_valid, y_valid)], verbose=False)
    finally:
        estimator.set_params(callbacks=None)  # a fold model kept in a bag carries no deadline
    try:
        return {"n_estimators": int(estimator.best_iteration) + 1}
    except AttributeError:  # stopped by the deadline before early stopping kept a best round
        return {"n_estimators": int(estimator.get_booster().num_boosted_rounds())}


def fit_catboost(
    estimator: Any, X: Any, y: Any, X_valid: Any, y_valid: Any, deadline: float | None = None
) -> dict[str, Any]:
    """CatBoost's early stopping on the validation rows (its own loss: log loss, or RMSE) when
    it has not improved for ``PATIENCE`` rounds by the least that counts (automl.plugin.stopping),
    and a stop at ``deadline``; the model is cut to its best iteration, which the refit takes."""
    estimator.fit(X, y, eval_set=(X_valid, y_valid), early_stopping_rounds=PATIENCE,
                  least_improvement=_least(estimator, y_valid), deadline=deadline)  # fmt: skip
    return {"iterations": estimator.best_iteration_ + 1}


def build_catboost(params: Mapping[str, Any], context: FitContext) -> Any:
    from automl_boosting.catboost_native import CatBoostClassifier, CatBoostRegressor

    kind = CatBoostClassifier if context.task.is_classification else CatBoostRegressor
    return kind(dict(params), seed=context.seed, threads=context.threads, device=context.device)


# The first configuration of each portfolio is its library's defaults (XGBoost's own; CatBoost's
# depth and L2 with AutoGluon's default learning rate, 0.05, in place of CatBoost's automatic one,
# which its space cannot say), the number of rounds set by early stopping under a cap of 2000. Configurations that add to them are to be measured
# with benchmarks/portfolio.py, as the classical learners' were.
PORTFOLIO: dict[str, tuple[dict[str, Any], ...]] = {
    "xgboost": (
        {"learning_rate": 0.3, "max_depth": 6, "min_child_weight": 1.0, "subsample": 1.0, "colsample_bytree": 1.0, "reg_lambda": 1.0, "reg_alpha": 1e-8},
    ),
    "catboost": (
        {"learning_rate": 0.05, "depth": 6, "l2_leaf_reg": 3.0, "random_strength": 1.0},
    ),
}  # fmt: skip

# What the first configuration's fit costs (automl.Cost): benchmarks/costs.py on the reference
# machine, 2026-12-04, least squares over ten generated shapes (RESULTS.md); measured to predicted
# within 2.2x (XGBoost) and 3.3x (CatBoost, whose multiclass fits grow with the classes^1.3).
COST = {
    "xgboost": Cost(0.22, rows=0.28, columns=0.97, outputs=0.69),
    "catboost": Cost(2.5, rows=0.32, columns=1.07, outputs=1.32),
}

MODELS = (
    Model(
        "xgboost",
        build_xgboost,
        libraries=("xgboost",),
        in_default_comparison=True,  # `automl` without model=... compares it
        # Near TabArena's and FLAML's XGBoost spaces; the number of trees is a cap, each trial
        # stopping early on its validation fold (fit_xgboost).
        space={
            "learning_rate": Float(0.01, 0.3, log=True),
            "max_depth": Int(2, 10),
            "min_child_weight": Float(1e-3, 10.0, log=True),
            "subsample": Float(0.5, 1.0),
            "colsample_bytree": Float(0.3, 1.0),
            "reg_lambda": Float(1e-3, 10.0, log=True),
            "reg_alpha": Float(1e-8, 10.0, log=True),
        },
        domains={
            "n_estimators": COUNT,
            "learning_rate": POSITIVE,
            "max_depth": Interval(0, integer=True),
            "min_child_weight": NON_NEGATIVE,
            "subsample": FRACTION,
            "colsample_bytree": FRACTION,
            "reg_lambda": NON_NEGATIVE,
            "reg_alpha": NON_NEGATIVE,
        },
        defaults={"n_estimators": 2000},
        preprocessing="native",
        fit_watching=fit_xgboost,
        portfolio=PORTFOLIO["xgboost"],
        cost=COST["xgboost"],
        description="XGBoost gradient-boosted trees (histogram, native categorical splits)",
    ),
    Model(
        "catboost",
        build_catboost,
        libraries=("catboost",),
        in_default_comparison=True,  # `automl` without model=... compares it
        # Near TabArena's and AutoGluon's CatBoost spaces (symmetric trees of depth 4 to 8); the
        # iterations are a cap, each trial stopping early on its validation fold (fit_catboost).
        space={
            "learning_rate": Float(0.005, 0.3, log=True),
            "depth": Int(4, 8),
            "l2_leaf_reg": Float(1.0, 10.0, log=True),
            "random_strength": Float(0.1, 10.0, log=True),
        },
        domains={
            "iterations": COUNT,
            "learning_rate": POSITIVE,
            "depth": Interval(1, 16, integer=True),
            "l2_leaf_reg": NON_NEGATIVE,
            "random_strength": NON_NEGATIVE,
        },
        defaults={"iterations": 2000},
        preprocessing="native",
        fit_watching=fit_catboost,
        portfolio=PORTFOLIO["catboost"],
        cost=COST["catboost"],
        description="CatBoost ordered boosting on symmetric trees (native categorical columns)",
    ),
)
