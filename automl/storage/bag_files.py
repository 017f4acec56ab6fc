"""Where a learner's best bag of fold models is kept between processes (automl.fitting.bag): one
file per study and trial under the artifacts folder. The fitting process writes it; the budget
asks whether one is there, without importing a fitting library."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any


def key(identity: dict[str, Any]) -> str:
    """A study's key for its bags: its experiment's identity, as text."""
    return json.dumps(identity, sort_keys=True, default=str)


def path(folder: str, study: str, number: int) -> Path:
    """Where the bag of trial ``number`` of ``study`` is kept under the artifacts ``folder``."""
    digest = hashlib.sha256(study.encode()).hexdigest()[:16]
    return Path(folder) / "bags" / f"{digest}-{number}.joblib"


def kept(folder: str | None, study: str, number: int | None) -> bool:
    """Whether the bag of trial ``number`` of ``study`` is kept in a file under ``folder``."""
    return bool(folder) and number is not None and path(folder, study, number).is_file()
