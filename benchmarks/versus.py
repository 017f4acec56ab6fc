"""The harness's budget mode against FLAML and AutoGluon, side by side in one run, on the same train
and test files.

Every dataset works offline: scikit-learn's bundled ones, the shared data (``AUTOML_DATA``: UCI
Adult, the AutoML Benchmark's kc2 and cholesterol, UCR series as tables), the OpenML fixture
(anneal), and with ``--tables`` the public tables of ``benchmarks/tables.json`` (each from a GitHub
repository that keeps it in git, at a recorded commit, checked against its SHA-256 before any run).
Each is written once as ``train.csv`` and ``test.csv`` (its own test split where it has one, else a
seeded stratified 80/20 cut); every side reads exactly those files and runs as a user would, in its
own process, timed whole: the harness as ``automl dataset=csv ... budget=B seed=S``, FLAML as
``AutoML().fit(X, y, time_budget=B, seed=S)``, AutoGluon as ``TabularPredictor(...).fit(train,
time_limit=B, presets=P)`` with ``medium_quality`` and ``best_quality`` (load, fit, predict).
Accuracy for classification, RMSE for regression; test scores only at the end, never seen by any
side's selection.

The table gives, per dataset and budget, each side's mean test score over the seeds with its
spread (min-max) and the harness's verdict against it (a tie is within one test row of accuracy,
or 0.1% of RMSE), the wall times as multiples of the budget (the worst seed), the ensemble against
the harness's best single learner (by validation), and the pick's shortfall against the best test
score on its own leaderboard, beside what the former rule (the best validation score) would have
handed over. The summary counts wins, ties and losses per peer.

Every run starts from scratch. With ``--shared-storage`` the seeds of a dataset share one storage
(each seed still its own output folder and studies), as ``automl -m seed=0,1,2`` or a user's
repeated runs do: what a learner's first trial cost under one seed tells the next seed's budget
(automl.search.costs), which a benchmark of independent runs never shows.

    pip install -e ".[bench]"
    AUTOML_DATA=../shared/data python benchmarks/versus.py --tables TABLES --budgets 60 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import hashlib
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

# AutoGluon has no seed of its own to set: its models' seeds are fixed, so its seeds differ only by
# the machine's timing. Its folder is a scratch directory, removed after the run.
AUTOGLUON = """
import json, sys, tempfile
import numpy as np, pandas as pd
from autogluon.tabular import TabularPredictor
train, test, task, budget, preset = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5]
train, test = pd.read_csv(train), pd.read_csv(test)
metric = "accuracy" if task == "classification" else "root_mean_squared_error"
with tempfile.TemporaryDirectory() as path:
    predictor = TabularPredictor(
        label="target", eval_metric=metric, path=path, verbosity=0,
        problem_type="regression" if task == "regression" else None,
    ).fit(train, time_limit=budget, presets=preset)
    pred = predictor.predict(test.drop(columns="target"))
    best = predictor.model_best
truth = test["target"].to_numpy()
if task == "classification":
    score = float(np.mean(np.asarray(pred).astype(str) == truth.astype(str)))
else:
    score = float(np.sqrt(np.mean((np.asarray(pred, dtype=float) - truth) ** 2)))
