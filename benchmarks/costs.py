"""What each learner's first configuration costs, and how that grows: the numbers behind each
built-in learner's declared ``Model.cost`` (``automl.Cost``), measured, not guessed.

A budget comparison does not start a learner whose first trial is predicted to outlast its share
(``automl.search.costs``): on a 36,000-row table CatBoost, k-NN and SVM were started, ran their
shares out and were stopped, and the worker they took with them had to be started again. The
prediction is ``seconds x (rows / 10,000) ** rows_exp x (columns / 10) ** columns_exp x outputs **
outputs_exp`` per fold (``outputs``: classes for a multiclass task, else 1), scaled to the machine
by the trials the comparison has already run. This script fits those four numbers per learner.

Each shape is a generated table (scikit-learn's ``make_classification`` or ``make_regression``,
two of its columns turned into categories, some values missing), written as a CSV and run through
the harness's own fitting code (its preprocessing, a 20% holdout, the learner's early stopping,
every core as the command's default ``threads=0``): one trial of the learner's first portfolio
configuration, timed fit plus prediction. Least squares
on the logarithms gives the exponents; the table prints them with the fit's worst ratio of
measured to predicted, on this machine.

    python benchmarks/costs.py                   # every learner in the default comparison
    python benchmarks/costs.py --learners svm    # one
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
from sklearn.datasets import make_classification, make_regression

from automl.fitting.fitter import Fitter
from automl.fitting.protocol import FitTrial, Open
from automl.plugin.manager import load_registry
from automl.settings.experiment import Experiment
from automl.settings.split import SplitConfig

# (training rows, columns, outputs): outputs 1 is binary classification; >1 multiclass; 0 regression
SHAPES = [
    (2_000, 10, 1), (8_000, 10, 1), (2_000, 40, 1), (8_000, 40, 1),
    (2_000, 10, 8), (8_000, 10, 8), (2_000, 40, 8),
    (2_000, 10, 0), (8_000, 10, 0), (2_000, 40, 0),
]  # fmt: skip


def table(rows: int, columns: int, outputs: int, folder: Path) -> dict[str, Any]:
    """A generated table whose 20% test split, then 20% holdout, leave ``rows`` training rows."""
    n = int(rows / 0.64)
    rng = np.random.default_rng(0)
    if outputs == 0:
        X, y = make_regression(n, columns, n_informative=max(2, columns // 2), noise=10.0,
                               random_state=0)  # fmt: skip
    else:
        classes = max(outputs, 2)
        X, y = make_classification(
            n, columns, n_informative=max(3, columns // 2), n_classes=classes,
            n_clusters_per_class=1, flip_y=0.05, random_state=0,
        )  # fmt: skip
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(columns)])
    for col in ("x0", "x1"):  # two categorical columns of a few levels
        frame[col] = pd.cut(frame[col], 6, labels=[f"c{i}" for i in range(6)]).astype(str)
    frame = frame.mask(rng.random(frame.shape) < 0.02)  # some values missing
    frame["target"] = y
    path = folder / f"t-{rows}-{columns}-{outputs}.csv"
    frame.to_csv(path, index=False)
    task = "regression" if outputs == 0 else "binary" if outputs == 1 else "multiclass"
    return {"path": str(path), "target": "target", "task": task}


def seconds(fitter: Fitter, learner: str, options: dict[str, Any], folder: Path) -> float:
    """One trial of ``learner``'s first portfolio configuration on the table: fit and prediction."""
    exp = Experiment(
        dataset="file", model=learner, storage=str(folder / "s.journal"), progress=False,
        threads=0, dataset_options=options, split=SplitConfig(validation="holdout"),
    )  # fmt: skip
    desc = fitter.handle(Open(exp))
    first = dict(desc.portfolio[0]) if desc.portfolio else {}
    study = optuna.create_study()  # the first configuration asked as a budget asks it
    study.enqueue_trial({k: v for k, v in first.items() if k in desc.space.searched})
    params = desc.space.suggest(study.ask())
    started = time.perf_counter()
    fitter.handle(FitTrial(0, params))
    return time.perf_counter() - started


def fit(points: list[tuple[int, int, int, float]]) -> tuple[float, float, float, float, float]:
    """Least squares on the logarithms: seconds at the reference shape, the exponents, and the
    worst ratio of measured to predicted (or its inverse)."""
    A = np.array([[1.0, math.log(r / 1e4), math.log(c / 10), math.log(max(o, 1))]
                  for r, c, o, _ in points])  # fmt: skip
    b = np.log([max(t, 1e-3) for *_, t in points])
    coef, *_ = np.linalg.lstsq(A, b, rcond=None)
    worst = float(np.exp(np.abs(A @ coef - b)).max())
    return float(np.exp(coef[0])), float(coef[1]), float(coef[2]), float(coef[3]), worst


def main() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", nargs="+", default=None)
    args = parser.parse_args()
    registry = load_registry()
    learners = args.learners or [
        m.name for m in registry.models() if m.in_default_comparison and not m.baseline
    ]
    fitter = Fitter(registry)
    print(f"| learner | {' | '.join(f'{r}x{c}x{o}' for r, c, o in SHAPES)} | seconds | rows | "
          "columns | outputs | worst x |")  # fmt: skip
    print("| --- |" + " ---: |" * (len(SHAPES) + 5))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        tables = {shape: table(*shape, folder) for shape in SHAPES}
        for learner in learners:
            points = []
            for (rows, columns, outputs), options in tables.items():
                points.append((rows, columns, outputs, seconds(fitter, learner, options, folder)))
            s, r, c, o, worst = fit(points)
            cells = " | ".join(f"{t:.2f}" for *_, t in points)
            print(f"| {learner} | {cells} | {s:.3g} | {r:.2f} | {c:.2f} | {o:.2f} | {worst:.1f} |",
                  flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
