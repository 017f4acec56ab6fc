"""KDD Cup 99 at scale: load time, peak memory and time per trial, LightGBM and random forest.

The dataset (494,021 training rows, 41 features, 23 classes; a labelled test set) is loaded once
per process and shared by both studies and all their trials; the script checks that it is loaded
once. Needs the files: AUTOML_DATA=../shared/data, or the internet.

    AUTOML_DATA=../shared/data python benchmarks/kdd.py [--trials 2] [--estimators 100]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import automl_datasets.uci as uci
import optuna

from automl.plugin.manager import load_registry
from automl.search.study import run
from automl.settings.experiment import Experiment
from automl.storage.urls import open_storage


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=2)
    parser.add_argument("--estimators", type=int, default=100)
    parser.add_argument("--out", default="benchmarks/out/kdd.json")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    loads = []
    original = uci.load_kddcup99

    def counted(**options):  # counts real loads through the registered dataset
        start = time.perf_counter()
        data = original(**options)
        loads.append(time.perf_counter() - start)
        return data

    spec = load_registry().dataset("kddcup99")
    object.__setattr__(spec, "load", counted)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        storage = str(Path(folder) / "kdd.journal")
        for model in ("lightgbm", "random_forest"):
            start = time.perf_counter()
            summary = run(
                Experiment(
                    dataset="kddcup99",
                    model=model,
                    storage=storage,
                    n_trials=args.trials,
                    params={"n_estimators": args.estimators},
                    progress=False,
                    sampler={"_target_": "optuna.samplers.TPESampler", "seed": 0},
                )  # fmt: skip
            )
            total = time.perf_counter() - start
            study = optuna.load_study(study_name=summary.study, storage=open_storage(storage))
            trials = [
                (t.datetime_complete - t.datetime_start).total_seconds() for t in study.trials
            ]
            result = study.user_attrs["result"]
            rows.append({"model": model, "trial_s": trials, "refit_s": result.get("fit_time"),
                         "predict_s": result.get("predict_time"), "test_accuracy": summary.test_score,
                         "study_s": total, "peak_mib": peak_mib()})  # fmt: skip
            print(f"{model:14s} trials {', '.join(f'{t:.1f}' for t in trials)} s   refit "
                  f"{result.get('fit_time', float('nan')):.1f} s   test accuracy "
                  f"{summary.test_score:.4f}   peak {peak_mib():.0f} MiB", flush=True)  # fmt: skip
    print(f"loads of kddcup99: {len(loads)} ({loads[0]:.1f} s), shared by both studies")
    record = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.processor() or platform.machine()}",
        "load_s": loads,
        "rows": rows,
        "n_estimators": args.estimators,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
