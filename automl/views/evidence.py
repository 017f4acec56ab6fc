"""The stored evidence behind a leaderboard's test scores, and the intervals drawn from it.

Each refit keeps what its metric scored on the test split and the labels it scored them against
(``ResultRecord.scored`` and ``.truth``, artifacts beside the storage). :func:`attach` scores them
again on the same bootstrap resamples (:mod:`automl.views.intervals`) and gives every row its
interval, and every row of the pick's seed its paired margin over the pick. Rows without evidence
(made before it was kept, or whose artifacts were not kept with the storage) get none; nothing else
changes.
"""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from automl.plugin.errors import UserError
from automl.plugin.task import CLASSIFICATION, Task
from automl.plugin.types import Metric
from automl.storage import artifacts
from automl.views import intervals

log = logging.getLogger(__name__)

COLUMNS = ["test_low", "test_high", "margin_low", "margin_high", "indistinct"]


def folder(recorded: str | None, home: str | Path | None) -> str | None:
    """The artifact store a row's evidence is in: beside the storage (as written by default, or
    a storage folder moved or kept in a repository), else where it was written."""
    if home is not None and (Path(home) / "artifacts").is_dir():
        return str(Path(home) / "artifacts")
    return recorded if recorded and Path(recorded).is_dir() else None


def _arrays(row: Any) -> tuple[np.ndarray, np.ndarray] | None:
    if not (row.artifacts and row.scored and row.truth):
        return None
    try:
        return artifacts.load(row.artifacts, row.truth), artifacts.load(row.artifacts, row.scored)
    except (OSError, ValueError, KeyError) as error:
        log.warning("%s: its test predictions could not be read: %s", row.study, error)
        return None


def metric_for(metric: str, task: str) -> Metric | None:
    """The registered metric ``metric`` for ``task``; None where its plugin is not installed here."""
    from automl.plugin.manager import load_registry  # only what the view scores with: no learner

    try:
        return load_registry().metric_for(metric, Task(task))
    except (UserError, ValueError):
        return None  # its plugin is not installed here


def attach(board: pd.DataFrame) -> pd.DataFrame:
    """``board`` (ranked, its pick marked) with the interval columns filled where evidence is."""
    board = board.copy()
    for column in COLUMNS[:-1]:
        board[column] = np.nan
    board["indistinct"] = pd.Series([None] * len(board), dtype="object", index=board.index)
    for seed, group in board.groupby("seed"):
        loaded = {i: a for i, row in group.iterrows() if (a := _arrays(row)) is not None}
        if not loaded:
            continue
        picks = [i for i in group.index if group.at[i, "pick"] == "*" and i in loaded]
        reference = loaded[picks[0] if picks else next(iter(loaded))][0]
        same = {i: a[1] for i, a in loaded.items() if np.array_equal(a[0], reference)}
        first = group.loc[next(iter(same))]
        metric = metric_for(first.metric, first.task)
        if metric is None:
            continue
        n_classes = first.get("n_classes")
        extra = {"n_classes": int(n_classes)} if metric.per_class and pd.notna(n_classes) else {}
        samples = intervals.bootstrap(
            reference, same, partial(metric.score, **extra),
            Task(first.task) in CLASSIFICATION, int(seed),
            per_row=metric.per_row, from_mean=metric.from_mean,
        )  # fmt: skip
        for i, values in samples.items():
            board.loc[i, ["test_low", "test_high"]] = intervals.interval(values)
        if picks and picks[0] in samples:
            top = samples[picks[0]]
            for i, values in samples.items():
                low, high = intervals.margin(values, top)
                board.loc[i, ["margin_low", "margin_high"]] = (low, high)
                if i != picks[0]:
                    board.at[i, "indistinct"] = intervals.includes_zero(low, high)
    return board
