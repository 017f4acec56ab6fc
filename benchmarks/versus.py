"""The harness's budget mode against FLAML, side by side in one run, on the same train and test files.

Every dataset works offline: scikit-learn's bundled ones, the shared data (``AUTOML_DATA``: UCI
Adult, the AutoML Benchmark's kc2 and cholesterol, UCR series as tables) and the OpenML fixture
(anneal). Each is written once as ``train.csv`` and ``test.csv`` (its own test split where it has
one, else a seeded stratified 80/20 cut); both sides read exactly those files, and both are run as
a user would: the harness as ``automl dataset=csv ... budget=B seed=S`` (its whole command timed),
FLAML as ``AutoML().fit(X, y, time_budget=B, seed=S)`` in its own process (load, fit, predict
timed). Accuracy for classification, RMSE for regression; test scores only at the end, never seen by
either side's selection.

The table gives, per dataset and budget, each side's mean test score over the seeds with its
spread (min-max), the harness's wall time as a multiple of the budget (its worst seed), and the
ensemble against the harness's best single learner (its pick among learners, by validation). The
summary counts wins, ties (within 0.1% relative) and losses of the harness's pick against FLAML.

    pip install -e ".[bench]"
    AUTOML_DATA=../shared/data python benchmarks/versus.py --budgets 60 300 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

DATA = os.environ.get("AUTOML_DATA", "../shared/data")
# name: (registered dataset, its options, task)
DATASETS: dict[str, tuple[str, dict[str, Any], str]] = {
    "iris": ("iris", {}, "classification"),
    "wine": ("wine", {}, "classification"),
    "breast_cancer": ("breast_cancer", {}, "classification"),
    "digits": ("digits", {}, "classification"),
    "diabetes": ("diabetes", {}, "regression"),
    "kc2": (
        "file",
        {
            "path": f"{DATA}/amlb/kc2_train.csv",
            "test_path": f"{DATA}/amlb/kc2_test.csv",
            "target": "problems",
        },
        "classification",
    ),  # fmt: skip
    "cholesterol": (
        "file",
        {
            "path": f"{DATA}/amlb/cholesterol_train.csv",
            "test_path": f"{DATA}/amlb/cholesterol_test.csv",
            "target": "chol",
            "task": "regression",
        },
        "regression",
    ),  # fmt: skip
    "anneal": (
        "openml",
        {
            "dataset_id": 2,
            "cache": f"{DATA}/openml",
            "server": "https://test.openml.org/api/v1/xml",
        },
        "classification",
    ),
    "adult": ("adult", {"root": f"{DATA}/adult"}, "classification"),
    "ItalyPowerDemand": (
        "ucr",
        {"problem": "ItalyPowerDemand", "root": f"{DATA}/ucr"},
        "classification",
    ),
    "GunPoint": ("ucr", {"problem": "GunPoint", "root": f"{DATA}/ucr"}, "classification"),
}

FLAML = """
import json, sys, time
import numpy as np, pandas as pd
from flaml import AutoML
train, test, task, budget, seed = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
pd.set_option("future.infer_string", False)  # FLAML predates pandas 3's string dtype
train, test = pd.read_csv(train), pd.read_csv(test)
X, y = train.drop(columns="target"), train["target"]
automl = AutoML()
metric = "accuracy" if task == "classification" else "rmse"
automl.fit(X, y, task=task, time_budget=budget, metric=metric, seed=seed, verbose=0)
pred = automl.predict(test.drop(columns="target"))
truth = test["target"].to_numpy()
if task == "classification":
    score = float(np.mean(np.asarray(pred).astype(str) == truth.astype(str)))
else:
    score = float(np.sqrt(np.mean((np.asarray(pred, dtype=float) - truth) ** 2)))
print(json.dumps({"score": score, "best": automl.best_estimator}))
"""


def _frame(X: Any) -> pd.DataFrame:
    array = X if isinstance(X, pd.DataFrame) else np.asarray(X)
    if isinstance(array, np.ndarray) and array.ndim > 2:  # series or images: one column per value
        array = np.nan_to_num(array.reshape(len(array), -1), nan=0.0)
    frame = pd.DataFrame(array).reset_index(drop=True)
    frame.columns = [f"f{c}" if not isinstance(c, str) else c for c in frame.columns]
    return frame


def write_files(name: str, folder: Path) -> tuple[Path, Path]:
    """The dataset's train and test files (made once)."""
    train, test = folder / name / "train.csv", folder / name / "test.csv"
    if train.is_file() and test.is_file():
        return train, test
    from sklearn.model_selection import train_test_split

    from automl.plugin.manager import load_registry

    dataset, options, task = DATASETS[name]
    data = load_registry().dataset(dataset).load(**options)
    X, y = _frame(data.X), np.asarray(data.y)
    if data.X_test is None:
        rows = np.arange(len(y))
        fit, held = train_test_split(
            rows, test_size=0.2, random_state=0, stratify=y if task == "classification" else None
        )
        X, X_test, y, y_test = X.iloc[fit], X.iloc[held], y[fit], y[held]
    else:
        X_test, y_test = _frame(data.X_test), np.asarray(data.y_test)
    train.parent.mkdir(parents=True, exist_ok=True)
    X.assign(target=y).to_csv(train, index=False)
    X_test.assign(target=y_test).to_csv(test, index=False)
    return train, test


