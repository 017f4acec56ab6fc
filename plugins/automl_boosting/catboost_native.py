"""CatBoost as a scikit-learn estimator that takes the harness's ``native`` tables.

CatBoost's own scikit-learn classes need the categorical columns named at fit time and refuse a
missing value in one; the ``native`` preprocessing hands over pandas categoricals whose missing
(and unseen) values are missing. These classes find the categorical columns themselves, give a
missing category its own value, and keep the column list for prediction, so that a fitted one is a
plain estimator: ``fit``, ``predict``, ``predict_proba``, ``classes_``, cloned and pickled as any.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, is_regressor
from sklearn.utils import Tags
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d, validate_data

MISSING = "__missing__"  # a categorical column's missing value, as one more category


def as_catboost(X: Any, categorical: list[str] | None = None) -> tuple[Any, list[str]]:
    """``X`` as CatBoost takes it, and its categorical columns (found when not given): every
    non-numeric column of a DataFrame, as text with missing values as :data:`MISSING`."""
    if not isinstance(X, pd.DataFrame):
        return X, []
    if categorical is None:
        categorical = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    if not categorical:
        return X, categorical
    X = X.copy()
    for column in categorical:
        values = X[column].astype(object)
        X[column] = values.where(values.notna(), MISSING).astype(str)
    return X, categorical


class _Until:
    """A CatBoost callback that ends training at ``deadline`` (``time.monotonic()``)."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline

    def after_iteration(self, info: Any) -> bool:
        return time.monotonic() < self.deadline  # False stops


class _Settled:
    """A CatBoost callback that ends training once its validation loss has not fallen by at least
    ``least`` for ``patience`` rounds (CatBoost's own early stopping counts any fall)."""

    def __init__(self, patience: int, least: float) -> None:
        self.patience, self.least = patience, least
        self.best, self.since = float("inf"), 0

    def after_iteration(self, info: Any) -> bool:
        losses = info.metrics.get("validation") or {}
        if not losses:
            return True
        loss = next(iter(losses.values()))[-1]  # the first metric: the loss it optimises
        if loss < self.best - self.least:
            self.best, self.since = loss, 0
        else:
            self.since += 1
        return self.since < self.patience  # False stops


class _CatBoost(BaseEstimator):
    """What the classifier and the regressor share: CatBoost's options, quiet and writing no
    files (CatBoost writes ``catboost_info/`` into the working folder unless told not to)."""

    def __init__(
        self, params: dict[str, Any] | None = None, seed: int = 0, threads: int = 1,
        device: str = "cpu",
    ) -> None:  # fmt: skip
        self.params = params
        self.seed = seed
        self.threads = threads
        self.device = device

    def _library(self) -> Any:
        raise NotImplementedError

    def _options(self) -> dict[str, Any]:
        return {
            **(self.params or {}),
            "random_seed": self.seed,
            "thread_count": self.threads if self.threads > 0 else -1,
            "task_type": "GPU" if self.device == "cuda" else "CPU",
            "allow_writing_files": False,
            "verbose": False,
        }

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # CatBoost's own handling of missing numbers
        return tags

    def _checked(self, X: Any, y: Any) -> tuple[Any, np.ndarray]:
        """A table as it is (its column names recorded), other input as a 2-D array of numbers
        (missing values allowed), and the target as 1-D: scikit-learn's contract."""
        numeric = is_regressor(self)
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, skip_check_array=True)
            y = column_or_1d(y, warn=True)
            y = check_array(y, ensure_2d=False, dtype="numeric" if numeric else None)
        else:
            X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", ensure_min_samples=2,
                                 y_numeric=numeric)  # fmt: skip
        if len(y) < 2:
            raise ValueError(f"CatBoost needs 2 samples or more; got {len(y)} sample")
        return X, y

    def fit(
        self, X: Any, y: Any, eval_set: tuple[Any, Any] | None = None,
        early_stopping_rounds: int | None = None, deadline: float | None = None,
        least_improvement: float = 0.0,
    ) -> _CatBoost:  # fmt: skip
        """Fit; with ``eval_set`` (validation rows and targets) and ``early_stopping_rounds``,
        stop when its loss has not improved for that many rounds (by at least
        ``least_improvement``: on the CPU, where CatBoost takes callbacks), cut to the best
        iteration; with ``deadline`` (``time.monotonic()``), stop then too."""
        X, y = self._checked(X, y)
        X, self.categorical_ = as_catboost(X)
        self.model_ = self._library()(**self._options())
        watched: dict[str, Any] = {}
        if eval_set is not None:
            X_valid, y_valid = eval_set
            watched = {"eval_set": (as_catboost(X_valid, self.categorical_)[0], y_valid),
                       "early_stopping_rounds": early_stopping_rounds, "use_best_model": True}  # fmt: skip
        callbacks: list[Any] = []
        if eval_set is not None and early_stopping_rounds and least_improvement > 0:
            callbacks.append(_Settled(early_stopping_rounds, least_improvement))
        if deadline is not None:
            callbacks.append(_Until(deadline))
        if callbacks and self.device != "cuda":  # CatBoost's GPU training takes no callbacks
            watched["callbacks"] = callbacks
        self.model_.fit(X, y, cat_features=self.categorical_ or None, **watched)
        self.device_ = "cuda" if self.device == "cuda" else "cpu"
        return self

    @property
    def best_iteration_(self) -> int:
        """The iteration it kept (the last, when it watched no validation rows)."""
        best = self.model_.get_best_iteration()
        return int(best) if best is not None else int(self.model_.tree_count_) - 1

    def _input(self, X: Any) -> Any:
        check_is_fitted(self)
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, reset=False, skip_check_array=True)
        else:
            X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        return as_catboost(X, self.categorical_)[0]

    @property
    def feature_importances_(self) -> np.ndarray:
        return np.asarray(self.model_.get_feature_importance(), dtype=float)


class CatBoostClassifier(ClassifierMixin, _CatBoost):
    def _library(self) -> Any:
        from catboost import CatBoostClassifier

        return CatBoostClassifier

    def fit(
        self, X: Any, y: Any, eval_set: tuple[Any, Any] | None = None,
        early_stopping_rounds: int | None = None, deadline: float | None = None,
        least_improvement: float = 0.0,
    ) -> CatBoostClassifier:  # fmt: skip
        _, checked = self._checked(X, y)
        check_classification_targets(checked)
        self.classes_ = np.unique(checked)
        if len(self.classes_) < 2:
            raise ValueError(f"CatBoost needs 2 classes or more; got 1 class ({self.classes_[0]})")
        super().fit(X, y, eval_set, early_stopping_rounds, deadline, least_improvement)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        X = self._input(X)
        return np.asarray(self.model_.predict_proba(X), dtype=float)

    def predict(self, X: Any) -> np.ndarray:
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


class CatBoostRegressor(RegressorMixin, _CatBoost):
    def _library(self) -> Any:
        from catboost import CatBoostRegressor

        return CatBoostRegressor

    def predict(self, X: Any) -> np.ndarray:
        X = self._input(X)
        return np.asarray(self.model_.predict(X), dtype=float)
