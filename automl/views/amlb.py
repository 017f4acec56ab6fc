"""The AutoML Benchmark's result format: a leaderboard's rows as the ``results.csv`` that AMLB writes
(``amlb/results.py``, ``Scoreboard``), so that our rows can stand beside published AMLB results in
AMLB's own reporting tools.

One row per learner (framework ``automl.<learner>``) and one for the harness's pick (framework
``automl``: the system's answer, as AMLB scores a framework). AMLB's ``result`` is higher-is-better:
a loss is negated and its metric named ``neg_<metric>`` (``neg_rmse``, ``neg_logloss``), and the
metric's own value is kept in a column of its AMLB name (``acc``, ``rmse``). ``fold`` is the OpenML
task's fold where the dataset is one (``dataset.fold``), else the seed, which cuts each seed's own
test split; ``constraint`` is the budget (``60s``) or the trial count (``20trials``). A learner
without a test score keeps its row, ``result`` empty and its error in ``info``, as AMLB keeps a
framework that failed.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from automl._version import __version__

COLUMNS = [
    "id", "task", "framework", "constraint", "fold", "type", "result", "metric", "mode", "version",
    "params", "app_version", "utc", "duration", "training_duration", "predict_duration",
    "models_count", "seed", "info",
]  # fmt: skip
# Our metric names as AMLB names them (amlb/results.py: ClassificationResult, RegressionResult).
NAMES = {
    "accuracy": "acc", "balanced_accuracy": "balacc", "roc_auc": "auc", "log_loss": "logloss",
    "f1": "f1", "mse": "mse", "rmse": "rmse", "mae": "mae", "r2": "r2",
}  # fmt: skip
FILE = "results.csv"


def _config(row: Any) -> dict[str, Any]:
    try:
        return json.loads(row.config or "{}")
    except (TypeError, ValueError):
        return {}


def _id(dataset: str, config: dict[str, Any]) -> str:
    """AMLB's task id: OpenML's task (or dataset) where the data came from OpenML, else the name."""
    options = config.get("dataset") or {}
    if options.get("task_id"):
        return f"openml.org/t/{options['task_id']}"
    if options.get("dataset_id"):
        return f"openml.org/d/{options['dataset_id']}"
    return dataset


def _constraint(config: dict[str, Any]) -> str:
    if config.get("budget") is not None:
        return f"{float(config['budget']):g}s"
    trials = (config.get("search") or {}).get("n_trials")
    return f"{trials}trials" if trials is not None else ""


def _fold(config: dict[str, Any], seed: int) -> int:
    """The OpenML task's fold where the data are an OpenML task's, else the seed."""
    options = config.get("dataset") or {}
    return int(options.get("fold") or 0) if options.get("task_id") else seed


def _number(value: Any) -> float:
    return math.nan if value is None or pd.isna(value) else float(value)


def results(board: pd.DataFrame) -> pd.DataFrame:
    """A ranked leaderboard (:func:`automl.views.leaderboard.rank`) as AMLB's results rows."""
    records = []
    for row in board.itertuples():
        config = _config(row)
        name = NAMES.get(str(row.metric), str(row.metric))
        if name == "auc" and row.task == "multiclass":
            name = "auc_ovr"  # ours is one-vs-rest there; AMLB's "auc" is binary only
        loss = row.direction == "minimize"
        search, fit, predict = (
            _number(v) for v in (row.search_time, row.fit_time, row.predict_time)
        )
        training = (0.0 if math.isnan(search) else search) + (0.0 if math.isnan(fit) else fit)
        record = {
            "id": _id(str(row.dataset), config),
            "task": row.dataset,
            "framework": f"automl.{row.model}",
            "constraint": _constraint(config),
            "fold": _fold(config, int(row.seed)),
            "type": row.task or "",
            "result": -row.test_score if loss else row.test_score,  # NaN stays NaN
            "metric": f"neg_{name}" if loss else name,
            "mode": "local",
            "version": __version__,
            "params": row.best_params,
            "app_version": f"automl-harness {__version__}",
            "utc": "" if pd.isna(row.updated) else pd.Timestamp(row.updated).isoformat(),
            "duration": training + (0.0 if math.isnan(predict) else predict),
            "training_duration": training,
            "predict_duration": predict,
            "models_count": row.trials,
            "seed": row.seed,
            "info": row.error or "",
            name: row.test_score,
        }
        records.append(record)
        if row.pick == "*":
            records.append({**record, "framework": "automl", "info": f"pick: {row.model}"})
    frame = pd.DataFrame.from_records(records)
    if frame.empty:
        return pd.DataFrame(columns=COLUMNS)
    extra = sorted(c for c in frame.columns if c not in COLUMNS)
    return frame[COLUMNS + extra]


def write(boards: dict[tuple[str, str], pd.DataFrame], folder: str | Path) -> Path:
    """Every leaderboard's rows in one AMLB ``results.csv`` in ``folder``; its path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    frames = [results(board) for board in boards.values()]
    frame = pd.concat([f for f in frames if not f.empty] or [pd.DataFrame(columns=COLUMNS)])
    path = folder / FILE
    frame.to_csv(path, index=False)
    return path
