"""Why a model wins: which of the dataset's own columns its test score depends on.

Permutation importance (scikit-learn's ``permutation_importance``) of the whole model, preprocessing
included, on the test split: each original column shuffled in turn (``REPEATS`` times, on at most
``ROWS`` rows), the mean and standard deviation of the score it costs. For a tree learner its own
importances (impurity or split counts, as the learner defines them) stand beside it, summed back
from one-hot columns to the column they encode and normalised to sum to 1.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from automl.plugin.types import Metric

if TYPE_CHECKING:  # the budget's command reads this module's constants without scikit-learn
    from automl.fitting.winner import Winner

REPEATS = 5
ROWS = 2000  # rows per repeat: the spread over repeats says how much this subsample matters
MAX_COLUMNS = 200  # beyond this (pixels, long series) one column's importance says little


def explain(
    winner: Winner, X: Any, y: np.ndarray, metric: Metric, seed: int, within: float | None = None
) -> dict[str, Any]:
    """Importances of ``winner`` on ``X``, ``y`` (encoded); ``within``: seconds it may take (a
    budget's), skipped, saying so, when an estimate from one prediction is longer."""
    names = winner.columns or [f"x{i}" for i in range(winner.n_features_in_)]
    out: dict[str, Any] = {}
    native = _native(winner, names)
    if native:
        out["native"] = native
    if len(names) > MAX_COLUMNS:
        return {**out, "skipped": f"not computed: {len(names)} columns, more than {MAX_COLUMNS}"}
    if winner.columns is None and np.asarray(X).ndim > 2:
        return {**out, "skipped": "not computed: images or sequences, not columns"}
    try:
        return {**out, **_permutation(winner, X, y, metric, seed, within, names)}
    except Exception as error:  # an explanation never costs the row its model
        return {**out, "skipped": f"not computed: {type(error).__name__}: {error}"[:300]}


def _permutation(
    winner: Winner,
    X: Any,
    y: np.ndarray,
    metric: Metric,
    seed: int,
    within: float | None,
    names: list[str],
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    rows = min(len(y), ROWS)
    start = time.perf_counter()
    scorer = _scorer(metric, None if winner.classes is None else len(winner.classes))
    scorer(winner, X[:rows] if winner.columns is None else X.iloc[:rows], y[:rows])
    estimate = (time.perf_counter() - start) * len(names) * REPEATS
    if within is not None and estimate > within:
        return {**out, "skipped": f"not computed: about {estimate:.0f} s, beyond the budget's time"}
    from sklearn.inspection import permutation_importance  # on use (see the imports above)

    found = permutation_importance(
        winner, X, y, scoring=scorer, n_repeats=REPEATS, random_state=seed,
        max_samples=min(1.0, ROWS / len(y)), n_jobs=1,
    )  # fmt: skip
    out["permutation"] = {
        n: [round(float(m), 6), round(float(s), 6)]
        for n, m, s in zip(names, found.importances_mean, found.importances_std, strict=True)
    }
    out["repeats"] = REPEATS
    return out


def _scorer(metric: Metric, n_classes: int | None) -> Any:
    """The metric as higher-is-better, on what it scores (labels, probabilities or values)."""
    sign = 1.0 if metric.direction == "maximize" else -1.0
    extra = {"n_classes": n_classes} if metric.per_class else {}

    def score(model: Winner, X: Any, y: np.ndarray) -> float:
        predicted = model.predict_proba(X) if metric.needs == "proba" else model.encoded(X)
        return sign * float(metric.score(y, predicted, **extra))

    return score


def _native(winner: Winner, names: list[str]) -> dict[str, float]:
    """A single tree learner's own importances per original column, summing to 1."""
    if len(winner.estimators) != 1:
        return {}
    estimator = winner.estimators[0]
    steps = getattr(estimator, "named_steps", {})
    wrapped = (
        "preprocess" in steps and "model" in steps
    )  # automl.fitting.preprocess.wrap's pipeline
    learner = steps["model"] if wrapped else estimator
    values = getattr(learner, "feature_importances_", None)
    if values is None:
        return {}
    values = np.asarray(values, dtype=float)
    owners = _owners(steps["preprocess"], names) if wrapped else names
    if len(owners) != len(values):
        return {}
    total: dict[str, float] = {}
    for owner, value in zip(owners, values, strict=True):
        total[owner] = total.get(owner, 0.0) + value
    norm = sum(total.values()) or 1.0
    return {n: round(v / norm, 6) for n, v in total.items()}


def _owners(step: Any, names: list[str]) -> list[str]:
    """The original column behind each column a fitted preprocessing step writes."""
    if not hasattr(step, "transformers_"):  # NativeCategories: the columns as they came
        return names
    owners: list[str] = []
    for _, transformer, columns in step.transformers_:
        if transformer == "drop" or len(columns) == 0:
            continue
        encoder = transformer.steps[-1][1] if hasattr(transformer, "steps") else transformer
        counts = getattr(encoder, "categories_", None)
        if counts is not None and type(encoder).__name__ == "OneHotEncoder":
            for column, categories in zip(columns, counts, strict=True):
                owners += [str(column)] * len(categories)
        else:
            owners += [str(c) for c in columns]
    return owners
