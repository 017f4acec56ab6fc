"""automl: compare learners honestly and fast.

From Python: ``automl.compare(data, target, budget=60)`` runs the command's comparison and returns
a :class:`Comparison` (``Comparison.load(storage)`` reopens one). Plugins provide datasets, models and metrics through the hooks in :mod:`automl.plugin.hookspecs`,
and import everything they need from this package alone; Optuna searches each model's
hyperparameters; leaderboards are views over the Optuna storage.
"""

from __future__ import annotations

from typing import Any

import pluggy

from automl._version import __version__  # noqa: E402,F401

hookimpl = pluggy.HookimplMarker("automl")

from automl.commands.compare import compare  # noqa: E402  (imports nothing heavy)
from automl.plugin.domain import Interval, OneOf  # noqa: E402
from automl.plugin.errors import UserError  # noqa: E402
from automl.plugin.space import Categorical, Float, Int  # noqa: E402
from automl.plugin.stopping import PATIENCE, least_improvement  # noqa: E402
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


def __getattr__(name: str) -> Any:
    """``automl.Comparison``, imported when first asked for (it needs pandas and the views)."""
    if name == "Comparison":
        from automl.commands.comparison import Comparison

        return Comparison
    raise AttributeError(f"module 'automl' has no attribute {name!r}")


__all__ = [
    "ALL_TASKS",
    "PATIENCE",
    "CLASSIFICATION",
    "CLASSIFICATION_WORD",
    "Categorical",
    "Comparison",
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
    "compare",
    "hookimpl",
    "least_improvement",
    "load",
    "parse_task",
]
