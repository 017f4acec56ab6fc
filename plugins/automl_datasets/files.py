"""Tabular files: CSV, Parquet and ARFF, from a path or a URL, with an optional test file.

Repairs, each logged: rows whose target is missing (or infinite, for regression) are dropped; a
column whose values are nearly all numbers (at least 95%) is read as numbers, the rest as missing;
any other column mixing numbers and text is read as text, i.e. categorical.
"""

from __future__ import annotations

import io
import logging
import re
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from automl import CLASSIFICATION_WORD, Data, Task, UserError, classes_task, parse_task

log = logging.getLogger(__name__)
FORMATS = ("csv", "parquet", "arff")
NUMERIC_SHARE = 0.95


def _format(path: str, given: str) -> str:
    if given != "auto":
        if given not in FORMATS:
            raise UserError(
                f"dataset.format '{given}' is unknown; available: auto, {', '.join(FORMATS)}"
            )
        return given
    suffixes = Path(path.split("?")[0]).suffixes
    for suffix in reversed(suffixes):
        if suffix.lstrip(".") in FORMATS:
            return suffix.lstrip(".")
        if suffix == ".pq":
            return "parquet"
    return "csv"


def _remote(path: str) -> bool:
    return re.match(r"^[a-z][a-z0-9+.-]*://", path) is not None


def _read_arff(source: str) -> pd.DataFrame:
    import arff  # liac-arff, which openml uses too

    if _remote(source):
        with urllib.request.urlopen(source, timeout=60) as response:
            text = response.read().decode("utf-8")
    else:
        text = Path(source).read_text(encoding="utf-8")
    try:
        parsed = arff.load(io.StringIO(text))
    except arff.ArffException as error:
        raise UserError(f"cannot read ARFF file '{source}': {error}") from None
    columns = [name for name, _ in parsed["attributes"]]
    frame = pd.DataFrame(parsed["data"], columns=columns)
    for name, kind in parsed["attributes"]:
        if isinstance(kind, list):  # nominal: its declared values, as text
            frame[name] = frame[name].astype("string").astype(object)
    return frame


def read_table(
    source: str, fmt: str = "auto", sep: str = ",", key: str = "dataset.path"
) -> pd.DataFrame:
    """A file or URL as a DataFrame, with clear errors for what cannot be read."""
    if not _remote(source) and not Path(source).expanduser().is_file():
        raise UserError(
            f"{key}: no such file '{source}'; give the path or URL of a CSV, Parquet or ARFF file"
        )
    fmt = _format(source, fmt)
    try:
        if fmt == "arff":
            frame = _read_arff(source)
        elif fmt == "parquet":
            frame = pd.read_parquet(source)
        else:
            frame = pd.read_csv(source, sep=sep, skipinitialspace=True)
    except (
        pd.errors.ParserError,
        pd.errors.EmptyDataError,
        UnicodeDecodeError,
        ValueError,
    ) as error:
        raise UserError(
            f"cannot read {fmt.upper()} file '{source}': {error}".splitlines()[0]
        ) from None
    except OSError as error:
        raise UserError(f"cannot open '{source}': {error}") from None
    if frame.empty or frame.shape[1] < 2:
        raise UserError(f"'{source}' holds no rows, or fewer than 2 columns")
    return frame


