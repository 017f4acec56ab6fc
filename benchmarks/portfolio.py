"""How each classical learner's portfolio (``Model.portfolio``) was chosen: measured, not guessed.

For every built-in classical learner, the configurations tried are its library defaults (as close as
its search space can express them) and ``--candidates`` random draws from its space (seeded). Each is
scored with 3-fold cross-validation of the development rows, through the harness's own fitting code
(its preprocessing, its folds), on public datasets that work offline. Scores are normalised per
dataset (best candidate 1, worst 0: AutoGluon's and TabRepo's "normalised score"), and a portfolio is
grown greedily (Auto-sklearn 2.0, TabRepo): the defaults first, then each time the candidate that most
raises the mean over datasets of the best normalised score within the portfolio. The table printed
gives, per learner, each pick and that mean after it, with leave-one-dataset-out figures (the pick
made without a dataset, scored on it) so that the gain is not the datasets' own noise.

    AUTOML_DATA=../shared/data python benchmarks/portfolio.py --candidates 16 --size 3
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from typing import Any

import numpy as np
import optuna

from automl.fitting.fitter import Fitter
from automl.fitting.protocol import FitTrial, Open
from automl.plugin.manager import load_registry
from automl.settings.experiment import Experiment
from automl.settings.split import SplitConfig

DATA = os.environ.get("AUTOML_DATA", "../shared/data")
DATASETS: dict[str, tuple[str, dict[str, Any]]] = {
    "iris": ("iris", {}),
    "wine": ("wine", {}),
    "breast_cancer": ("breast_cancer", {}),
    "digits": ("digits", {}),
    "diabetes": ("diabetes", {}),
    "kc2": ("file", {"path": f"{DATA}/amlb/kc2_train.csv", "target": "problems"}),
    "cholesterol": (
        "file",
        {"path": f"{DATA}/amlb/cholesterol_train.csv", "target": "chol", "task": "regression"},
    ),
    "GunPoint": ("ucr", {"problem": "GunPoint", "root": f"{DATA}/ucr"}),
    "ItalyPowerDemand": ("ucr", {"problem": "ItalyPowerDemand", "root": f"{DATA}/ucr"}),
}
LEARNERS = ("linear", "knn", "svm", "decision_tree", "random_forest", "extra_trees", "lightgbm")


def candidates(registry: Any, learner: str, n: int) -> list[dict[str, Any]]:
    """The learner's declared defaults, then ``n`` seeded random draws from its space (the same
    draws for every dataset: a draw is a configuration, kept whole)."""
    model = registry.model(learner)
    from automl.plugin.space import resolve

    space = resolve(model.space, model.initial_params(), {}, task="binary")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    draws = []
    for _ in range(n):
        trial = study.ask()
        draws.append({k: v for k, v in space.suggest(trial).items() if k not in space.fixed})
        study.tell(trial, 0.0)
    return [dict(model.portfolio[0]) if model.portfolio else draws.pop(0), *draws]


def score(fitter: Fitter, number: int, params: dict[str, Any], task: str) -> float:
    params = {k: v for k, v in params.items() if not (k == "criterion" and task == "regression")}
    try:
        return fitter.handle(FitTrial(number, params)).score
    except Exception:
        return math.nan


def greedy(table: np.ndarray, size: int) -> list[int]:
    """Candidates (columns) chosen one by one, the defaults (column 0) first, each raising the
    mean over datasets (rows) of the best normalised score within the portfolio most."""
    chosen = [0]
    while len(chosen) < min(size, table.shape[1]):
        gains = [
            -1.0 if c in chosen else float(np.nanmean(np.nanmax(table[:, [*chosen, c]], axis=1)))
            for c in range(table.shape[1])
        ]
        chosen.append(int(np.argmax(gains)))
    return chosen


def normalised(raw: np.ndarray, maximize: np.ndarray) -> np.ndarray:
    signed = np.where(maximize[:, None], raw, -raw)
    low, high = np.nanmin(signed, axis=1, keepdims=True), np.nanmax(signed, axis=1, keepdims=True)
    return np.nan_to_num((signed - low) / np.where(high > low, high - low, 1.0), nan=0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=16)
    parser.add_argument("--size", type=int, default=3)
    parser.add_argument("--learners", nargs="*", default=list(LEARNERS))
    parser.add_argument("--out", default=None, help="write the chosen portfolios as JSON here")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    registry = load_registry()
    chosen_all: dict[str, list[dict[str, Any]]] = {}
    print("| learner | pick | config | mean normalised best (all datasets) | "
          "leave-one-dataset-out mean |")  # fmt: skip
    print("| --- | --- | --- | --- | --- |")
    for learner in args.learners:
        configs = candidates(registry, learner, args.candidates)
        raw, maximize, started = [], [], time.perf_counter()
        for name, (dataset, options) in DATASETS.items():
            exp = Experiment(
                dataset=dataset, model=learner, storage="unused", dataset_options=options,
                split=SplitConfig(validation="cv", folds=3), threads=1,
            )  # fmt: skip
            fitter = Fitter(registry)
            try:
                desc = fitter.handle(Open(exp))
            except Exception as error:  # the learner does not apply (a task, a size)
                print(f"<!-- {learner} on {name}: {error} -->")
                continue
            raw.append([score(fitter, i, c, desc.task) for i, c in enumerate(configs)])
            maximize.append(desc.direction == "maximize")
        table = normalised(np.array(raw), np.array(maximize))
        picks = greedy(table, args.size)
        loo = []  # each dataset left out of the choice, then scored
        for d in range(table.shape[0]):
            rest = np.delete(table, d, axis=0)
            loo.append(table[d, greedy(rest, args.size)].max())
        for k in range(1, len(picks) + 1):
            best = float(np.mean(table[:, picks[:k]].max(axis=1)))
            held = [table[d, greedy(np.delete(table, d, axis=0), k)].max()
                    for d in range(table.shape[0])]  # fmt: skip
            config = json.dumps(configs[picks[k - 1]], sort_keys=True, default=float)
            print(f"| {learner} | {k} | `{config}` | {best:.3f} | {np.mean(held):.3f} |")
        chosen_all[learner] = [configs[p] for p in picks]
        print(f"<!-- {learner}: {time.perf_counter() - started:.0f} s, {table.shape[0]} datasets -->",
              flush=True)  # fmt: skip
    if args.out:
        with open(args.out, "w") as out:
            json.dump(chosen_all, out, indent=1, default=float)


if __name__ == "__main__":
    main()
