"""Early stopping's rule, shared by the learners that boost or train for rounds against their
validation fold: how many rounds without an improvement end training, and how small a fall of
the validation loss still counts as one.

Patience alone never ends boosting on data that a model separates: the validation log loss keeps
falling by ever smaller amounts towards 0, and every round is an "improvement". On a 10,000-row
table of five classes (UCI nursery) LightGBM's defaults ran to their 2,000-round cap on every fold,
13 s a trial, at the same validation accuracy (1.000) as after 150 rounds. So a fall counts only
when it is at least :data:`TOLERANCE` of the loss that predicting without the features gives (the
classes' entropy for log loss; the target's variance for squared error, its standard deviation
for RMSE): a scale-free floor, set by ``benchmarks/early_stopping.py`` (RESULTS.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np

# Rounds without improvement of the validation loss after which training stops (LightGBM's,
# XGBoost's and CatBoost's early stopping; AutoGluon's fixed fallback is 50 too).
PATIENCE = 50
# The smallest fall of the validation loss over PATIENCE rounds that counts as an improvement, as a
# share of the featureless loss (benchmarks/early_stopping.py).
TOLERANCE = 1e-4


def least_improvement(y: Any, classification: bool, root: bool = False) -> float:
    """The smallest fall of the validation loss that counts as an improvement, for targets ``y``:
    :data:`TOLERANCE` times the loss of a prediction without features (log loss in nats for
    classification; squared error for regression, or its root with ``root``)."""
    values = np.asarray(y)
    if values.size == 0:
        return 0.0
    if classification:
        _, counts = np.unique(values, return_counts=True)
        shares = counts / counts.sum()
        featureless = float(-(shares * np.log(shares)).sum())
    else:
        numbers = values.astype(float)
        featureless = float(np.nanstd(numbers) if root else np.nanvar(numbers))
    return TOLERANCE * featureless if np.isfinite(featureless) else 0.0