print(json.dumps({"score": score, "best": best}))
"""
# The peers, each run in its own process on the same files: (script, its extra argument).
PEERS: dict[str, tuple[str, str | None]] = {
    "flaml": (FLAML, None),
    "autogluon_medium": (AUTOGLUON, "medium_quality"),
    "autogluon_best": (AUTOGLUON, "best_quality"),
}


def _frame(X: Any) -> pd.DataFrame:
    array = X if isinstance(X, pd.DataFrame) else np.asarray(X)
    if isinstance(array, np.ndarray) and array.ndim > 2:  # series or images: one column per value
        array = np.nan_to_num(array.reshape(len(array), -1), nan=0.0)
    frame = pd.DataFrame(array).reset_index(drop=True)
    frame.columns = [f"f{c}" if not isinstance(c, str) else c for c in frame.columns]
    return frame


def add_tables(folder: Path) -> list[str]:
    """Register the tables of ``folder``'s ``MANIFEST.json`` (benchmarks/tables.json says where each
    comes from), each checked against its recorded SHA-256 before any run; their names."""
    manifest = json.loads((folder / "MANIFEST.json").read_text())
    names = []
    for entry in manifest:
        path = folder / f"{entry['name']}.csv"
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != entry["sha256"]:
            raise SystemExit(f"{path}: SHA-256 {digest} is not the recorded {entry['sha256']}")
        task = "regression" if entry["task"] == "regression" else "classification"
        DATASETS[entry["name"]] = ("table", {"path": str(path)}, task)
        names.append(entry["name"])
    return names


def write_files(name: str, folder: Path) -> tuple[Path, Path]:
    """The dataset's train and test files (made once)."""
    train, test = folder / name / "train.csv", folder / name / "test.csv"
    if train.is_file() and test.is_file():
        return train, test
    from sklearn.model_selection import train_test_split

    dataset, options, task = DATASETS[name]
    if dataset == "table":  # a table of the manifest: every column as its file has it
        frame = pd.read_csv(options["path"])
        X, y, X_test = frame.drop(columns="target"), frame["target"].to_numpy(), None
    else:
        from automl.plugin.manager import load_registry

        data = load_registry().dataset(dataset).load(**options)
        X, y, X_test = _frame(data.X), np.asarray(data.y), data.X_test
    if X_test is None:
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


def shared_journal(work: Path, name: str, budget: float) -> Path:
    """The storage the seeds of ``name`` share at ``budget`` under ``--shared-storage``."""
    return work / "runs" / f"{name}-{budget:g}-shared.journal"


def harness(
    name: str, train: Path, test: Path, budget: float, seed: int, work: Path,
    settings: tuple[str, ...] = (), shared: bool = False, first: bool = True,
) -> dict:  # fmt: skip
    """The harness's command on the files (with ``settings``, as ``key=value``); from its
    leaderboard, the pick's test score, what the former rule (the best validation score) would
    have handed over, the best test score on the board (selection never sees it: it measures what
    the pick missed), the ensemble against the best single learner, and per learner how its final
    model was made, with the bag's test score beside a refit's where both were made. ``shared``:
    the storage is the one the dataset's seeds share, emptied for the ``first`` of them."""
    task = DATASETS[name][2]
    out = work / "runs" / f"{name}-{budget:g}-{seed}"
    journal = shared_journal(work, name, budget)
    if shared and first:
        from automl.storage.urls import KernelLock  # the journal's lock file, beside it

        for stale in (journal, journal.with_name(journal.name + KernelLock.SUFFIX)):
            stale.unlink(missing_ok=True)
    if shared:
        settings = (*settings, f"storage={journal}")
    command = [
        sys.executable, "-m", "automl.commands.cli", "dataset=csv", f"dataset.path={train}",
        f"dataset.test_path={test}", "dataset.target=target", f"budget={budget:g}", f"seed={seed}",
        f"output_dir={out / 'results'}", f"leaderboard.dir={out / 'lb'}", "progress=false",
        *(["dataset.task=regression"] if task == "regression" else []), *settings,
    ]  # fmt: skip
    shutil.rmtree(out, ignore_errors=True)  # every run from scratch: no resume
    out.mkdir(parents=True)
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, cwd=out)
    wall = time.monotonic() - started
    boards = list((out / "lb").glob("train-*.csv"))
    if done.returncode != 0 or not boards:
        return {"error": done.stderr.strip().splitlines()[-1:] or ["no leaderboard"], "wall": wall}
    whole = pd.read_csv(boards[0])
    whole = whole[whole["seed"] == seed]  # a shared storage's board holds every seed's rows
    board = whole.dropna(subset=["val_score", "test_score"])
    maximize = task == "classification"  # accuracy; rmse for regression
    pick = board[board["pick"] == "*"].iloc[0]
    sign = 1.0 if maximize else -1.0
    former = board.assign(_v=-sign * board["val_score"], _e=board["kind"] == "ensemble")
    former = former.sort_values(["_v", "_e", "fit_time", "model"], kind="stable").iloc[0]
    learners = board[board["kind"] != "ensemble"]
    # The best single learner on validation evidence only: the pick where the pick is a learner,
    # else the first of the selection's order (validation score, faster refit, name). The board is
    # ranked by test score, so taking the first of equal validation scores from it would break
    # ties by test score, in the single learner's favour.
    if pick["kind"] != "ensemble":
        single = pick
    else:
        single = learners.assign(_v=-sign * learners["val_score"]).sort_values(
            ["_v", "fit_time", "model"], kind="stable").iloc[0]  # fmt: skip
    ensemble = board[board["kind"] == "ensemble"]
    return {
        "score": float(pick["test_score"]),
        "pick": str(pick["model"]),
        "why": str(pick.get("why", "")),
        "former": float(former["test_score"]),
        "best": float((sign * board["test_score"]).max() * sign),
        "single": float(single["test_score"]),
        "ensemble": float(ensemble["test_score"].iloc[0]) if len(ensemble) else None,
        "finals": {
            str(row.model): [
                float(row.test_score),
                _number(getattr(row, "bag_score", None)),
                str(getattr(row, "final", "")),
            ]
            for row in learners.itertuples()
        },  # fmt: skip
        "trials": {  # completed, failed, why it left, pruned, best validation score
            str(row.model): [
                int(row.trials),
                int(row.failed),
                str(row.error or ""),
                int(row.pruned),
                _number(row.val_score),
            ]  # fmt: skip
            for row in whole[whole["kind"] != "ensemble"]
            .assign(error=lambda f: f["error"].astype(object).where(f["error"].notna(), ""))
            .itertuples()
        },  # fmt: skip
        "wall": wall,
    }


