"""Built-in datasets: scikit-learn's bundled sets, table files, MNIST, digits as images, UCR/UEA."""

from __future__ import annotations

from typing import Any

from automl import Data, Dataset, hookimpl
from automl_datasets.files import load_file
from automl_datasets.mnist import load_digits_images, load_mnist
from automl_datasets.openml_data import load_openml
from automl_datasets.uci import load_adult, load_kddcup99
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


FILE_OPTIONS = {
    "path": "???",
    "target": "target",
    "task": "auto",  # auto, classification (binary or multiclass), binary, multiclass, regression
    "test_path": None,  # a separate test table with the same columns
    "format": "auto",  # auto (from the suffix), csv, parquet or arff
    "sep": ",",
    "categorical": [],  # columns to treat as categories even if they hold numbers
    "numeric": [],  # columns to read as numbers (anything else in them becomes missing)
}


@hookimpl
def register_datasets(register: Any) -> None:
    for name, description in BUNDLED.items():
        register(Dataset(name, _bundled(name), description=f"scikit-learn: {description}"))
    for name in ("file", "csv"):  # csv: the same loader, under the name users try first
        register(
            Dataset(
                name,
                load_file,
                options=dict(FILE_OPTIONS),
                description="a CSV, Parquet or ARFF table (path or URL); dataset.path, dataset.target",
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
            "adult",
            load_adult,
            options={"root": None},
            description="UCI Adult census income, 48,842 × 14, binary; its official test split",
        )
    )
    register(
        Dataset(
            "openml",
            load_openml,
            options={
                "dataset_id": None,
                "task_id": None,
                "target": None,
                "fold": 0,
                "cache": None,
                "server": None,
            },
            description="an OpenML dataset (dataset.dataset_id) or task with its split (task_id)",
        )
    )
    register(
        Dataset(
            "kddcup99",
            load_kddcup99,
            options={"root": None, "unseen": "drop"},
            description="KDD Cup 99 10%: 494,021 × 41, 23 classes; its labelled test set",
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
