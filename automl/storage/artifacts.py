"""Predictions kept beside the storage: each completed trial's validation predictions and each
refit's test predictions (and, for the test score's interval, what its metric scored and the
labels it scored them against), in Optuna's artifact store (a folder, ``<output_dir>/artifacts``).

Optuna's artifact API does the bookkeeping: the file is copied into the store under an id, and the
trial (or study) it belongs to records the id, so that whatever reads the storage finds it. The
harness also writes the id under its own key (``records.PREDICTIONS``), so a reader need not scan
artifact metadata. An array is stored as float32 ``.npy``; one larger than ``MAX_VALUES`` values
(80 MB) is not kept, and the trial says so, which bounds what a long study leaves on disk to
``MAX_VALUES`` × 4 bytes per completed trial (the first trials of a 45,000-row binary problem keep
360 kB each).
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import numpy as np
import optuna
from optuna.artifacts import FileSystemArtifactStore, upload_artifact

MAX_VALUES = 20_000_000


def store(folder: str | Path) -> FileSystemArtifactStore:
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return FileSystemArtifactStore(str(path))


def too_large(array: np.ndarray) -> str | None:
    """Why ``array`` is not kept, or None when it is."""
    if array.size > MAX_VALUES:
        return f"not kept: {array.size:,} values, more than the {MAX_VALUES:,} kept per array"
    return None


def save(
    folder: str | Path,
    array: np.ndarray,
    owner: optuna.Trial | optuna.Study,
    name: str,
    dtype: type = np.float32,
) -> str:
    """Store ``array`` for ``owner`` (a running trial, or a study); return its artifact id.
    ``dtype``: float32 for what an ensemble averages, float64 where a score must come out exact."""
    with tempfile.TemporaryDirectory() as scratch:
        path = os.path.join(scratch, f"{name}.npy")
        np.save(path, np.asarray(array, dtype=dtype))
        return upload_artifact(
            artifact_store=store(folder), file_path=path, study_or_trial=owner,
            mimetype="application/x-npy",
        )  # fmt: skip


def load(folder: str | Path, artifact_id: str) -> np.ndarray:
    """The array stored under ``artifact_id``."""
    with store(folder).open_reader(artifact_id) as reader:
        return np.load(io.BytesIO(reader.read()), allow_pickle=False)


def models(artifacts: str | Path) -> Path:
    """Where the saved models of an artifact store's studies go: a folder beside it."""
    return Path(artifacts).absolute().parent / "models"
