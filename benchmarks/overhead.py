"""Harness overhead: 200 TPE trials of an RBF SVM on digits, harness vs a hand-written Optuna loop.

Both sides sample C and gamma on log scales with the same TPE seed and score the same validation
split (the harness's own: a stratified 20% test split, then 20% of the rest for validation), so they
run the same trials; the script checks that they found the same best value. The harness uses its
default storage (a journal file), with its fits in its own process and in a worker process (the
command's default); the hand-written loop keeps its study in memory.

Each side runs as a user runs it, in a fresh interpreter timed from its start to its exit: the
hand-written loop as a script that imports Optuna and scikit-learn, the harness as a script that
starts its worker first thing, as the ``automl`` command does (``automl.commands.start``), and then imports
the harness, so that the worker's start overlaps the harness's own. The table also gives the time
inside the loop alone (``run()`` for the harness: with the worker, what remained of its start is in
it). ``--command`` adds the ``automl`` command itself (Hydra, the refit's saved and explained
winner, the leaderboard). Runs alternate so that machine noise hits all sides alike. Target:
harness with its worker / hand-written <= 1.15.

    python benchmarks/overhead.py [--trials 200] [--repeats 3] [--command]
    python benchmarks/overhead.py --sizes 100,1000,10000 [--storages journal,postgresql://...]

``--sizes`` measures instead what one trial costs as the study grows, on each storage, the
harness beside bare Optuna (see ``by_size``).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import optuna

# Nothing else at the top: each side imports what it needs, in its own interpreter, and the
# harness's worker side starts its worker before anything (see ``side``).

SEED = 0
SPACE = {
    "C": {"low": 1e-3, "high": 1e3, "log": True},
    "gamma": {"low": 1e-5, "high": 10.0, "log": True},
}


def hand_written(n_trials: int) -> tuple[float, float]:
    import optuna
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

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
        # Trial k draws from TPE seeded with SEED + k, as the harness does (automl.search.recovery).
        study.sampler = optuna.samplers.TPESampler(seed=SEED + k, n_startup_trials=10)
        trial = study.ask()
        study.tell(trial, objective(trial))
    return time.perf_counter() - start, study.best_value


def harness(n_trials: int, folder: Path, isolation_mode: str) -> tuple[float, float]:
    """The harness's run of the same trials; with ``isolation_mode="subprocess"`` its worker is
    the one this process started (``side``) or, if none, one it starts now."""
    from automl.search.study import run
    from automl.settings.experiment import Experiment
    from automl.settings.split import SplitConfig

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


def _chunk_gaps(study: optuna.Study, chunks: list[range]) -> list[float]:
    """The seconds between the starts of consecutive trials within each chunk of trial numbers
    (one run of the side), so that the time other sides ran in between is left out."""
    starts = {t.number: t.datetime_start for t in study.get_trials(deepcopy=False)}
    return [(starts[n + 1] - starts[n]).total_seconds()
            for chunk in chunks for n in chunk[:-1]]  # fmt: skip


def by_size(url: str, sizes: list[int], measured: int, rounds: int = 4) -> list[dict]:
    """Per-trial cost against study size on one storage: the harness (in-process, a dummy learner
    on iris, random sampling, so that neither the learner nor a sampler that reads every trial
    grows with the study) beside a bare Optuna loop that samples the same space and fits nothing.
    Every study is grown to its size first; then ``rounds`` rounds each run ``measured / rounds``
    trials of every side at every size, in alternating order, so that the machine's drift (this
    database's cost per statement moves by a third within minutes) hits every size alike. The
    harness's overhead is its per-trial time less its fits'; medians over all rounds."""
    from dataclasses import replace

    import optuna

    from automl.search.study import run
    from automl.settings.experiment import Experiment
    from automl.storage.records import FIT_TIME, PREDICT_TIME
    from automl.storage.urls import open_storage, redact

    chunk = max(measured // rounds, 2)
    setups = []
    for size in sizes:  # one study of each side at each size, grown first
        where = url if "://" in url else url.replace(".journal", f"-{size}.journal")
        storage = open_storage(where)
        exp = Experiment(
            dataset="iris", model="decision_tree", storage=where, seed=time.time_ns() % 2**31,
            n_trials=1, progress=False,
            sampler={"_target_": "optuna.samplers.RandomSampler", "seed": 0},
            isolation="inprocess", dataset_options={}, params={}, metric="auto",
        )  # fmt: skip
        study = optuna.load_study(study_name=run(exp).study, storage=storage)
        _prefill(study, study.trials[0], size)
        space = study.trials[0].distributions  # the same search, with nothing fitted
        bare = optuna.create_study(study_name=f"bare-{size}-{time.time_ns()}", storage=storage,
                                   sampler=optuna.samplers.RandomSampler(seed=0))  # fmt: skip
        bare.optimize(_nothing(space), n_trials=1)
        _prefill(bare, bare.trials[0], size)
        setups.append({"size": size, "exp": exp, "study": study, "bare": bare, "space": space,
                       "harness_chunks": [], "bare_chunks": []})  # fmt: skip
    for round_ in range(rounds):
        for setup in setups if round_ % 2 == 0 else reversed(setups):
            study, bare = setup["study"], setup["bare"]
            have = len(study.get_trials(deepcopy=False))
            run(replace(setup["exp"], n_trials=have + chunk))
            setup["harness_chunks"].append(range(have, have + chunk))
            have = len(bare.get_trials(deepcopy=False))
            bare.optimize(_nothing(setup["space"]), n_trials=chunk)
            setup["bare_chunks"].append(range(have, have + chunk))
    rows = []
    for setup in setups:
        study = optuna.load_study(study_name=setup["study"].study_name,
                                  storage=setup["study"]._storage)  # fmt: skip
        measured_numbers = {n for c in setup["harness_chunks"] for n in c}
        fits = statistics.median(
            t.user_attrs.get(FIT_TIME, 0.0) + t.user_attrs.get(PREDICT_TIME, 0.0)
            for t in study.get_trials(deepcopy=False) if t.number in measured_numbers
        )  # fmt: skip
        harness = statistics.median(_chunk_gaps(study, setup["harness_chunks"]))
        bare_s = statistics.median(_chunk_gaps(setup["bare"], setup["bare_chunks"]))
        row = {"size": setup["size"], "harness_s": harness, "fit_s": fits,
               "overhead_s": harness - fits, "bare_s": bare_s}  # fmt: skip
        rows.append(row)
        if "://" in url:  # a database outlives the run: leave it as it was
            for name in (study.study_name, setup["bare"].study_name):
                optuna.delete_study(study_name=name, storage=study._storage)
        print(f"{redact(url)[:40]:40s} {row['size']:6d} trials: harness {1000 * harness:7.1f} "
              f"ms/trial (fits {1000 * fits:5.1f}, overhead {1000 * row['overhead_s']:7.1f})   "
              f"bare Optuna {1000 * bare_s:7.1f} ms/trial", flush=True)  # fmt: skip
    return rows


def _nothing(space: dict) -> Callable[[optuna.Trial], float]:
    """Bare Optuna's objective: the harness's search space sampled, nothing fitted."""

    def nothing(trial: optuna.Trial) -> float:
        for name, distribution in space.items():
            trial._suggest(name, distribution)  # what suggest_int/float/categorical call
        return 0.5

    return nothing


SIDES = {
    "hand": "hand-written (memory)",
    "inprocess": "harness, in-process",
    "subprocess": "harness, worker process",
    "command": "automl command",
}


def side(name: str, n_trials: int, folder: Path) -> dict:
    """One side's run in this (fresh) interpreter: what the loop found and how long it took."""
    if name == "subprocess":
        from automl.fitting import isolation

        isolation.prestart()  # first thing, as automl.commands.start does: its imports overlap the rest
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if name == "hand":
        seconds, best = hand_written(n_trials)
    else:
        seconds, best = harness(n_trials, folder, name)
    return {"loop_s": seconds, "best": best}


