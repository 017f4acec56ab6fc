"""Builders and search spaces of the classical learners.

Imports of scikit-learn estimators and LightGBM happen inside the builders, so that loading the plugin
(which every ``automl`` start does) stays cheap. Each learner declares the library it fits with
(``libraries``): its version is recorded with the learner's results and checked when its saved model
is loaded.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Mapping
from typing import Any

from automl import (
    PATIENCE,
    Categorical,
    Cost,
    FitContext,
    Float,
    Int,
    Interval,
    Model,
    OneOf,
    least_improvement,
)

CLASSIFY = {"task": ["binary", "multiclass"]}
SCALERS = ("standard", "minmax", "none")
SKLEARN = ("scikit-learn",)  # the library the scikit-learn learners fit with


def _jobs(context: FitContext) -> int:
    return context.threads if context.threads > 0 else -1


def _scaled(estimator: Any, scaler: str) -> Any:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    if scaler == "none":
        return estimator
    kinds = {"standard": StandardScaler, "minmax": MinMaxScaler}
    if scaler not in kinds:
        raise ValueError(f"unknown scaler '{scaler}'; available: {', '.join(SCALERS)}")
    return make_pipeline(kinds[scaler](), estimator)


def build_svm(params: Mapping[str, Any], context: FitContext) -> Any:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import SVC, SVR

    p = dict(params)
    scaler = p.pop("scaler", "standard")
    if not context.task.is_classification:
        svm = SVR(**p)
    elif context.needs_proba:  # scikit-learn's replacement for the deprecated probability=True
        svm = CalibratedClassifierCV(SVC(**p), ensemble=False)
    else:
        svm = SVC(**p)
    return _scaled(svm, scaler)


def build_linear(params: Mapping[str, Any], context: FitContext) -> Any:
    from sklearn.linear_model import LogisticRegression, Ridge

    p = dict(params)
    scaler = p.pop("scaler", "standard")
    if context.task.is_classification:
        linear = LogisticRegression(**p)
    else:  # ridge's alpha is the inverse of C, so one range serves both tasks
        linear = Ridge(alpha=1.0 / p.pop("C"), **p)
    return _scaled(linear, scaler)


def build_knn(params: Mapping[str, Any], context: FitContext) -> Any:
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

    p = dict(params)
    scaler = p.pop("scaler", "standard")
    kind = KNeighborsClassifier if context.task.is_classification else KNeighborsRegressor
    return _scaled(kind(**p, n_jobs=_jobs(context)), scaler)


def build_decision_tree(params: Mapping[str, Any], context: FitContext) -> Any:
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    kind = DecisionTreeClassifier if context.task.is_classification else DecisionTreeRegressor
    return kind(**params, random_state=context.seed)


def build_random_forest(params: Mapping[str, Any], context: FitContext) -> Any:
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    kind = RandomForestClassifier if context.task.is_classification else RandomForestRegressor
    return kind(**params, n_jobs=_jobs(context), random_state=context.seed)


def build_extra_trees(params: Mapping[str, Any], context: FitContext) -> Any:
    from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor

    kind = ExtraTreesClassifier if context.task.is_classification else ExtraTreesRegressor
    return kind(**params, n_jobs=_jobs(context), random_state=context.seed)


def build_lightgbm(params: Mapping[str, Any], context: FitContext) -> Any:
    from lightgbm import LGBMClassifier, LGBMRegressor

    kind = LGBMClassifier if context.task.is_classification else LGBMRegressor
    return kind(
        **params,
        subsample_freq=1,  # makes ``subsample`` (bagging) take effect
        n_jobs=_jobs(context),
        random_state=context.seed,
        verbose=-1,
    )


def fit_lightgbm(
    estimator: Any, X: Any, y: Any, X_valid: Any, y_valid: Any, deadline: float | None = None
) -> dict[str, Any]:
    """Boost until the validation loss (LightGBM's own: log loss, or L2) has not improved for
    ``PATIENCE`` rounds by the least that counts (automl.plugin.stopping), or until ``deadline``
    (``time.monotonic()``), keeping the rounds made; the model keeps its best round, which the
    refit takes."""
    from lightgbm import early_stopping
    from sklearn.base import is_classifier

    watched = (  # LightGBM 4.6 renamed eval_set, and warns where it is still used
        {"eval_X": (X_valid,), "eval_y": (y_valid,)}
        if "eval_X" in inspect.signature(estimator.fit).parameters
        else {"eval_set": [(X_valid, y_valid)]}
    )
    least = least_improvement(y_valid, is_classifier(estimator))
    callbacks = [early_stopping(PATIENCE, first_metric_only=True, verbose=False, min_delta=least)]
    if deadline is not None:
        callbacks.append(_until(deadline))
    estimator.fit(X, y, **watched, callbacks=callbacks)
    return {"n_estimators": int(estimator.best_iteration_ or estimator.n_estimators)}


def _until(deadline: float) -> Any:
    """A LightGBM callback that ends boosting at ``deadline``, its model keeping every round made
    (the rounds since its best are fewer than ``PATIENCE``)."""
    from lightgbm.callback import EarlyStopException

    def stop(env: Any) -> None:
        if time.monotonic() >= deadline:
            raise EarlyStopException(env.iteration, env.evaluation_result_list)

    stop.order = 40  # type: ignore[attr-defined]  # after early stopping's (30)
    return stop


def build_dummy(params: Mapping[str, Any], context: FitContext) -> Any:
    from sklearn.dummy import DummyClassifier, DummyRegressor

    strategy = params.get("strategy", "auto")
    if context.task.is_classification:
        return DummyClassifier(strategy="prior" if strategy == "auto" else strategy)
    return DummyRegressor(strategy="mean" if strategy == "auto" else strategy)


# What each parameter accepts at all (scikit-learn's and LightGBM's own limits), so that a fixed value
# outside them is refused before any trial runs. Where a library takes more forms than these (a
# float min_samples_split, say) the domain lists them too.
POSITIVE = Interval(0, low_open=True)
NON_NEGATIVE = Interval(0)
COUNT = Interval(1, integer=True)
FRACTION = Interval(0, 1, low_open=True)  # (0, 1]
DEPTH = (COUNT, OneOf(None))
CRITERIA = OneOf("gini", "entropy", "log_loss", "squared_error", "friedman_mse", "absolute_error",
                 "poisson")  # fmt: skip
LEAF = (COUNT, Interval(0, 1, low_open=True, high_open=True))
TREE_DOMAINS = {
    "criterion": CRITERIA,
    "max_depth": DEPTH,
    "min_samples_split": (Interval(2, integer=True), FRACTION),
    "min_samples_leaf": LEAF,
}
FOREST_DOMAINS = {
    **TREE_DOMAINS,
    "n_estimators": COUNT,
    "max_features": (FRACTION, COUNT, OneOf("sqrt", "log2", None)),
}

# Each learner's portfolio (Model.portfolio), tried first under a budget: its library's defaults, as
# near as its space can say them (None and "sqrt" are outside the ranges: depth 64 stands for
# unlimited), then the two of 16 seeded random configurations that added most, greedily, to the mean
# normalised best score over 9 public datasets (scikit-learn's 5, kc2, cholesterol, GunPoint,
# ItalyPowerDemand; 3-fold CV), rounded to 3 digits: benchmarks/portfolio.py, RESULTS.md. Mean
# normalised best (1 = the best of the 17 on every dataset), defaults alone -> with both picks:
# linear 0.85 -> 0.99, knn 0.72 -> 0.94, svm 0.75 -> 1.00, decision tree 0.67 -> 1.00, random
# forest 0.79 -> 0.99, extra trees 0.88 -> 0.99, LightGBM 0.61 -> 0.95; leaving each dataset out of
# the choice and scoring on it: 0.88, 0.80, 0.90, 0.99, 0.99, 0.91, 0.89.
PORTFOLIO: dict[str, tuple[dict[str, Any], ...]] = {
    "linear": (
        {"C": 1.0, "scaler": "standard"},
        {"C": 0.000498},
        {"C": 0.317},
    ),
    "knn": (
        {"n_neighbors": 5, "p": 2, "scaler": "standard", "weights": "uniform"},
        {"n_neighbors": 11, "p": 2, "weights": "uniform"},
        {"n_neighbors": 46, "p": 1, "weights": "uniform"},
    ),
    "svm": (
        {"C": 1.0, "gamma": 0.01, "kernel": "rbf", "scaler": "standard"},
        {"C": 4.71, "gamma": 0.0503, "kernel": "rbf"},
        {"C": 99.0, "kernel": "linear"},
    ),
    "decision_tree": (
        {"criterion": "gini", "max_depth": 64, "min_samples_leaf": 1, "min_samples_split": 2},
        {"criterion": "entropy", "max_depth": 2, "min_samples_leaf": 1, "min_samples_split": 9},
        {"criterion": "gini", "max_depth": 1, "min_samples_leaf": 2, "min_samples_split": 5},
    ),
    "random_forest": (
        {"criterion": "gini", "max_depth": 64, "max_features": 0.3, "min_samples_leaf": 1},
        {"criterion": "entropy", "max_depth": 8, "max_features": 0.0679, "min_samples_leaf": 5},
        {"criterion": "entropy", "max_depth": 14, "max_features": 0.452, "min_samples_leaf": 5},
    ),
    "extra_trees": (
        {"criterion": "gini", "max_depth": 64, "max_features": 0.3, "min_samples_leaf": 1},
        {"criterion": "gini", "max_depth": 2, "max_features": 0.396, "min_samples_leaf": 2},
        {"criterion": "gini", "max_depth": 18, "max_features": 0.237, "min_samples_leaf": 1},
    ),
    "lightgbm": (
        {"colsample_bytree": 1.0, "learning_rate": 0.1, "min_child_samples": 20, "num_leaves": 31, "reg_lambda": 1e-08, "subsample": 1.0},
        {"colsample_bytree": 0.345, "learning_rate": 0.0274, "min_child_samples": 6, "num_leaves": 6, "reg_lambda": 0.0171, "subsample": 0.707},
        {"colsample_bytree": 0.314, "learning_rate": 0.069, "min_child_samples": 2, "num_leaves": 186, "reg_lambda": 0.312, "subsample": 0.544},
    ),
}  # fmt: skip

# What each learner's first configuration's fit costs (automl.Cost): benchmarks/costs.py on the
# reference machine, 2026-12-04, least squares over ten generated shapes (RESULTS.md), negative
# exponents (noise) set to 0; measured to predicted within 1.3x (extra trees) to 4x (k-NN).
COST = {
    "linear": Cost(0.018, rows=0.73, columns=0.31, outputs=1.4),
    "knn": Cost(0.18, rows=1.41, columns=0.42, outputs=0.0),
    "svm": Cost(2.1, rows=1.77, columns=0.03, outputs=0.22),
    "decision_tree": Cost(0.11, rows=1.25, columns=1.09, outputs=0.05),
    "random_forest": Cost(3.3, rows=0.95, columns=0.75, outputs=0.0),
    "extra_trees": Cost(1.2, rows=0.56, columns=0.27, outputs=0.11),
    "lightgbm": Cost(0.33, rows=0.31, columns=0.87, outputs=0.62),
}

FOREST_SPACE = {
    "n_estimators": Int(50, 1000, log=True),
    "criterion": Categorical(("gini", "entropy"), when=CLASSIFY),
    "max_depth": Int(2, 64, log=True),
    "min_samples_leaf": Int(1, 32, log=True),
    "max_features": Float(0.05, 1.0),
}


def _forest(name: str, build: Any, description: str) -> Model:
    """A forest of trees: random forest and extra trees differ only in how they build one."""
    return Model(
        name,
        build,
        libraries=SKLEARN,
        in_default_comparison=True,  # `automl` without model=... compares it
        space=FOREST_SPACE,
        defaults={"n_estimators": 200},
        domains=FOREST_DOMAINS,
        preprocessing="ordinal",
        portfolio=PORTFOLIO[name],
        cost=COST[name],
        description=description,
    )


MODELS = (
    Model(
        "dummy",
        build_dummy,
        libraries=SKLEARN,
        in_default_comparison=True,  # `automl` without model=... compares it
        baseline=True,  # the reference every learner must beat; never an ensemble member
        defaults={"strategy": "auto"},
        domains={
            "strategy": OneOf(
                "auto", "prior", "most_frequent", "stratified", "uniform", "mean", "median"
            )
        },  # fmt: skip
        description="baseline: class priors (classification) or the mean (regression)",
    ),
    Model(
        "linear",
        build_linear,
        libraries=SKLEARN,
        in_default_comparison=True,  # `automl` without model=... compares it
        space={"C": Float(1e-4, 1e4, log=True), "scaler": Categorical(SCALERS)},
        defaults={"scaler": "standard", "max_iter": 1000},
        domains={"C": POSITIVE, "max_iter": COUNT},
        portfolio=PORTFOLIO["linear"],
        cost=COST["linear"],
        description="logistic regression, or ridge (alpha = 1/C) for regression",
    ),
    Model(
        "knn",
        build_knn,
        libraries=SKLEARN,
        in_default_comparison=True,  # `automl` without model=... compares it
        space={
            "n_neighbors": Int(1, 50, log=True),
            "weights": Categorical(("uniform", "distance")),
            "p": Categorical((1, 2)),
            "scaler": Categorical(SCALERS),
        },
        defaults={"scaler": "standard"},
        domains={"n_neighbors": COUNT, "p": POSITIVE},
        max_rows=200_000,  # every prediction scans the training rows
        portfolio=PORTFOLIO["knn"],
        cost=COST["knn"],
        description="k-nearest neighbours behind a scaler",
    ),
    Model(
        "svm",
        build_svm,
        libraries=SKLEARN,
        in_default_comparison=True,  # `automl` without model=... compares it
        space={
            "kernel": Categorical(("linear", "rbf")),
            "C": Float(1e-3, 1e3, log=True),
            "gamma": Float(1e-5, 10.0, log=True, when={"kernel": "rbf"}),
            "scaler": Categorical(SCALERS),
        },
        defaults={"scaler": "standard"},
        domains={
            "kernel": OneOf("linear", "poly", "rbf", "sigmoid"),
            "C": POSITIVE,
            "gamma": (POSITIVE, OneOf("scale", "auto")),
        },
        max_rows=50_000,  # kernel SVMs grow quadratically with rows
        portfolio=PORTFOLIO["svm"],
        cost=COST["svm"],
        description="support vector machine (SVC/SVR), linear or RBF kernel, behind a scaler",
    ),
    Model(
        "decision_tree",
        build_decision_tree,
        libraries=SKLEARN,
        in_default_comparison=True,  # `automl` without model=... compares it
        space={
            # entropy is the information-gain criterion
            "criterion": Categorical(("gini", "entropy"), when=CLASSIFY),
            "max_depth": Int(1, 64, log=True),
            "min_samples_split": Int(2, 64, log=True),
            "min_samples_leaf": Int(1, 32, log=True),
        },
        domains=TREE_DOMAINS,
        preprocessing="ordinal",
        description="CART decision tree",
        portfolio=PORTFOLIO["decision_tree"],
        cost=COST["decision_tree"],
    ),
    _forest("random_forest", build_random_forest, "random forest"),
    _forest("extra_trees", build_extra_trees, "extremely randomised trees"),
    Model(
        "lightgbm",
        build_lightgbm,
        libraries=("lightgbm",),
        in_default_comparison=True,  # `automl` without model=... compares it
        space={
            "learning_rate": Float(0.01, 0.3, log=True),
            "num_leaves": Int(4, 256, log=True),
            "min_child_samples": Int(2, 100, log=True),
            "subsample": Float(0.5, 1.0),
            "colsample_bytree": Float(0.3, 1.0),
            "reg_lambda": Float(1e-8, 10.0, log=True),
            "min_child_weight": Float(1e-3, 10.0, log=True),
        },
        # min_child_weight (min_sum_hessian_in_leaf) 1 rather than LightGBM's 1e-3: with classes of
        # a few rows (KDD Cup 99 has 2-row attack types) softmax hessians near 0 gave leaves huge
        # values and boosting diverged: 0.963 training accuracy, 0.848 test, against 1.000 and 0.978
        # with this setting. For squared error (hessian 1 per row) it changes nothing.
        # n_estimators is a cap: each trial stops early on its validation fold (fit_lightgbm), and
        # the refit takes the rounds found.
        defaults={"n_estimators": 2000, "min_child_weight": 1.0},
        domains={
            "n_estimators": COUNT,
            "learning_rate": POSITIVE,
            "num_leaves": Interval(2, integer=True),
            "min_child_samples": Interval(0, integer=True),
            "subsample": FRACTION,
            "colsample_bytree": FRACTION,
            "reg_lambda": NON_NEGATIVE,
            "min_child_weight": NON_NEGATIVE,
        },
        preprocessing="native",
        fit_watching=fit_lightgbm,
        description="LightGBM gradient-boosted trees, stopped early on the validation fold",
        portfolio=PORTFOLIO["lightgbm"],
        cost=COST["lightgbm"],
    ),
)