def _number(value: Any) -> float | None:
    return None if value is None or value != value else float(value)


def peer(side: str, name: str, train: Path, test: Path, budget: float, seed: int) -> dict:
    """One peer's run in its own process: its test score, its best model, its wall time."""
    script, preset = PEERS[side]
    task = DATASETS[name][2]
    last = preset if preset is not None else str(seed)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", script, str(train), str(test), task, f"{budget:g}", last],
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


def _mean(runs: list[dict], key: str = "score") -> float | None:
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.fmean(values) if values else None


def _verdict(ours: float | None, theirs: float | None, regression: bool, rows: int) -> str:
    """win, tie or loss of ``ours`` against ``theirs`` (means over the seeds that gave a score): a
    tie is within one test row of accuracy, or 0.1% of RMSE; ``failed`` where the peer gave none."""
    if theirs is None:
        return "failed"  # the peer failed on every seed: neither a win nor a loss
    if ours is None:
        return "loss"
    delta = (theirs - ours) if regression else (ours - theirs)
    close = 0.001 * abs(theirs) if regression else 1.0 / rows
    return "tie" if abs(delta) <= close + 1e-12 else ("win" if delta > 0 else "loss")


def _shortfall(run: dict, key: str, regression: bool) -> float | None:
    """How far ``run[key]`` falls short of the best test score on its leaderboard: points of
    accuracy, or percent of RMSE."""
    if run.get(key) is None or run.get("best") is None:
        return None
    if regression:
        return 100.0 * (run[key] - run["best"]) / abs(run["best"])
    return 100.0 * (run["best"] - run[key])


