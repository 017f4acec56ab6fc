"""Built-in datasets: scikit-learn's bundled sets, a CSV file, MNIST, digits as images, UCR/UEA."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from automl import Data, Dataset, hookimpl
from automl.errors import UserError
from automl.task import parse_task
from automl_datasets.mnist import load_digits_images, load_mnist
from automl_datasets.ucr import ARCHIVED, load_ucr

BUNDLED = {
    "digits": "8×8 images of handwritten digits, 1,797 × 64, 10 classes",
    "iris": "iris flowers, 150 × 4, 3 classes",
    "wine": "wine cultivars, 178 × 13, 3 classes",
    "breast_cancer": "Wisconsin breast cancer, 569 × 30, 2 classes",
    "diabetes": "diabetes progression, 442 × 10, regression",
}


def _bundled(name: str) -> Any:
    def load() -> Data:
        from sklearn import datasets

        X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
        return Data(X=X, y=y)

    return load


def load_csv(path: str, target: str = "target", task: str = "auto", sep: str = ",") -> Data:
    """A CSV file with a header row; ``target`` names the column to predict.

    Rows whose target is missing are dropped (and logged): they can be neither trained nor scored.
    """
    file = Path(path).expanduser()
    if not file.is_file():
        raise UserError(f"dataset.path: no such file '{path}'; give the path of a CSV file")
    try:
        frame = pd.read_csv(file, sep=sep)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise UserError(f"cannot read CSV file '{path}': {error}".splitlines()[0]) from None
    if target not in frame.columns:
        columns = ", ".join(map(str, frame.columns[:20]))
        raise UserError(f"target column '{target}' is not in {file.name}; its columns: {columns}")
    frame = frame.dropna(subset=[target])
    if frame.empty:
        raise UserError(f"{file.name} has no rows with a value in column '{target}'")
    X = frame.drop(columns=[target])
    non_numeric = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    if non_numeric:
        X = pd.get_dummies(X, columns=non_numeric, dtype=float)
    return Data(
        X=X.to_numpy(dtype=float), y=frame[target].to_numpy(), task=parse_task(task), name=file.stem
    )


@hookimpl
def register_datasets(register: Any) -> None:
    for name, description in BUNDLED.items():
        register(Dataset(name, _bundled(name), description=f"scikit-learn: {description}"))
    register(
        Dataset(
            "csv",
            load_csv,
            options={"path": "???", "target": "target", "task": "auto", "sep": ","},
            description="a CSV file with a header; dataset.path=FILE dataset.target=COLUMN",
        )
    )
    register(
        Dataset(
            "mnist",
            load_mnist,
            options={"root": None, "train": "5k"},
            description="MNIST images, official 10k test set; train: 5k subset or 60k",
        )
    )
    register(
        Dataset(
            "digits_images", load_digits_images, description="scikit-learn's digits as 8×8 images"
        )
    )
    register(
        Dataset(
            "ucr",
            load_ucr,
            options={"problem": "GunPoint", "root": None},
            description=f"UCR/UEA time series (.ts); dataset.problem: {', '.join(ARCHIVED)}, ...",
        )
    )
