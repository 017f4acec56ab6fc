"""Learning tasks and the rule that infers one from a target column."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

import numpy as np

from automl.plugin.errors import UserError

if TYPE_CHECKING:
    import pandas as pd

# An integer-valued numeric target with more distinct values than this is taken as regression.
MAX_CLASSES_INFERRED = 20


class Task(str, Enum):
    BINARY = "binary"
    MULTICLASS = "multiclass"
    REGRESSION = "regression"

    @property
    def is_classification(self) -> bool:
        return self is not Task.REGRESSION


ALL_TASKS = frozenset(Task)
CLASSIFICATION = frozenset({Task.BINARY, Task.MULTICLASS})


# The word scikit-learn's and FLAML's users type: binary or multiclass, as the labels say.
CLASSIFICATION_WORD = "classification"


def parse_task(value: str | Task | None) -> Task | None:
    """``auto``/``None`` mean infer; ``classification`` must be resolved from the labels
    (:func:`classes_task`) by the caller that has them; anything else must name a task."""
    if value is None or isinstance(value, Task):
        return value
    if value in ("auto", CLASSIFICATION_WORD):
        return None
    try:
        return Task(value)
    except ValueError:
        names = ", ".join(t.value for t in Task)
        raise UserError(
            f"unknown task '{value}'; available: auto, {CLASSIFICATION_WORD}, {names}"
        ) from None


def classes_task(y: np.ndarray | pd.Series) -> Task:
    """Binary or multiclass by the number of distinct labels, whatever their type (a numeric
    target with many integer values is classification when the user says so)."""
    import pandas as pd  # as in infer_task

    return _of_classes(pd.Series(np.asarray(y)).dropna().nunique())


def _of_classes(n_unique: int) -> Task:
    """Binary for at most two distinct labels, multiclass above: the one rule both use."""
    return Task.BINARY if n_unique <= 2 else Task.MULTICLASS


def infer_task(y: np.ndarray | pd.Series) -> Task:
    """Classification for labels (strings, booleans, few integers), regression for real values."""
    import pandas as pd  # here, not above: the plugin API (automl) is imported by the command's
    # first instruction, which starts the worker (automl.commands.start); pandas then waits for a
    # target.

    series = pd.Series(np.asarray(y)).dropna()
    n_unique = series.nunique()
    numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    if numeric:
        integral = bool(np.all(np.mod(series.to_numpy(dtype=float), 1) == 0))
        if not integral or n_unique > MAX_CLASSES_INFERRED:
            return Task.REGRESSION
    return _of_classes(n_unique)