def table(runs: list[dict], budgets: list[float], datasets: list[str], rows: dict) -> None:
    """Print the table and the summary from the runs (one dict per dataset, budget and seed, with
    one result per side that ran)."""
    sides = [s for s in PEERS if any(s in r for r in runs)]
    head = " | ".join(f"{s} | vs {s}" for s in sides)
    print(f"| dataset | budget s | metric | harness pick | {head} | harness wall / budget | "
          "peers' worst wall / budget | ensemble - best single | pick shortfall | former rule "
          "shortfall |")  # fmt: skip
    print("| --- | ---: | --- | --- |" + " --- | --- |" * len(sides) + " ---: | ---: | ---: | ---: "
          "| ---: |")  # fmt: skip
    for budget in budgets:
        counts = {s: {"win": 0, "tie": 0, "loss": 0, "failed": 0} for s in sides}
        gains, walls, short, former = [], [], [], []
        for name in datasets:
            mine = [r for r in runs if r["dataset"] == name and r["budget"] == budget]
            if not mine:
                continue
            regression = DATASETS[name][2] == "regression"
            ours = [r["harness"] for r in mine]
            ours_mean = _mean(ours)
            cells = []
            for side in sides:
                theirs = [r[side] for r in mine if side in r]
                verdict = _verdict(ours_mean, _mean(theirs), regression, rows[name])
                if theirs:
                    counts[side][verdict] += 1
                cells.append(f"{_spread([t['score'] for t in theirs if 'score' in t])} | "
                             f"{verdict if theirs else ''}")  # fmt: skip
            sign = -1.0 if regression else 1.0
            blend = [sign * (r["ensemble"] - r["single"]) for r in ours
                     if r.get("ensemble") is not None]  # fmt: skip
            gain = statistics.fmean(blend) if blend else float("nan")
            gains.append(gain)
            falls = [f for r in ours if (f := _shortfall(r, "score", regression)) is not None]
            was = [f for r in ours if (f := _shortfall(r, "former", regression)) is not None]
            short.append(statistics.fmean(falls) if falls else float("nan"))
            former.append(statistics.fmean(was) if was else float("nan"))
            wall_a = max(r["wall"] for r in ours) / budget
            peers = [r[s]["wall"] for r in mine for s in sides if s in r]
            walls.append(wall_a)
            metric = "rmse" if regression else "accuracy"
            print(f"| {name} | {budget:g} | {metric} | {_spread([r['score'] for r in ours if 'score' in r])} | "
                  f"{' | '.join(cells)} | {wall_a:.2f} | "
                  f"{max(peers) / budget if peers else float('nan'):.2f} | {gain:+.4f} | "
                  f"{short[-1]:.2f} | {former[-1]:.2f} |")  # fmt: skip
        if not walls:
            continue
        seeds = sorted({r["seed"] for r in runs if r["budget"] == budget})
        print(f"\nbudget {budget:g} s, seeds {seeds}, {len(walls)} datasets:")
        for side in sides:
            c = counts[side]
            n = c["win"] + c["tie"] + c["loss"]
            print(f"- the pick equals or beats {side} on {c['win'] + c['tie']} of {n} "
                  f"({c['win']} wins, {c['tie']} ties, {c['loss']} losses; {side} failed on "
                  f"{c['failed']} more)")  # fmt: skip
        real = [g for g in gains if g == g]
        print(f"- worst harness wall time {max(walls):.2f}x the budget")
        print(
            f"- ensemble minus best single learner: >= 0 on {sum(g >= 0 for g in real)} and > 0 "
            f"on {sum(g > 0 for g in real)} of {len(real)} datasets with an ensemble"
        )
        print(f"- the pick's mean shortfall against the best test score on its own leaderboard: "
              f"{statistics.fmean([v for v in short if v == v]):.2f} (points of accuracy, % of "
              f"RMSE); the former rule (best validation score): "
              f"{statistics.fmean([v for v in former if v == v] or [float('nan')]):.2f}\n")  # fmt: skip


