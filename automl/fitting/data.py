"""From a dataset's raw arrays to the splits every trial of a study shares.

The test split comes from the dataset when it defines one; otherwise a seeded split (stratified for
classification) is cut with scikit-learn's ``train_test_split``. Validation is a holdout split or
k-fold cross-validation of the remaining development rows. All slices are cut once per study, so
trials reuse them instead of copying data.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split
from sklearn.preprocessing import LabelEncoder

from automl.plugin.errors import NotApplicable, UserError
from automl.plugin.task import Task, infer_task
from automl.plugin.types import MODALITIES, Data
from automl.settings.split import SplitConfig


@dataclass(frozen=True)
class Fold:
    X_train: Any
    y_train: np.ndarray
    X_valid: Any
    y_valid: np.ndarray
    # The preprocessing fitted on this fold's training rows, which made X_train and X_valid from
    # raw rows (automl.fitting.preprocess); None where none applies. A fold model behind it
    # predicts on raw rows (automl.fitting.bag).
    step: Any = field(default=None, compare=False)
    # The positions of its validation rows among the development rows (None: not recorded).
    rows: Any = field(default=None, compare=False)


@dataclass(frozen=True)
class Prepared:
    """The splits of one dataset for one study. ``classes`` maps encoded labels back to the raw ones."""

    name: str
    task: Task
    X_dev: Any
    y_dev: np.ndarray
    X_test: Any
    y_test: np.ndarray
    folds: tuple[Fold, ...]
    classes: np.ndarray | None
    fingerprint: str = ""
    modality: str = "tabular"
    split: SplitConfig = SplitConfig()  # as applied: validation=auto resolved
    validation: str = ""  # how it validates, in words
    # Folds after each preprocessing family, fitted once per fold and shared by all trials.
    encoded: dict[str, tuple[Fold, ...]] = field(default_factory=dict, compare=False)
    repeats: int = 1  # times the cross-validation folds were cut: folds holds k x repeats

    @property
    def n_classes(self) -> int | None:
        return None if self.classes is None else len(self.classes)

    @property
    def first(self) -> tuple[Fold, ...]:
        """The folds of the first repeat, whose validation rows, in fold order, are every
        validation row once: the order of a trial's kept predictions and of their labels."""
        return self.folds[: len(self.folds) // self.repeats]

    def per_row(self, stacked: np.ndarray) -> np.ndarray:
        """Predictions of every fold's validation rows, in fold order, as one per row in the
        order of :attr:`first`: under repeated k-fold, each row's mean over the repeats."""
        if self.repeats == 1:
            return stacked
        order = np.concatenate([f.rows for f in self.first])
        position = np.empty(len(self.y_dev), dtype=np.int64)
        position[order] = np.arange(len(order))
        total = np.zeros((len(order), *stacked.shape[1:]), dtype=np.float64)
        start = 0
        for fold in self.folds:
            total[position[fold.rows]] += stacked[start : start + len(fold.rows)]
            start += len(fold.rows)
        return (total / self.repeats).astype(stacked.dtype)


def fingerprint(data: Data) -> str:
    """A digest of a dataset's contents, so that an edited file is a new problem, not a resume."""
    digest = hashlib.sha256()
    for part in (data.X, data.y, data.X_test, data.y_test):
        if part is None:
            digest.update(b"-")
        elif isinstance(part, pd.DataFrame | pd.Series) or np.asarray(part).dtype == object:
            frame = part if isinstance(part, pd.DataFrame | pd.Series) else pd.DataFrame(part)
            digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
        else:
            array = np.ascontiguousarray(part)
            digest.update(f"{array.dtype}{array.shape}".encode())
            digest.update(array.data)
    return digest.hexdigest()[:16]


def take(X: Any, rows: np.ndarray) -> Any:
    """Rows of an array or DataFrame by position."""
    return X.iloc[rows] if isinstance(X, pd.DataFrame) else X[rows]


def _check_fraction(name: str, value: float) -> None:
    if not 0 < value < 1:
        raise UserError(f"{name} must be a fraction between 0 and 1, got {value}")


def _target(y: Any, where: str) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1:
        raise UserError(f"{where}: the target must be one column, got shape {y.shape}")
    return y


def _encode(task: Task, y: np.ndarray, y_test: np.ndarray) -> tuple[Any, Any, np.ndarray | None]:
    if not task.is_classification:
        try:
            return y.astype(float), y_test.astype(float), None
        except ValueError:
            raise UserError("a regression target must be numeric") from None
    encoder = LabelEncoder().fit(y)
    unseen = sorted(set(np.unique(y_test).tolist()) - set(encoder.classes_.tolist()))
    if unseen:
        raise UserError(f"test labels never seen in training: {unseen[:5]}")
    n = len(encoder.classes_)
    if n < 2:
        raise UserError(f"a classification target needs at least 2 classes, found {n}")
    if task is Task.BINARY and n > 2:
        raise UserError(f"task binary needs 2 classes, the target has {n}; use task=multiclass")
    return encoder.transform(y), encoder.transform(y_test), encoder.classes_


def _stratified(y: np.ndarray, task: Task, cfg: SplitConfig, parts: int, where: str) -> bool:
    """Whether to stratify, after checking every class can go into each of ``parts`` parts."""
    if not (cfg.stratify and task.is_classification):
        return False
    labels, counts = np.unique(y, return_counts=True)
    if counts.min() < parts:
        raise UserError(
            f"{where}: class {labels[counts.argmin()].item()!r} has {counts.min()} row(s), too few to "
            f"stratify into {parts} parts; drop that class or set split.stratify=false"
        )
    return True


def _holdout(
    y: np.ndarray, size: float, seed: int, stratify: bool, what: str
) -> tuple[np.ndarray, np.ndarray]:
    """Row positions of a seeded (stratified) split: scikit-learn's train_test_split."""
    try:
        return train_test_split(
            np.arange(len(y)), test_size=size, random_state=seed, stratify=y if stratify else None
        )
    except ValueError as error:  # e.g. fewer held-out rows than classes
        raise UserError(f"{what} of {len(y)} rows: {error}") from None


def _features(X: Any) -> int:
    shape = np.shape(X)
    return int(np.prod(shape[1:])) if len(shape) > 1 else 1


def _folds(X: Any, y: np.ndarray, task: Task, cfg: SplitConfig) -> tuple[Fold, ...]:
    if cfg.validation not in ("holdout", "cv"):
        raise UserError(
            f"unknown validation method '{cfg.validation}'; available: auto, cv, holdout"
        )
    if cfg.validation == "cv" and cfg.folds < 2:
        raise UserError(f"validation.folds must be at least 2, got {cfg.folds}")
    parts = 2 if cfg.validation == "holdout" else cfg.folds
    stratify = _stratified(y, task, cfg, parts, "validation split")
    rows = np.arange(len(y))
    if cfg.validation == "holdout":
        _check_fraction("validation.size", cfg.validation_size)
        pairs = [_holdout(y, cfg.validation_size, cfg.seed, stratify, "validation split")]
    else:  # each repeat shuffled by its own seed; the first is the folds of plain k-fold
        pairs = [
            pair
            for repeat in range(cfg.repeats)
            for pair in (StratifiedKFold if stratify else KFold)(
                n_splits=cfg.folds, shuffle=True, random_state=(cfg.seed + repeat) % 2**32
            ).split(rows, y)
        ]
    return tuple(Fold(take(X, t), y[t], take(X, v), y[v], rows=v) for t, v in pairs)


def prepare(data: Data, name: str, cfg: SplitConfig) -> Prepared:
    """Infer the task, encode labels, and cut the test split and the validation folds."""
    if data.modality not in MODALITIES:
        raise UserError(
            f"{name}: unknown modality '{data.modality}'; one of {', '.join(MODALITIES)}"
        )
    y = _target(data.y, name)
    if len(y) != len(data.X):
        raise UserError(f"{name}: {len(data.X)} feature rows but {len(y)} target values")
    task = data.task or infer_task(y)
    if data.X_test is None:
        _check_fraction("split.test_size", cfg.test_size)
        stratify = _stratified(y, task, cfg, 2, "test split")
        dev, test = _holdout(y, cfg.test_size, cfg.seed, stratify, "test split")
        X_dev, y_dev, X_test, y_test = take(data.X, dev), y[dev], take(data.X, test), y[test]
    else:
        X_dev, y_dev = data.X, y
        X_test, y_test = data.X_test, _target(data.y_test, f"{name} test split")
    y_dev, y_test, classes = _encode(task, y_dev, y_test)
    chosen = cfg.chosen(len(y_dev), _features(X_dev))
    return Prepared(
        name=data.name or name,
        task=task,
        X_dev=X_dev,
        y_dev=y_dev,
        X_test=X_test,
        y_test=y_test,
        folds=_folds(X_dev, y_dev, task, chosen),
        repeats=chosen.repeats if chosen.validation == "cv" else 1,
        classes=classes,
        fingerprint=fingerprint(data),
        modality=data.modality,
        split=chosen,
        validation=chosen.describe(auto=cfg.validation == "auto"),
    )


def _flat(X: Any) -> Any:
    """Images and sequences as rows of features; sequence padding (NaN) becomes 0."""
    X = np.asarray(X)
    return np.nan_to_num(X.reshape(len(X), -1), nan=0.0) if X.ndim > 2 else X


def for_model(prepared: Prepared, modalities: frozenset[str], model: str) -> Prepared:
    """The splits as ``model`` takes them: unchanged, or flattened for a tabular learner."""
    if prepared.modality in modalities:
        return prepared
    if "tabular" not in modalities:
        raise NotApplicable(
            f"model '{model}' takes {', '.join(sorted(modalities))} data; "
            f"dataset {prepared.name} is {prepared.modality}"
        )
    folds = tuple(
        replace(f, X_train=_flat(f.X_train), X_valid=_flat(f.X_valid)) for f in prepared.folds
    )
    return replace(
        prepared,
        X_dev=_flat(prepared.X_dev),
        X_test=_flat(prepared.X_test),
        folds=folds,
        modality="tabular",
        encoded={},
    )