def harness(name: str, train: Path, test: Path, budget: float, seed: int, work: Path) -> dict:
    task = DATASETS[name][2]
    out = work / "runs" / f"{name}-{budget:g}-{seed}"
    command = [
        sys.executable, "-m", "automl.commands.cli", "dataset=csv", f"dataset.path={train}",
        f"dataset.test_path={test}", "dataset.target=target", f"budget={budget:g}", f"seed={seed}",
        f"output_dir={out / 'results'}", f"leaderboard.dir={out / 'lb'}", "progress=false",
        *(["dataset.task=regression"] if task == "regression" else []),
    ]  # fmt: skip
    shutil.rmtree(out, ignore_errors=True)  # every run from scratch: no resume
    out.mkdir(parents=True)
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, cwd=out)
    wall = time.monotonic() - started
    boards = list((out / "lb").glob("train-*.csv"))
    if done.returncode != 0 or not boards:
        return {"error": done.stderr.strip().splitlines()[-1:] or ["no leaderboard"], "wall": wall}
    board = pd.read_csv(boards[0])
    pick = board[board["pick"] == "*"].iloc[0]
    learners = board[board["kind"] != "ensemble"].dropna(subset=["val_score"])
    maximize = task == "classification"  # accuracy; rmse for regression
    single = learners.loc[
        learners["val_score"].idxmax() if maximize else learners["val_score"].idxmin()
    ]
    ensemble = board[board["kind"] == "ensemble"]
    return {
        "score": float(pick["test_score"]),
        "pick": str(pick["model"]),
        "single": float(single["test_score"]),
        "ensemble": float(ensemble["test_score"].iloc[0]) if len(ensemble) else None,
        "wall": wall,
    }


def flaml(name: str, train: Path, test: Path, budget: float, seed: int) -> dict:
    task = DATASETS[name][2]
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", FLAML, str(train), str(test), task, f"{budget:g}", str(seed)],
        capture_output=True, text=True,
    )  # fmt: skip
    wall = time.monotonic() - started
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1:], "wall": wall}
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "wall": wall}


def _spread(values: list[float]) -> str:
    if not values:
        return "failed"
    mean = statistics.fmean(values)
    return f"{mean:.4f} ({min(values):.4f}-{max(values):.4f})"


def table(runs: list[dict], budgets: list[float], datasets: list[str]) -> None:
    """Print the table and the summary from the runs (one dict per dataset, budget and seed)."""
    print("| dataset | budget s | metric | harness pick | FLAML | result | harness wall / budget | "
          "FLAML wall / budget | ensemble - best single |")  # fmt: skip
    print("| --- | ---: | --- | --- | --- | --- | ---: | ---: | ---: |")
    for budget in budgets:
        counts = {"win": 0, "tie": 0, "loss": 0}
        gains, walls = [], []
        for name in datasets:
            mine = [r for r in runs if r["dataset"] == name and r["budget"] == budget]
            if not mine:
                continue
            ours, theirs = [r["harness"] for r in mine], [r["flaml"] for r in mine]
            regression = DATASETS[name][2] == "regression"
            a = [r["score"] for r in ours if "score" in r]
            b = [r["score"] for r in theirs if "score" in r]
            sign = -1.0 if regression else 1.0
            if a and b:
                delta = sign * (statistics.fmean(a) - statistics.fmean(b))
                scale = max(abs(statistics.fmean(b)), 1e-12)
                result = "tie" if abs(delta) <= 0.001 * scale else ("win" if delta > 0 else "loss")
            else:
                result = "loss" if b else "win" if a else "tie"
            counts[result] += 1
            blend = [
                sign * (r["ensemble"] - r["single"]) for r in ours if r.get("ensemble") is not None
            ]
            gain = statistics.fmean(blend) if blend else float("nan")
            gains.append(gain)
            wall_a, wall_b = (
                max(r["wall"] for r in ours) / budget,
                max(r["wall"] for r in theirs) / budget,
            )
            walls.append(wall_a)
            metric = "rmse" if regression else "accuracy"
            print(f"| {name} | {budget:g} | {metric} | {_spread(a)} | {_spread(b)} | {result} | "
                  f"{wall_a:.2f} | {wall_b:.2f} | {gain:+.4f} |")  # fmt: skip
        n = sum(counts.values())
        if not n:
            continue
        median = statistics.median([g for g in gains if g == g] or [float("nan")])
        seeds = sorted({r["seed"] for r in runs if r["budget"] == budget})
        print(f"\nbudget {budget:g} s, seeds {seeds}: the harness's pick equals or beats FLAML on "
              f"{counts['win'] + counts['tie']} of {n} datasets ({counts['win']} wins, "
              f"{counts['tie']} ties, {counts['loss']} losses); worst harness wall time "
              f"{max(walls):.2f}x the budget; ensemble minus best single learner, median over "
              f"datasets: {median:+.4f}\n")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", type=float, nargs="+", default=[60.0, 300.0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--work", type=Path, default=Path("/tmp/automl-versus"))
    parser.add_argument("--raw", type=Path, default=None, help="append every run as JSON lines")
    parser.add_argument("--table", action="store_true", help="only print the table of --raw")
    args = parser.parse_args()
    runs: list[dict] = []
    if args.table:
        runs = [json.loads(line) for line in args.raw.read_text().splitlines() if line.strip()]
        table(runs, args.budgets, args.datasets)
        return
    files = {name: write_files(name, args.work / "data") for name in args.datasets}
    # Seeds outermost, so that a run cut short still covers every dataset; the two sides alternate,
    # so that a drift of the machine hits both.
    for budget in args.budgets:
        for seed in args.seeds:
            for name in args.datasets:
                run = {"dataset": name, "budget": budget, "seed": seed,
                       "harness": harness(name, *files[name], budget, seed, args.work),
                       "flaml": flaml(name, *files[name], budget, seed)}  # fmt: skip
                runs.append(run)
                print(json.dumps(run), file=sys.stderr, flush=True)
                if args.raw:
                    with args.raw.open("a") as raw:
                        raw.write(json.dumps(run) + "\n")
    table(runs, args.budgets, args.datasets)


if __name__ == "__main__":
    main()