def bags(runs: list[dict], budgets: list[float], datasets: list[str], rows: Any = None) -> None:
    """Each learner's bag (its best trial's fold models averaged) against its refit on all
    development rows, from runs with ``final=refit``, where both were made of the same best
    trial: per dataset the mean over learners and seeds of bag minus refit (points of accuracy; for
    RMSE, percent of the refit's, signed so that > 0 means the bag is better)."""
    header = True  # printed above the first row: runs without final=refit have none
    for budget in budgets:
        means, each = [], []
        for name in datasets:
            regression = DATASETS[name][2] == "regression"
            gains = []
            for run in runs:
                if run["dataset"] != name or run["budget"] != budget:
                    continue
                for refit, bag, _ in run["harness"].get("finals", {}).values():
                    if bag is None:
                        continue
                    gains.append(100 * (refit - bag) / abs(refit) if regression
                                 else 100 * (bag - refit))  # fmt: skip
            if not gains:
                continue
            if header:
                print("| dataset | budget s | learners x seeds | bag - refit (mean) | bag better / "
                      "tie / worse |\n| --- | ---: | ---: | ---: | --- |")  # fmt: skip
                header = False
            each += gains
            means.append(statistics.fmean(gains))
            better = sum(g > 1e-9 for g in gains)
            worse = sum(g < -1e-9 for g in gains)
            print(f"| {name} | {budget:g} | {len(gains)} | {means[-1]:+.3f} | {better} / "
                  f"{len(gains) - better - worse} / {worse} |")  # fmt: skip
        if means:
            better, worse = sum(g > 1e-9 for g in each), sum(g < -1e-9 for g in each)
            print(f"\nbudget {budget:g} s: the bag is better than the refit on "
                  f"{sum(m > 0 for m in means)} of {len(means)} datasets' means (mean "
                  f"{statistics.fmean(means):+.3f}); per learner and seed {better} better, "
                  f"{worse} worse of {len(each)}\n")  # fmt: skip


LARGE = 10_000  # training rows from which a table counts as large
BOOSTING = ("lightgbm", "xgboost", "catboost")  # issue 28: the best of them completes 10 trials


def large(runs: list[dict], budgets: list[float], datasets: list[str], rows: dict) -> None:
    """On the tables of more than ``LARGE`` training rows: per learner, the trials it completed
    and those the pruner ended after their first folds (means over seeds), and how many of its
    first trials the budget stopped, with the pick's test score: where the minute went. The best
    boosting learner is the one with the best mean validation score (runs recorded before the
    scores were: the one with the most trials); its trials count the pruned ones, each a
    configuration measured and rejected on its first folds, and the completed ones alone."""
    print("| dataset | training rows | budget s | pick's test score (mean) | trials per learner "
          "(mean over seeds) |\n| --- | ---: | ---: | ---: | --- |")  # fmt: skip
    for budget in budgets:
        boosted, stopped = [], []
        for name in datasets:
            mine = [r["harness"] for r in runs if r["dataset"] == name and r["budget"] == budget
                    and "trials" in r["harness"]]  # fmt: skip
            if rows[name] <= LARGE or not mine:
                continue
            best = _best_boosting(mine, DATASETS[name][2] == "regression")
            done = [r["trials"].get(best, [0]) for r in mine]
            completed = statistics.fmean(d[0] for d in done)
            boosted.append((name, best, completed, completed + _pruned(done)))
            learners = sorted({m for r in mine for m in r["trials"]})
            cells = []
            for model in learners:
                done = [r["trials"][model] for r in mine if model in r["trials"]]
                completed, pruned = statistics.fmean(d[0] for d in done), _pruned(done)
                first = sum(d[0] == 0 and "stopped by the budget" in d[2] for d in done)
                skipped = sum(d[0] == 0 and d[1] == 0 and bool(d[2]) for d in done)
                cells.append(f"{model} {completed:.3g}" + (f" +{pruned:.3g} pruned" if pruned else "")
                             + (f" ({first} first stopped)" if first else "")
                             + (f" ({skipped} not started)" if skipped else ""))  # fmt: skip
                if first > 1:
                    stopped.append(f"{model} on {name} ({first} of {len(done)})")
            score = statistics.fmean(r["score"] for r in mine if "score" in r)
            print(f"| {name} | {rows[name]} | {budget:g} | {score:.4f} | {', '.join(cells)} |")
        if boosted:
            print(
                f"\nbudget {budget:g} s: the best boosting learner's trials, completed and pruned "
                "(completed alone), mean over seeds: "
                + ", ".join(f"{n} {m} {t:.3g} ({c:.3g})" for n, m, c, t in boosted)
                + f"; at least 10 on {sum(t >= 10 for *_, t in boosted)} of {len(boosted)} "
                f"({sum(c >= 10 for _, _, c, _ in boosted)} completed alone)"
            )
            print("first trials stopped by the budget more than once on a dataset: "
                  + (", ".join(stopped) or "none") + "\n")  # fmt: skip


