"""automl: compare learners honestly and fast.

Plugins provide datasets, models and metrics through the hooks in :mod:`automl.plugin.hookspecs`,
and import everything they need from this package alone; Optuna searches each model's
hyperparameters; leaderboards are views over the Optuna storage.
"""

from __future__ import annotations

from typing import Any

import pluggy

from automl._version import __version__  # noqa: E402,F401

hookimpl = pluggy.HookimplMarker("automl")

from automl.plugin.domain import Interval, OneOf  # noqa: E402
from automl.plugin.errors import UserError  # noqa: E402
from automl.plugin.space import Categorical, Float, Int  # noqa: E402
from automl.plugin.task import (  # noqa: E402
    ALL_TASKS,
    CLASSIFICATION,
    CLASSIFICATION_WORD,
    Task,
    classes_task,
    parse_task,
)
from automl.plugin.types import (  # noqa: E402
    Cost,
    Data,
    Dataset,
    FitContext,
    Metric,
    Model,
    Preprocessing,
)


def load(path: str) -> Any:
    """The model saved at ``path`` (``results/models/*.model``), fitted, ready to ``predict``."""
    from automl.fitting.model_file import load as _load

    return _load(path)


__all__ = [
    "ALL_TASKS",
    "CLASSIFICATION",
    "CLASSIFICATION_WORD",
    "Categorical",
    "Cost",
    "Data",
    "Dataset",
    "FitContext",
    "Float",
    "Int",
    "Interval",
    "Metric",
    "Model",
    "OneOf",
    "Preprocessing",
    "Task",
    "UserError",
    "__version__",
    "classes_task",
    "hookimpl",
    "load",
    "parse_task",
]
