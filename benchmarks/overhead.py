"""Harness overhead: 200 TPE trials of an RBF SVM on digits, harness vs a hand-written Optuna loop.

Both sides sample C and gamma on log scales with the same TPE seed and score the same validation
split (the harness's own: a stratified 20% test split, then 20% of the rest for validation), so they
run the same trials; the script checks that they found the same best value. The harness uses its
default storage (a journal file), in its own process and with its fits in a worker process (the
command's default, the worker's start included); the hand-written loop keeps its study in memory. Runs alternate so
that machine noise hits both sides alike. Target: harness / hand-written <= 1.15.

    python benchmarks/overhead.py [--trials 200] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import optuna
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from automl import isolation
from automl.data import SplitConfig
from automl.study import Experiment, run

SEED = 0
SPACE = {
    "C": {"low": 1e-3, "high": 1e3, "log": True},
    "gamma": {"low": 1e-5, "high": 10.0, "log": True},
}


def hand_written(n_trials: int) -> tuple[float, float]:
    X, y = load_digits(return_X_y=True)
    X_dev, _, y_dev, _ = train_test_split(X, y, test_size=0.2, random_state=SEED, stratify=y)
    X_tr, X_va, y_tr, y_va = train_test_split(
        X_dev, y_dev, test_size=0.2, random_state=SEED, stratify=y_dev
    )

    def objective(trial: optuna.Trial) -> float:
        C = trial.suggest_float("C", 1e-3, 1e3, log=True)
        gamma = trial.suggest_float("gamma", 1e-5, 10.0, log=True)
        model = make_pipeline(StandardScaler(), SVC(kernel="rbf", C=C, gamma=gamma))
        return model.fit(X_tr, y_tr).score(X_va, y_va)

    start = time.perf_counter()
    study = optuna.create_study(direction="maximize")
    for k in range(n_trials):
        # Trial k draws from TPE seeded with SEED + k, as the harness does (automl.recovery).
        study.sampler = optuna.samplers.TPESampler(seed=SEED + k, n_startup_trials=10)
        trial = study.ask()
        study.tell(trial, objective(trial))
    return time.perf_counter() - start, study.best_value


def harness(n_trials: int, folder: Path, isolation_mode: str) -> tuple[float, float]:
    if isolation._WORKER is not None:  # each run pays for its worker's start, as a command does
        isolation._WORKER.close()
        isolation._WORKER = None
    start = time.perf_counter()
    summary = run(
        Experiment(
            dataset="digits",
            model="svm",
            params={"kernel": "rbf"},
            space=SPACE,
            storage=str(folder / "automl.journal"),  # the default storage: a journal file
            split=SplitConfig(seed=SEED),
            seed=SEED,
            n_trials=n_trials,
            sampler={
                "_target_": "optuna.samplers.TPESampler",
                "seed": SEED,
                "n_startup_trials": 10,
            },
            progress=False,
            isolation=isolation_mode,
        )
    )
    return time.perf_counter() - start, summary.val_score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/out/overhead.json")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    times: dict[str, list[float]] = {
        "hand-written (memory)": [],
        "harness, in-process": [],
        "harness, worker process": [],
    }
    bests = set()
    for repeat in range(args.repeats):
        sides = list(times)
        for side in sides if repeat % 2 == 0 else reversed(sides):
            with tempfile.TemporaryDirectory() as folder:
                if side.startswith("hand"):
                    seconds, best = hand_written(args.trials)
                else:
                    mode = "inprocess" if side.endswith("in-process") else "subprocess"
                    seconds, best = harness(args.trials, Path(folder), mode)
            times[side].append(seconds)
            bests.add(round(best, 10))
            print(f"repeat {repeat + 1}: {side:24s} {seconds:7.2f} s  best {best:.4f}", flush=True)
    medians = {side: statistics.median(t) for side, t in times.items()}
    hand = medians["hand-written (memory)"]
    ratios = {side: median / hand for side, median in medians.items()}
    print(f"\n{'loop':26s} {'median s':>9s} {'per trial ms':>13s} {'/ hand':>7s}")
    for side, median in medians.items():
        print(f"{side:26s} {median:9.2f} {1000 * median / args.trials:13.1f} {ratios[side]:7.3f}")
    print("target: harness / hand <= 1.15")
    ratio = ratios["harness, worker process"]
    print(f"same best value on both sides: {len(bests) == 1}")
    record = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.processor() or platform.machine()}",
        "trials": args.trials,
        "times": times,
        "medians": medians,
        "ratio": ratio,
        "ratios": ratios,
        "same_best": len(bests) == 1,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