def command(n_trials: int, folder: Path) -> list[str]:
    """The ``automl`` command for the same search (the schema's split, TPE seed 0 with 10 random
    trials, the SVM's kernel and scaler fixed), writing into ``folder``."""
    return [
        sys.executable, "-m", "automl.commands.start", "dataset=digits", "model=svm",
        "model.params.kernel=rbf", "model.params.scaler=standard", f"search.n_trials={n_trials}",
        "search.timeout=null", "progress=false", f"output_dir={folder}",
        f"leaderboard.dir={folder}/leaderboards",
    ]  # fmt: skip


def timed(name: str, n_trials: int, folder: Path) -> dict:
    """Run one side in a fresh interpreter; its seconds from start to exit, and what it said."""
    if name == "command":
        argv = command(n_trials, folder)
    else:
        argv = [sys.executable, __file__, "--side", name, "--trials", str(n_trials),
                "--folder", str(folder)]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{name} failed:\n{done.stderr[-3000:]}")
    if name == "command":
        import optuna

        from automl.storage.urls import open_storage

        storage = open_storage(str(folder / "automl.journal"))
        (summary,) = optuna.get_all_study_summaries(storage)
        return {"process_s": seconds, "loop_s": None, "best": summary.best_trial.value}
    return {"process_s": seconds, **json.loads(done.stdout.strip().splitlines()[-1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/out/overhead.json")
    parser.add_argument("--sizes", help="per-trial cost against study size instead, e.g. "
                        "100,1000,10000, on --storages")  # fmt: skip
    parser.add_argument("--storages", default="journal,postgresql://postgres@127.0.0.1:5432/test",
                        help="journal (a file in a temporary folder) and database URLs")  # fmt: skip
    parser.add_argument("--measured", type=int, default=60, help="trials timed at each size")
    parser.add_argument("--command", action="store_true", help="also time the automl command")
    parser.add_argument("--side", choices=list(SIDES), help=argparse.SUPPRESS)  # one child's run
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        print(json.dumps(side(args.side, args.trials, Path(args.folder))))
        return
    import optuna

    from automl.storage.urls import redact

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
    names = [n for n in SIDES if n != "command" or args.command]
    runs: dict[str, list[dict]] = {SIDES[n]: [] for n in names}
    bests = set()
    for repeat in range(args.repeats):
        for name in names if repeat % 2 == 0 else reversed(names):
            with tempfile.TemporaryDirectory() as folder:
                got = timed(name, args.trials, Path(folder))
            runs[SIDES[name]].append(got)
            bests.add(round(got["best"], 10))
            loop = "" if got["loop_s"] is None else f"(loop {got['loop_s']:6.2f} s)"
            print(f"repeat {repeat + 1}: {SIDES[name]:24s} {got['process_s']:7.2f} s {loop}  "
                  f"best {got['best']:.4f}", flush=True)  # fmt: skip
    medians = {
        side: {key: statistics.median(r[key] for r in got) if got[0][key] is not None else None
               for key in ("process_s", "loop_s")}
        for side, got in runs.items()
    }  # fmt: skip
    hand = medians[SIDES["hand"]]
    print(f"\n{'side':26s} {'process s':>10s} {'/ hand':>7s} {'loop s':>8s} {'/ hand':>7s}")
    for name, median in medians.items():
        loop = median["loop_s"]
        loop_text = f"{loop:8.2f} {loop / hand['loop_s']:7.3f}" if loop is not None else ""
        print(f"{name:26s} {median['process_s']:10.2f} "
              f"{median['process_s'] / hand['process_s']:7.3f} {loop_text}")  # fmt: skip
    print("target: harness with its worker / hand-written <= 1.15, from start to exit")
    print(f"same best value on every side: {len(bests) == 1}")
    ratio = medians[SIDES["subprocess"]]["process_s"] / hand["process_s"]
    record = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.processor() or platform.machine()}",
        "trials": args.trials,
        "runs": runs,
        "medians": medians,
        "ratio": ratio,
        "same_best": len(bests) == 1,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
