"""Workers on one study: completed trials per minute with 1 and 2 workers, on the journal file and
on PostgreSQL, and what each storage costs per trial.

Each worker is a process running one study as ``automl`` would (``automl.search.study.run``), all pointed
at one storage URL and one study; every configuration gets a fresh study. Throughput is counted from
the storage's own timestamps, first trial start to last trial end, so the workers' start-up (imports,
data) is left out. The storage's cost per trial is measured apart, with a bare Optuna loop whose
objective does nothing: what remains is asking, telling and reading the study.

    python benchmarks/workers.py [--trials 120] [--model svm] [--dataset digits]
        [--postgres postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import optuna
from optuna.trial import TrialState

from automl.storage.urls import open_storage

WORKER = """
import sys
import optuna
from automl.search.study import run
from automl.settings.experiment import Experiment
optuna.logging.set_verbosity(optuna.logging.WARNING)
run(Experiment(dataset=sys.argv[1], model=sys.argv[2], storage=sys.argv[3], seed=int(sys.argv[4]),
               n_trials=int(sys.argv[5]), threads=1, progress=False,
               sampler={"_target_": "optuna.samplers.RandomSampler", "seed": 0}))
"""


def workers(url: str, n: int, args: argparse.Namespace) -> dict[str, float]:
    """Run ``n`` workers on one fresh study; trials per minute from the storage's timestamps."""
    seed = uuid.uuid4().int % 10**6
    command = [sys.executable, "-c", WORKER, args.dataset, args.model, url, str(seed)]
    start = time.perf_counter()
    procs = [subprocess.Popen([*command, str(args.trials)]) for _ in range(n)]
    if any(p.wait() != 0 for p in procs):
        raise SystemExit(f"a worker failed on {url}")
    wall = time.perf_counter() - start
    storage = open_storage(url)
    (name,) = [s.study_name for s in storage.get_all_studies() if f"/seed={seed}/" in s.study_name]
    trials = optuna.load_study(study_name=name, storage=storage).get_trials()
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    span = (
        max(t.datetime_complete for t in complete) - min(t.datetime_start for t in complete)
    ).total_seconds()
    return {
        "complete": len(complete),
        "surplus": sum(bool(t.user_attrs.get("surplus")) for t in trials),
        "per_minute": 60 * len(complete) / span,
        "wall": wall,
    }


def bare_cost(url: str, trials: int) -> float:
    """Milliseconds per trial of a bare Optuna loop on ``url``: the storage's own cost."""
    study = optuna.create_study(
        storage=open_storage(url), study_name=f"bare-{uuid.uuid4()}",
        sampler=optuna.samplers.RandomSampler(seed=0),
    )  # fmt: skip
    start = time.perf_counter()
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=trials)
    cost = 1000 * (time.perf_counter() - start) / trials
    optuna.delete_study(study_name=study.study_name, storage=open_storage(url))
    return cost


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=120)
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--model", default="svm")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("AUTOML_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument("--out", default="benchmarks/out/workers.json")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    folder = Path(tempfile.mkdtemp())
    storages = {"journal file": str(folder / "bench.journal"), "PostgreSQL": args.postgres}
    rows = []
    for n in (1, 2):  # one worker count at a time over both storages, so noise hits both alike
        for label, url in storages.items():
            result = workers(url, n, args)
            rows.append({"storage": label, "workers": n, **result})
            print(f"{label:13s} {n} worker(s): {result['per_minute']:7.1f} trials/min", flush=True)
    costs = {label: bare_cost(url, 200) for label, url in storages.items()}

    print(f"\n{args.trials} {args.model} trials on {args.dataset}, random sampler, 1 thread each")
    print(f"{'storage':13s} {'workers':>7s} {'trials/min':>10s} {'speed-up':>8s} {'complete':>8s}")
    for row in rows:
        one = next(r for r in rows if r["storage"] == row["storage"] and r["workers"] == 1)
        row["speedup"] = row["per_minute"] / one["per_minute"]
        print(f"{row['storage']:13s} {row['workers']:7d} {row['per_minute']:10.1f} "
              f"{row['speedup']:8.2f} {row['complete']:8d}")  # fmt: skip
    print("\nstorage cost per trial (bare Optuna loop, 200 trials):")
    for label, cost in costs.items():
        print(f"  {label:13s} {cost:6.1f} ms")
    record = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "args": {k: v for k, v in vars(args).items() if k != "postgres"},
        "rows": rows,
        "storage_ms_per_trial": costs,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
