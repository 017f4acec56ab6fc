"""A leaderboard row's model as one fitted scikit-learn estimator that takes raw rows and gives raw
labels: a learner's refitted pipeline (preprocessing included), or an ensemble of such pipelines
with the weights ensemble selection chose.

The harness fits on encoded labels (0..n-1) and, for tabular learners of images, on flattened
pixels; a :class:`Winner` undoes both, so that ``predict`` answers in the dataset's own labels, and
it checks that new rows have the columns and types it was fitted on, saying in one line what is
wrong. An ensemble predicts exactly as the harness scored it: each member's test predictions as
float32 (as they were stored), averaged with the chosen weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.preprocessing import LabelEncoder

from automl.fitting.ensemble import blend
from automl.fitting.evaluate import probabilities
from automl.plugin.errors import UserError


def _schema(X: Any) -> tuple[list[str] | None, dict[str, str] | None, tuple[int, ...] | None]:
    """The columns and dtypes of a frame, or the shape of an array's rows."""
    if isinstance(X, pd.DataFrame):
        return [str(c) for c in X.columns], {str(c): str(X[c].dtype) for c in X.columns}, None
    return None, None, tuple(np.asarray(X).shape[1:])


class Winner(BaseEstimator):
    """``estimators`` (one, or an ensemble's members with ``weights``) fitted on encoded labels;
    ``classes`` maps them back (None for regression). ``columns``/``dtypes`` or ``shape`` describe
    the input it takes; ``categories`` the categories of each non-numeric column in training."""

    def __init__(
        self,
        estimators: Sequence[Any] = (),
        weights: Sequence[float] = (1.0,),
        classes: Any = None,
        columns: list[str] | None = None,
        dtypes: dict[str, str] | None = None,
        shape: tuple[int, ...] | None = None,
    ) -> None:
        self.estimators = estimators
        self.weights = weights
        self.classes = classes
        self.columns = columns
        self.dtypes = dtypes
        self.shape = shape

    @classmethod
    def of(cls, estimator: Any, classes: Any, X: Any) -> Winner:
        """A learner's fitted pipeline, which takes rows like ``X``."""
        return cls([estimator], [1.0], classes, *_schema(X))

    @classmethod
    def ensemble(cls, members: Sequence[Winner], weights: Sequence[float]) -> Winner:
        """Members (each a learner's Winner, which adapts rows to itself) blended with ``weights``;
        members of weight 0 are left out. The ensemble checks columns itself when its members
        share them (tables); on images each member takes the rows as it needs them."""
        kept = [(m, float(w)) for m, w in zip(members, weights, strict=True) if w > 0]
        first = kept[0][0]
        same = all(m.columns == first.columns and m.shape == first.shape for m, _ in kept)
        schema = (first.columns, first.dtypes, first.shape) if same else (None, None, None)
        return cls([m for m, _ in kept], [w for _, w in kept], first.classes, *schema)

    # The fitted attributes of the estimator contract.
    @property
    def classes_(self) -> np.ndarray:
        if self.classes is None:
            raise AttributeError("a regression model has no classes_")
        return np.asarray(self.classes)

    @property
    def n_features_in_(self) -> int:
        return len(self.columns) if self.columns is not None else int(np.prod(self.shape or (0,)))

    def rows(self, X: Any) -> Any:
        """``X`` checked against what the model was fitted on, in the columns' order and types."""
        if self.columns is None and self.shape is None:
            return X  # an ensemble whose members take different rows: each adapts them
        if self.columns is None:
            array = np.asarray(X)
            if array.ndim > 2 and len(self.shape or ()) == 1:  # images for a tabular learner
                array = np.nan_to_num(array.reshape(len(array), -1), nan=0.0)
            if tuple(array.shape[1:]) != tuple(self.shape or ()):
                raise UserError(
                    f"the model takes rows of shape {tuple(self.shape or ())}, "
                    f"got {tuple(array.shape[1:])}"
                )
            return array
        if not isinstance(X, pd.DataFrame):
            X = pd.DataFrame(np.asarray(X), columns=self.columns[: np.asarray(X).shape[1]])
        X = X.rename(columns=str)
        missing = [c for c in self.columns if c not in X.columns]
        extra = [c for c in X.columns if c not in set(self.columns)]
        if missing or extra:
            said = [f"missing columns: {', '.join(missing)}"] if missing else []
            said += [f"unexpected columns: {', '.join(extra)}"] if extra else []
            raise UserError(f"{'; '.join(said)} (the model takes: {', '.join(self.columns)})")
        return pd.DataFrame({c: self._typed(X[c], c) for c in self.columns}, index=X.index)

    def _typed(self, column: pd.Series, name: str) -> pd.Series:
        dtype = (self.dtypes or {}).get(name, "object")
        if dtype.startswith(("int", "uint", "float", "bool", "Int", "Float", "UInt")):
            numbers = pd.to_numeric(column, errors="coerce")
            wrong = numbers.isna() & column.notna()
            if wrong.any():
                raise UserError(
                    f"column '{name}' must be numeric ({dtype}), got {column[wrong].iloc[0]!r} "
                    f"in row {wrong.to_numpy().argmax() + 1}"
                )
            if numbers.isna().any() and dtype.startswith(("int", "uint", "bool")):
                return numbers.astype("float64")  # missing values in a column fitted without them
            return numbers.astype(dtype)
        if dtype == "category":
            return column.astype("object").where(column.notna()).astype("category")
        return column.astype(dtype) if dtype in ("str", "string", "object") else column

    def _each(self, X: Any) -> list[np.ndarray]:
        """Each member's predictions as the harness stored them: class probabilities (labels one-hot
        for a member without them) or values, float32."""
        n = None if self.classes is None else len(self.classes)
        out = []
        for estimator in self.estimators:
            if isinstance(estimator, Winner):  # an ensemble's member: a learner's model or bag
                out.append(estimator.member(X))
            elif n is None:
                out.append(np.asarray(estimator.predict(X), dtype=np.float32))
            elif hasattr(estimator, "predict_proba"):
                out.append(probabilities(estimator, X, n).astype(np.float32))
            else:
                labels = np.asarray(estimator.predict(X)).astype(int)
                out.append(np.eye(n, dtype=np.float32)[labels])
        return out

    def member(self, X: Any) -> np.ndarray:
        """Its predictions as an ensemble's member, float32 as its test predictions were stored:
        its one estimator's, or the blend of its own members (a bag of fold models)."""
        return blend(self._each(self.rows(X)), self.weights).astype(np.float32)

    def encoded(self, X: Any) -> np.ndarray:
        """Predicted encoded labels (0..n-1) or values, as the harness scored them."""
        X = self.rows(X)
        if not self._blended:
            return np.asarray(self.estimators[0].predict(X))
        blended = blend(self._each(X), self.weights)
        return blended if self.classes is None else blended.argmax(axis=1)

    def predict(self, X: Any) -> np.ndarray:
        """Labels in the dataset's own terms, or values."""
        predicted = self.encoded(X)
        if self.classes is None:
            return predicted
        return np.asarray(self.classes)[np.asarray(predicted).astype(int)]

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``."""
        if self.classes is None:
            raise AttributeError("a regression model gives no probabilities")
        X = self.rows(X)
        n = len(self.classes)
        if not self._blended:
            return probabilities(self.estimators[0], X, n)
        return blend(self._each(X), self.weights)

    @property
    def _blended(self) -> bool:
        return len(self.estimators) != 1 or isinstance(self.estimators[0], Winner)

    def fit(self, X: Any, y: Any) -> Winner:
        """Fit every member again, with its hyperparameters, on new rows (``X``, raw labels ``y``)."""
        if any(isinstance(e, Winner) for e in self.estimators):
            self.estimators = [clone(e).fit(X, y) for e in self.estimators]
            self.classes = self.estimators[0].classes
            return self
        X = self.rows(X)
        if self.classes is not None:
            encoder = LabelEncoder().fit(y)
            self.classes, y = encoder.classes_, encoder.transform(y)
        self.estimators = [clone(e).fit(X, y) for e in self.estimators]
        return self
