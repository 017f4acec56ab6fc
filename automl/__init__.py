"""automl: compare learners honestly and fast.

Plugins provide datasets, models and metrics through the hooks in :mod:`automl.hookspecs`, and
import everything they need from this package alone;
Optuna searches each model's hyperparameters; leaderboards are views over the Optuna storage.
"""

from __future__ import annotations

import pluggy

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("automl")

from automl.domain import Interval, OneOf  # noqa: E402
from automl.errors import UserError  # noqa: E402
from automl.registry import Data, Dataset, FitContext, Metric, Model  # noqa: E402
from automl.space import Categorical, Float, Int  # noqa: E402
from automl.task import ALL_TASKS, CLASSIFICATION, Task, parse_task  # noqa: E402

__all__ = [
    "ALL_TASKS",
    "CLASSIFICATION",
    "Categorical",
    "Data",
    "Dataset",
    "FitContext",
    "Float",
    "Int",
    "Interval",
    "Metric",
    "Model",
    "OneOf",
    "Task",
    "UserError",
    "__version__",
    "hookimpl",
    "parse_task",
]
