"""Harness overhead: 200 TPE trials of an RBF SVM on digits, harness vs a hand-written Optuna loop.

Both sides sample C and gamma on log scales with the same TPE seed and score the same validation
split (the harness's own: a stratified 20% test split, then 20% of the rest for validation), so they
run the same trials; the script checks that they found the same best value. The harness uses its
default storage (a journal file), in its own process and with its fits in a worker process (the
command's default, the worker's start included); the hand-written loop keeps its study in memory. Runs alternate so
that machine noise hits both sides alike. Target: harness / hand-written <= 1.15.

    python benchmarks/overhead.py [--trials 200] [--repeats 3]
    python benchmarks/overhead.py --sizes 100,1000,10000 [--storages journal,postgresql://...]

``--sizes`` measures instead what one trial costs as the study grows, on each storage, the
harness beside bare Optuna (see ``by_size``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import optuna
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from automl import isolation
from automl.records import FIT_TIME, PREDICT_TIME
from automl.split import SplitConfig
from automl.storage import open_storage, redact
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


def _prefill(study: optuna.Study, template: optuna.trial.FrozenTrial, n: int) -> None:
    """Grow ``study`` to ``n`` finished trials, copies of ``template`` (as fast as the storage
    takes them: the study's size is what is measured, not how it got there)."""
    missing = n - len(study.get_trials(deepcopy=False))
    if missing > 0:
        study.add_trials([template] * missing)


def _gaps(study: optuna.Study, first: int) -> float:
    """The median seconds between the starts of trials ``first``, ``first`` + 1, ...: what one
    trial costs once the study holds ``first`` trials (start-up and the refit left out)."""
    starts = sorted(t.datetime_start for t in study.get_trials(deepcopy=False)
                    if t.number >= first and t.datetime_start is not None)  # fmt: skip
    return statistics.median((b - a).total_seconds() for a, b in itertools.pairwise(starts))


def by_size(url: str, sizes: list[int], measured: int) -> list[dict]:
    """Per-trial cost against study size on one storage: the harness (in-process, a dummy learner
    on iris, random sampling, so that neither the learner nor a sampler that reads every trial
    grows with the study) beside a bare Optuna loop that samples the same space and fits nothing,
    each on a study grown to each size first. The harness's overhead is its per-trial time less its fits'."""
    rows = []
    for size in sizes:
        tag = f"{size}-{time.time_ns()}"  # fresh studies: a seed of the clock, a bare name of it
        exp = Experiment(
            dataset="iris", model="decision_tree", storage=url, seed=time.time_ns() % 2**31, n_trials=1,
            progress=False,
            sampler={"_target_": "optuna.samplers.RandomSampler", "seed": 0},
            isolation="inprocess", dataset_options={}, params={}, metric="auto",
        )  # fmt: skip
        first = run(exp)
        storage = open_storage(url)
        study = optuna.load_study(study_name=first.study, storage=storage)
        _prefill(study, study.trials[0], size)
        run(replace(exp, n_trials=size + measured))
        study = optuna.load_study(study_name=first.study, storage=storage)
        harness = _gaps(study, size)
        fits = statistics.median(
            t.user_attrs.get(FIT_TIME, 0.0) + t.user_attrs.get(PREDICT_TIME, 0.0)
            for t in study.get_trials(deepcopy=False) if t.number >= size
        )  # fmt: skip
        bare = optuna.create_study(study_name=f"bare-{tag}", storage=storage,
                                   sampler=optuna.samplers.RandomSampler(seed=0))  # fmt: skip
        space = study.trials[0].distributions  # the same search, with nothing fitted

        def nothing(trial: optuna.Trial, space: dict = space) -> float:
            for name, distribution in space.items():
                trial._suggest(name, distribution)  # what suggest_int/float/categorical call
            return 0.5

        bare.optimize(nothing, n_trials=1)
        _prefill(bare, bare.trials[0], size)
        bare.optimize(nothing, n_trials=measured)
        rows.append({"size": size, "harness_s": harness, "fit_s": fits,
                     "overhead_s": harness - fits, "bare_s": _gaps(bare, size)})  # fmt: skip
        row = rows[-1]
        print(f"{redact(url)[:40]:40s} {size:6d} trials: harness {1000 * harness:7.1f} ms/trial "
              f"(fits {1000 * fits:5.1f}, overhead {1000 * row['overhead_s']:7.1f})   "
              f"bare Optuna {1000 * row['bare_s']:7.1f} ms/trial", flush=True)  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/out/overhead.json")
    parser.add_argument("--sizes", help="per-trial cost against study size instead, e.g. "
                        "100,1000,10000, on --storages")  # fmt: skip
    parser.add_argument("--storages", default="journal,postgresql://postgres@127.0.0.1:5432/test",
                        help="journal (a file in a temporary folder) and database URLs")  # fmt: skip
    parser.add_argument("--measured", type=int, default=40, help="trials timed at each size")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if args.sizes:
        sizes = [int(n) for n in args.sizes.split(",")]
        record: dict = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                        "machine": f"{platform.node()} {platform.processor() or platform.machine()}",
                        "optuna": optuna.__version__, "storages": {}}  # fmt: skip
        with tempfile.TemporaryDirectory() as folder:
            for name in args.storages.split(","):
                url = str(Path(folder) / "sizes.journal") if name == "journal" else name
                record["storages"][redact(name)] = by_size(url, sizes, args.measured)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).with_name("overhead_sizes.json").write_text(json.dumps(record, indent=1))
        return
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