def _best_boosting(runs: list[dict], regression: bool) -> str:
    """The boosting learner with the best mean validation score over ``runs`` (a harness's
    records of one dataset), or with the most completed trials where no score was recorded."""
    scored = {m: [r["trials"][m][4] for r in runs if m in r["trials"]
                  and len(r["trials"][m]) > 4 and r["trials"][m][4] is not None]
              for m in BOOSTING}  # fmt: skip
    scored = {m: v for m, v in scored.items() if v}
    if scored:
        return (min if regression else max)(scored, key=lambda m: statistics.fmean(scored[m]))
    return max(BOOSTING, key=lambda m: statistics.fmean(r["trials"].get(m, [0])[0] for r in runs))


def _pruned(done: list[list]) -> float:
    """The mean pruned trials of a learner's records (0 where a record predates them)."""
    return statistics.fmean(d[3] if len(d) > 3 else 0 for d in done)


RULES = ("former", "none", "log_loss", "brier")  # the former pick; the pick with each tie-break


def rules(
    work: Path, budgets: list[float], seeds: list[int], datasets: list[str]
) -> dict[tuple[str, float], dict[str, float]]:
    """What each pick rule hands over on the harness's stored runs, chosen on validation alone
    (automl.views.selection) and scored on test: the former rule (the best validation score), and
    the ensemble only with a credible margin, with ties between learners broken by nothing (the
    best validation score), the log loss or the Brier score. Prints each rule's shortfall against
    the best test score on the board; returns each (dataset, budget)'s mean test score per rule."""
    from automl.storage.urls import open_storage
    from automl.views import leaderboard, selection

    found: dict[tuple[str, float], dict[str, float]] = {}
    print("| dataset | budget s | " + " | ".join(RULES) + " | best on board |")
    print("| --- | ---: |" + " ---: |" * (len(RULES) + 1))
    for budget in budgets:
        short: dict[str, list[float]] = {rule: [] for rule in RULES}
        for name in datasets:
            regression = DATASETS[name][2] == "regression"
            scores: dict[str, list[float]] = {rule: [] for rule in [*RULES, "best"]}
            for seed in seeds:
                results = work / "runs" / f"{name}-{budget:g}-{seed}" / "results"
                journal = results / "automl.journal"
                if not journal.is_file():
                    journal = shared_journal(work, name, budget)
                if not journal.is_file():
                    continue
                frame = leaderboard.rows(open_storage(str(journal)), where=results)
                frame = leaderboard.latest(frame[frame["seed"] == seed]).reset_index(drop=True)
                if frame.empty:
                    continue
                maximize = not regression
                order = selection.ordered(frame, maximize)
                if not order:
                    continue
                sign = 1.0 if maximize else -1.0
                scores["best"].append(sign * (sign * frame.loc[order, "test_score"]).max())
                scores["former"].append(frame.at[order[0], "test_score"])
                for rule in RULES[1:]:
                    chosen = selection.pick(frame, maximize, seed, None if rule == "none" else rule)
                    scores[rule].append(frame.at[chosen.index, "test_score"])
            if not scores["best"]:
                continue
            means = {k: statistics.fmean(v) for k, v in scores.items()}
            found[(name, budget)] = means
            for rule in RULES:
                run = {"best": means["best"], rule: means[rule]}
                short[rule].append(_shortfall(run, rule, regression))
            print(f"| {name} | {budget:g} | " + " | ".join(f"{means[r]:.4f}" for r in RULES)
                  + f" | {means['best']:.4f} |")  # fmt: skip
        print(f"\nbudget {budget:g} s, mean shortfall against the best test score on the board "
              f"(points of accuracy, % of RMSE), over {len(short['former'])} datasets: "
              + ", ".join(f"{r} {statistics.fmean(short[r]):.3f}" for r in RULES if short[r]))  # fmt: skip
    return found


def _stored(raw: Path | None) -> dict[tuple, dict]:
    """The peers' results of earlier runs, by (dataset, budget, seed): they read the very files
    this run writes (a seeded cut), so a run of the harness alone can stand beside them."""
    if raw is None:
        return {}
    runs = [json.loads(line) for line in raw.read_text().splitlines() if line.strip()]
    return {
        (r["dataset"], r["budget"], r["seed"]): {k: v for k, v in r.items() if k in PEERS}
        for r in runs
    }