def _columns(
    frame: pd.DataFrame, categorical: Sequence[str], numeric: Sequence[str], where: str
) -> pd.DataFrame:
    missing = [c for c in [*categorical, *numeric] if c not in frame.columns]
    if missing:
        raise UserError(
            f"{where}: no column {missing[0]!r}; columns: {', '.join(map(str, frame.columns[:20]))}"
        )
    frame = frame.copy()
    for column in frame.columns:
        values = frame[column]
        if column in categorical:
            frame[column] = values.astype("string").astype(object).where(values.notna())
        elif column in numeric or pd.api.types.is_numeric_dtype(values):
            converted = pd.to_numeric(values, errors="coerce")
            lost = int(converted.isna().sum() - values.isna().sum())
            if lost and column in numeric:
                log.warning(
                    "%s: column %r: %d values that are not numbers read as missing",
                    where,
                    column,
                    lost,
                )
            frame[column] = (
                converted.astype(float)
                if not pd.api.types.is_bool_dtype(values)
                else values.astype(float)
            )
        else:  # text, or a mix: numbers if nearly all are, categories otherwise
            present = values.dropna()
            converted = pd.to_numeric(present, errors="coerce")
            share = converted.notna().mean() if len(present) else 0.0
            if share >= NUMERIC_SHARE:
                log.warning("%s: column %r: %d values that are not numbers read as missing",
                            where, column, int(converted.isna().sum()))  # fmt: skip
                frame[column] = pd.to_numeric(values, errors="coerce").astype(float)
            else:
                if share > 0:
                    log.warning(
                        "%s: column %r mixes numbers and text: read as categories", where, column
                    )
                frame[column] = values.astype("string").astype(object).where(values.notna())
    return frame


def _split(
    frame: pd.DataFrame, target: str, task: Task | None, where: str
) -> tuple[pd.DataFrame, pd.Series]:
    if target not in frame.columns:
        raise UserError(
            f"target column '{target}' is not in {where}; its columns: {', '.join(map(str, frame.columns[:20]))}"
        )
    y = frame[target]
    keep = y.notna()
    if task is Task.REGRESSION or (task is None and pd.api.types.is_numeric_dtype(y)):
        keep &= ~np.isinf(pd.to_numeric(y, errors="coerce").fillna(0))
    if not keep.all():
        log.warning(
            "%s: dropped %d rows whose target is missing or infinite", where, int((~keep).sum())
        )
    if not keep.any():
        raise UserError(f"{where} has no rows with a value in column '{target}'")
    frame = frame[keep]
    return frame.drop(columns=[target]).reset_index(drop=True), frame[target].reset_index(drop=True)


def load_file(
    path: str,
    target: str = "target",
    task: str = "auto",
    test_path: str | None = None,
    format: str = "auto",  # noqa: A002 (the config key users type)
    sep: str = ",",
    categorical: Sequence[str] = (),
    numeric: Sequence[str] = (),
) -> Data:
    """A table with a ``target`` column; ``test_path`` gives a separate test table."""
    kind = parse_task(task)
    frame = _columns(read_table(path, format, sep), categorical, numeric, Path(path).name)
    X, y = _split(frame, target, kind, Path(path).name)
    X_test = y_test = None
    if test_path:
        raw = read_table(test_path, format, sep, key="dataset.test_path")
        # Each column is read as the training file's was: a column of numbers there whose test
        # values hold text (or the reverse) must not change kind between fitting and predicting.
        texts = [
            c for c in X.columns if c in raw.columns and not pd.api.types.is_numeric_dtype(X[c])
        ]
        numbers = [c for c in X.columns if c in raw.columns and pd.api.types.is_numeric_dtype(X[c])]
        test = _columns(raw, texts, numbers, Path(test_path).name)
        X_test, y_test = _split(test, target, kind, Path(test_path).name)
        absent = [c for c in X.columns if c not in X_test.columns]
        if absent:
            raise UserError(
                f"{Path(test_path).name} lacks column {absent[0]!r} of the training file"
            )
        X_test = X_test[X.columns]
    if task == CLASSIFICATION_WORD:
        kind = classes_task(y)
    if kind is not Task.REGRESSION and pd.api.types.is_float_dtype(y) and (y % 1 == 0).all():
        y, y_test = y.astype(int), None if y_test is None else y_test.astype(int)  # 1.0 -> class 1
    name = re.sub(r"[_-]train$", "", Path(path.split("?")[0]).name.split(".")[0])
    return Data(X=X, y=y.to_numpy(), X_test=X_test, y_test=None if y_test is None else y_test.to_numpy(),
                task=kind, name=name)  # fmt: skip
