"""automl: compare learners honestly and fast.

Plugins provide datasets, models and metrics through the hooks in :mod:`automl.hookspecs`;
Optuna searches each model's hyperparameters; leaderboards are views over the Optuna storage.
"""

from __future__ import annotations

import pluggy

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("automl")

from automl.domain import Interval, OneOf  # noqa: E402
from automl.registry import Data, Dataset, FitContext, Metric, Model  # noqa: E402
from automl.space import Categorical, Float, Int  # noqa: E402
from automl.task import Task  # noqa: E402

__all__ = [
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
    "__version__",
    "hookimpl",
]
