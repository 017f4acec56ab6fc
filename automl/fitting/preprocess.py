"""Preprocessing per learner family, as scikit-learn pipelines fitted on training rows only.

A model declares its family in ``Model.preprocessing``:

- ``onehot``: impute (median for numbers, the most frequent value for categories) and one-hot
  encode categories; for learners that need numbers (linear, SVM, k-NN, neural networks), which
  scale their inputs themselves.
- ``ordinal``: impute and encode categories as integers; for tree ensembles.
- ``native``: categories stay pandas categoricals and missing values stay missing; for learners
  that handle both (LightGBM).

Preprocessing applies to DataFrames (tabular data with column types); arrays of numbers pass
through untouched. During a search each fold's preprocessing is fitted once, on that fold's training
rows, and reused by every trial; the final model is a pipeline of preprocessing and learner, so it
predicts on raw rows.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

from automl.fitting.data import Fold, Prepared

FAMILIES = ("onehot", "ordinal", "native")
_NUMBERS = make_column_selector(dtype_include="number")
_CATEGORIES = make_column_selector(dtype_exclude="number")


class NativeCategories(TransformerMixin, BaseEstimator):
    """Non-numeric columns as pandas categoricals with the categories seen in training; a category
    first seen later becomes missing, as it would be for a learner fitted on the training rows."""

    def fit(self, X: pd.DataFrame, y: Any = None) -> NativeCategories:
        self.categories_ = {
            c: pd.Index(X[c].dropna().unique()) for c in X.columns if c in set(_CATEGORIES(X))
        }
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        X = X.copy()
        for column, categories in self.categories_.items():
            known = X[column].where(X[column].isin(categories))  # unseen: missing, said explicitly
            X[column] = pd.Categorical(known, categories=categories)
        return X


def preprocessor(family: str) -> Any:
    """An unfitted transformer for ``family``."""
    if family == "native":
        return NativeCategories()
    if family == "onehot":
        encode = OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float32)
    elif family == "ordinal":
        encode = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
    else:
        raise ValueError(f"unknown preprocessing '{family}'; available: {', '.join(FAMILIES)}")
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


def applies(X: Any) -> bool:
    return isinstance(X, pd.DataFrame)


def wrap(estimator: Any, family: str, X: Any) -> Any:
    """``estimator`` behind its family's preprocessing, when ``X`` needs it."""
    return (
        Pipeline([("preprocess", preprocessor(family)), ("model", estimator)])
        if applies(X)
        else estimator
    )


def encode_folds(prepared: Prepared, family: str) -> Prepared:
    """The folds with preprocessing fitted on each fold's training rows, computed once per family
    and shared by every trial of every study that uses this ``prepared``."""
    if not applies(prepared.X_dev):
        return prepared
    cache = prepared.encoded
    if family not in cache:
        folds = []
        for fold in prepared.folds:
            step = preprocessor(family).fit(fold.X_train)
            folds.append(Fold(step.transform(fold.X_train), fold.y_train,
                              step.transform(fold.X_valid), fold.y_valid))  # fmt: skip
        cache[family] = tuple(folds)
    return replace(prepared, folds=cache[family])
