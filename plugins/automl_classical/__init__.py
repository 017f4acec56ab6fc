"""Built-in classical learners: scikit-learn's and LightGBM's, each with a search space.

Every model handles classification and regression (SVC/SVR, logistic regression/ridge, ...), so a
sweep over all of them works on any tabular dataset. Learners that are sensitive to feature scale
(SVM, linear, k-NN) sit behind a scaler, which is itself a hyperparameter.
"""

from __future__ import annotations

from typing import Any

from automl import hookimpl
from automl_classical.models import MODELS

__all__ = ["MODELS", "register_models"]


@hookimpl
def register_models(register: Any) -> None:
    for model in MODELS:
        register(model)
