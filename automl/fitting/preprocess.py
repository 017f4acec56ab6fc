"""Preprocessing per learner family, as scikit-learn pipelines fitted on training rows only.

A model declares its family in ``Model.preprocessing``: one the core makes, by name (``FAMILIES``),
or its own ``automl.Preprocessing``:

- ``onehot``: impute (median for numbers, the most frequent value for categories) and one-hot
  encode categories; for learners that need numbers (linear models, SVMs, k-NN, neural networks),
  which scale their inputs themselves.
- ``ordinal``: impute and encode categories as integers; for tree ensembles.
- ``native``: categories stay pandas categoricals and missing values stay missing; for learners
  that handle both (gradient-boosting libraries with categorical support).

Preprocessing applies to DataFrames (tabular data with column types); arrays of numbers pass
through untouched. During a search each fold's preprocessing is fitted once, on that fold's training
rows, and reused by every trial; the final model is a pipeline of preprocessing and learner, so it
predicts on raw rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

from automl.fitting.data import Prepared
from automl.plugin.types import Preprocessing

_NUMBERS = make_column_selector(dtype_include="number")
_CATEGORIES = make_column_selector(dtype_exclude="number")


class NativeCategories(TransformerMixin, BaseEstimator):
    """Non-numeric columns as pandas categoricals with the categories seen in training; a category
    first seen later becomes missing, as it would be for a learner fitted on the training rows. A
    column with no value at all in training is all missing, as a number."""

    def fit(self, X: pd.DataFrame, y: Any = None) -> NativeCategories:
        self.categories_ = {
            c: pd.Index(X[c].dropna().unique()) for c in X.columns if c in set(_CATEGORIES(X))
        }
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        X = X.copy()
        for column, categories in self.categories_.items():
            if categories.empty:  # no value in training: all missing, as a number (XGBoost
                X[column] = np.nan  # refuses a categorical column without categories)
                continue
            known = X[column].where(X[column].isin(categories))  # unseen: missing, said explicitly
            X[column] = pd.Categorical(known, categories=categories)
        return X


def _imputed(encode: Any) -> Any:
    """Numbers imputed with the median; other columns with the most frequent value, then
    ``encode``d."""
    return ColumnTransformer(
        [
            ("numbers", SimpleImputer(strategy="median"), _NUMBERS),
            (
                "categories",
                make_pipeline(SimpleImputer(strategy="most_frequent"), encode),
                _CATEGORIES,
            ),
        ],
        sparse_threshold=0.0,
    )


def _onehot() -> Any:
    return _imputed(OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float32))


def _ordinal() -> Any:
    return _imputed(OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1))


# The families the core makes, by the names a Model gives (automl.plugin.types.PREPROCESSING).
FAMILIES: dict[str, Callable[[], Any]] = {
    "onehot": _onehot,
    "ordinal": _ordinal,
    "native": NativeCategories,
}


def family(declared: str | Preprocessing) -> Preprocessing:
    """A model's declared preprocessing as one: the core's family of that name, or its own."""
    if isinstance(declared, Preprocessing):
        return declared
    if declared not in FAMILIES:
        raise ValueError(f"unknown preprocessing '{declared}'; available: {', '.join(FAMILIES)}")
    return Preprocessing(declared, FAMILIES[declared])


def preprocessor(declared: str | Preprocessing) -> Any:
    """An unfitted transformer of the family ``declared``."""
    return family(declared).make()


def applies(X: Any) -> bool:
    return isinstance(X, pd.DataFrame)


def wrap(estimator: Any, declared: str | Preprocessing, X: Any) -> Any:
    """``estimator`` behind its family's preprocessing, when ``X`` needs it."""
    return (
        Pipeline([("preprocess", preprocessor(declared)), ("model", estimator)])
        if applies(X)
        else estimator
    )


def encode_folds(prepared: Prepared, declared: str | Preprocessing) -> Prepared:
    """The folds with preprocessing fitted on each fold's training rows, computed once per family
    (by its name) and shared by every trial of every study that uses this ``prepared``."""
    if not applies(prepared.X_dev):
        return prepared
    made, cache = family(declared), prepared.encoded
    if made.name not in cache:
        folds = []
        for fold in prepared.folds:
            step = made.make().fit(fold.X_train)
            folds.append(replace(fold, X_train=step.transform(fold.X_train),
                                 X_valid=step.transform(fold.X_valid), step=step))  # fmt: skip
        cache[made.name] = tuple(folds)
    return replace(prepared, folds=cache[made.name])
