"""Built-in gradient-boosting learners beside LightGBM: XGBoost and CatBoost, each with its own
library, search space and portfolio, in the default comparison.

Both take the ``native`` preprocessing: categorical columns stay categories and missing values
stay missing, and each library handles them its own way (XGBoost's categorical splits, CatBoost's
ordered target statistics). Their libraries are declared here (``Model.libraries``): a machine
without one leaves that learner out of the default comparison and refuses it by name, with the
``pip install`` that brings it.
"""

from __future__ import annotations

from typing import Any

from automl import hookimpl
from automl_boosting.models import MODELS

__all__ = ["MODELS", "register_models"]


@hookimpl
def register_models(register: Any) -> None:
    for model in MODELS:
        register(model)
