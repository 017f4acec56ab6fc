"""What early stopping's tolerance (``automl.plugin.stopping.TOLERANCE``) costs and saves: per
dataset and boosting learner, the rounds kept, the fit's seconds and the test score with each
tolerance, the learner's first portfolio configuration fitted by the plugin's own code.

Each table is cut once (seeded, stratified for classification) into 64% training, 16% validation
(what early stopping watches) and 20% test (what the score is read on, seen by nothing else).
Categorical columns become pandas categories, as the ``native`` preprocessing hands them over.
Every fit uses every core; each is stopped after ``--deadline`` seconds (then marked ``*``).

    python benchmarks/early_stopping.py --tables TABLES   # the tables of benchmarks/tables.json
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import pandas as pd
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.metrics import accuracy_score, mean_squared_error
from sklearn.model_selection import train_test_split

from automl.plugin import stopping
from automl.plugin.manager import load_registry
from automl.plugin.task import Task
from automl.plugin.types import FitContext

LEARNERS = ("lightgbm", "xgboost", "catboost")
TOLERANCES = (0.0, 1e-4, 1e-3)


def bundled() -> dict[str, tuple[pd.DataFrame, pd.Series, bool]]:
    out = {}
    for name, load in (("digits", load_digits), ("breast_cancer", load_breast_cancer),
                       ("wine", load_wine)):  # fmt: skip
        X, y = load(return_X_y=True, as_frame=True)
        out[name] = (X, y, True)
    return out


def tables(folder: Path) -> dict[str, tuple[pd.DataFrame, pd.Series, bool]]:
    """The tables of benchmarks/tables.py's OUT, each with its task from the manifest."""
    manifest = json.loads((folder / "MANIFEST.json").read_text())
    out = {}
    for entry in manifest:
        path = folder / f"{entry['name']}.csv"
        frame = pd.read_csv(path)
        y = frame.pop("target")
        classification = entry["task"] != "regression"
        for column in frame.columns:
            if not pd.api.types.is_numeric_dtype(frame[column]):
                frame[column] = frame[column].astype("category")
        out[path.stem] = (frame, y, classification)
    return out


def run(
    name: str, X: pd.DataFrame, y: pd.Series, classification: bool, deadline: float,
    learners: list[str],
) -> None:  # fmt: skip
    registry = load_registry()
    if classification:  # a class of fewer than 2 rows cannot be stratified: left out
        keep = y.map(y.value_counts()) >= 5
        X, y = X[keep], y[keep]
        y = pd.Series(
            pd.factorize(y, sort=True)[0], index=y.index
        )  # labels 0..k-1, as the harness's
    strata = y if classification else None
    X_dev, X_test, y_dev, y_test = train_test_split(X, y, test_size=0.2, random_state=0,
                                                    stratify=strata)  # fmt: skip
    X_fit, X_valid, y_fit, y_valid = train_test_split(
        X_dev, y_dev, test_size=0.2, random_state=0, stratify=y_dev if classification else None
    )
    n_classes = int(y.nunique()) if classification else None
    task = Task.BINARY if n_classes == 2 else Task.MULTICLASS if classification else Task.REGRESSION
    context = FitContext(task=task, seed=0, threads=0, n_classes=n_classes)
    for learner in learners:
        model = registry.model(learner)
        params = {**model.defaults, **model.portfolio[0]}
        cells = []
        for tolerance in TOLERANCES:
            stopping.TOLERANCE = tolerance
            estimator = model.build(params, context)
            started = time.monotonic()
            found = model.fit_watching(estimator, X_fit, y_fit, X_valid, y_valid,
                                       deadline=started + deadline)  # fmt: skip
            seconds = time.monotonic() - started
            rounds = next(iter(found.values()))
            predicted = estimator.predict(X_test)
            score = (accuracy_score(y_test, predicted) if classification
                     else math.sqrt(mean_squared_error(y_test, predicted)))  # fmt: skip
            late = "*" if seconds >= deadline else ""
            cells.append(f"{rounds}{late} / {seconds:.1f} / {score:.4f}")
        print(f"| {name} | {len(X_fit):,} | {n_classes or 'reg'} | {learner} | " + " | ".join(cells)
              + " |", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", type=Path, default=None, help="benchmarks/tables.py's OUT")
    parser.add_argument("--datasets", nargs="*", default=None)
    parser.add_argument("--learners", nargs="*", default=list(LEARNERS), choices=LEARNERS)
    parser.add_argument("--deadline", type=float, default=60.0, help="seconds per fit at most")
    args = parser.parse_args()
    data = bundled() | (tables(args.tables) if args.tables else {})
    names = args.datasets or list(data)
    heads = " | ".join(f"tolerance {t:g}: rounds / s / test" for t in TOLERANCES)
    print(f"| dataset | training rows | classes | learner | {heads} |")
    print("| --- | ---: | ---: | --- |" + " ---: |" * len(TOLERANCES))
    for name in names:
        X, y, classification = data[name]
        run(name, X, y, classification, args.deadline, args.learners)
    print("\nscore: accuracy (classes) or RMSE (reg); * stopped by the deadline")


if __name__ == "__main__":
    main()