def _with(stored: dict[tuple, dict], run: dict) -> dict:
    """The run, with the stored peers' results it does not have itself."""
    return {**stored.get((run["dataset"], run["budget"], run["seed"]), {}), **run}


def _rows(test: Path) -> int:
    with test.open() as f:
        return sum(1 for _ in f) - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", type=float, nargs="+", default=[60.0, 300.0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--datasets", nargs="+", default=None, help="default: every one")
    parser.add_argument("--tables", type=Path, default=None,
                        help="a folder of CSV tables with its MANIFEST.json (benchmarks/tables.json)")  # fmt: skip
    parser.add_argument("--peers", nargs="*", default=list(PEERS), choices=list(PEERS))
    parser.add_argument("--work", type=Path, default=Path("/tmp/automl-versus"))
    parser.add_argument("--raw", type=Path, default=None, help="append every run as JSON lines")
    parser.add_argument("--table", action="store_true", help="only print the table of --raw")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="settings for the harness's command, e.g. final=refit")  # fmt: skip
    parser.add_argument("--peers-from", type=Path, default=None, metavar="RAW",
                        help="take the peers' results from the runs of RAW (same files, budget, "
                             "seed) instead of running them")  # fmt: skip
    parser.add_argument("--bags", action="store_true",
                        help="only print the bag against the refit from the runs of --raw")  # fmt: skip
    parser.add_argument("--large", action="store_true",
                        help="only print the trials per learner on the large tables of --raw")  # fmt: skip
    parser.add_argument("--shared-storage", action="store_true",
                        help="the seeds of a dataset share one storage, as automl -m seed=0,1,2")  # fmt: skip
    parser.add_argument("--rules", action="store_true",
                        help="only print what each pick rule hands over on the runs in --work")  # fmt: skip
    args = parser.parse_args()
    args.work = args.work.resolve()  # the harness runs in its run's folder
    if args.tables is not None:
        add_tables(args.tables)
    datasets = args.datasets or list(DATASETS)
    files = {name: write_files(name, args.work / "data") for name in datasets}
    rows = {name: _rows(files[name][1]) for name in datasets}
    trained = {name: _rows(files[name][0]) for name in datasets}
    runs: list[dict] = []
    if args.rules:
        rules(args.work, args.budgets, args.seeds, datasets)
        return
    stored = _stored(args.peers_from)
    if args.table or args.bags or args.large:
        runs = [json.loads(line) for line in args.raw.read_text().splitlines() if line.strip()]
        runs = [_with(stored, r) for r in runs if r.get("settings", []) == args.set
                and r.get("storage") == ("shared" if args.shared_storage else None)]  # fmt: skip
        if args.large:
            large(runs, args.budgets, datasets, trained)
        else:
            (bags if args.bags else table)(runs, args.budgets, datasets, rows)
        return
    # Seeds outermost, so that a run cut short still covers every dataset; the sides alternate,
    # so that a drift of the machine hits each.
    for budget in args.budgets:
        for seed in args.seeds:
            for name in datasets:
                made = harness(name, *files[name], budget, seed, args.work, tuple(args.set),
                               args.shared_storage, seed == args.seeds[0])  # fmt: skip
                run = {"dataset": name, "budget": budget, "seed": seed, "settings": args.set,
                       "harness": made}  # fmt: skip
                if args.shared_storage:
                    run["storage"] = "shared"
                for side in args.peers:
                    run[side] = peer(side, name, *files[name], budget, seed)
                run = _with(stored, run)
                runs.append(run)
                print(json.dumps(run), file=sys.stderr, flush=True)
                if args.raw:
                    with args.raw.open("a") as raw:
                        raw.write(json.dumps(run) + "\n")
    table(runs, args.budgets, datasets, rows)
    bags(runs, args.budgets, datasets)
    large(runs, args.budgets, datasets, trained)


if __name__ == "__main__":
    main()
