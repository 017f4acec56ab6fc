"""Leaderboards: views over the Optuna storage, one per (dataset, metric).

Rows are ranked by test score. The harness's pick (one per seed) is chosen on validation evidence by
:mod:`automl.views.selection`, which says why: selection never looks at test scores, which are
reported for every learner all the same.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
from optuna.storages import BaseStorage
from optuna.trial import TrialState

from automl._version import __version__
from automl.storage.records import (
    ALLOCATION,
    ENSEMBLE,
    ERROR,
    LEARNER,
    PROBLEM,
    RESULT,
    RUN,
    ProblemRecord,
    ResultRecord,
    RunRecord,
    counted,
    span,
)
from automl.views import evidence, intervals, selection

COLUMNS = [
    "rank", "pick", "model", "test_score", "test_low", "test_high", "margin_low", "margin_high",
    "indistinct", "val_score", "final", "fit_time", "predict_time", "trials", "failed", "pruned",
    "search_time", "best_params", "seed", "error",
]  # fmt: skip
# What a row hands over, in the CSV: its saved model, and why it scores as it does.
WINNER = ["model_path", "importance", "why"]
# Where a row's evidence is (not written: the CSV's intervals are drawn from it).
EVIDENCE = ["task", "n_classes", "artifacts", "scored", "truth", "val_predictions", "val_truth"]
# Where each row came from, in the CSV (the Markdown lists them under the table).
PROVENANCE = ["device", "versions", "command", "config"]
# How each row was made, in the CSV (the Markdown says it under the table): a learner's or the
# ensemble's row, its validation, and for an ensemble how its budget was shared.
MAKING = ["kind", "validation", "allocation", "bag_score"]


def home(url: str) -> Path | None:
    """The folder of a file-backed storage, where its artifacts and models are looked for when
    they are not where they were written; None for a database."""
    path = url.removeprefix("journal:")
    return None if "://" in path else Path(path).absolute().parent


def _model(recorded: str | None, where: Path | None) -> str:
    """A row's saved model: beside the storage (a folder kept or moved), else where it was written."""
    if not recorded:
        return ""
    beside = None if where is None else where / "models" / Path(recorded).name
    return str(beside) if beside is not None and beside.is_file() else recorded


def rows(
    storage: BaseStorage, studies: Iterable[str] | None = None, where: Path | None = None
) -> pd.DataFrame:
    """One row per study made by this harness (all of them, or those named). ``where``: the
    storage's folder (``home(url)``), to find artifacts and models that moved with it."""
    wanted = None if studies is None else set(studies)
    records = []
    for study in storage.get_all_studies():
        if PROBLEM not in study.user_attrs or (
            wanted is not None and study.study_name not in wanted
        ):
            continue
        info = ProblemRecord.read(study.user_attrs[PROBLEM])
        trials = storage.get_all_trials(
            storage.get_study_id_from_name(study.study_name), deepcopy=False
        )
        trials = counted(trials)  # interrupted ones run again; surplus ones never ran
        states = [t.state for t in trials]
        stored = study.user_attrs.get(RESULT)
        result = None if stored is None else ResultRecord.read(stored)
        made = RunRecord.read(study.user_attrs.get(RUN, {}))
        errors = [t.user_attrs[ERROR] for t in trials if ERROR in t.user_attrs]
        complete = states.count(TrialState.COMPLETE)
        ends = [t.datetime_complete for t in trials if t.datetime_complete is not None]
        error = (result and result.error) or (errors[-1] if errors and not complete else "")
        finished = [t for t in trials if t.datetime_start and t.datetime_complete]
        searched = sum(map(span, finished))
        if complete and result is None:
            error = "search interrupted before the refit: run the command again to finish"

        def number(value: float | None) -> float:
            return math.nan if value is None else value

        records.append(
            {
                "dataset": info.dataset,
                "metric": info.metric,
                "direction": info.direction,
                "model": info.model,
                "test_score": number(result and result.test_score),
                "val_score": number(result and result.val_score),
                "final": _final(result),
                "bag_score": number(result and result.bag_score),
                "fit_time": number(result and result.fit_time),
                "predict_time": number(result and result.predict_time),
                "trials": complete,
                "failed": states.count(TrialState.FAIL),
                "pruned": states.count(TrialState.PRUNED),
                "search_time": searched,  # seconds of its trials, over all runs
                "best_params": json.dumps(result.params if result else {}, sort_keys=True),
                "seed": info.seed,
                "error": error,
                "device": (result and result.device) or "",  # where the final model was fitted
                "versions": ", ".join(f"{k} {v}" for k, v in made.versions.items()),
                "command": made.command or "",
                "config": json.dumps(made.config, sort_keys=True, default=str),
                "study": study.study_name,
                "updated": max(ends) if ends else _when(study.user_attrs.get(ALLOCATION)),
                "kind": info.kind or LEARNER,
                "validation": info.validation or "",
                "allocation": json.dumps(study.user_attrs.get(ALLOCATION) or {}, sort_keys=True),
                "model_path": _model(result and result.model, where),
                "importance": json.dumps((result and result.importance) or {}, sort_keys=True),
                "task": info.task or "",
                "n_classes": (result and result.n_classes) or math.nan,
                "artifacts": evidence.folder(result and result.artifacts, where) or "",
                "scored": (result and result.scored) or "",
                "truth": (result and result.truth) or "",
                "val_predictions": (result and result.val_predictions) or "",
                "val_truth": (result and result.val_truth) or "",
            }
        )
    columns = [
        "dataset", "metric", "direction", *COLUMNS, *PROVENANCE, "study", "updated", *MAKING,
        *WINNER, *EVIDENCE,
    ]  # fmt: skip
    frame = pd.DataFrame.from_records(records, columns=columns)
    return frame.drop(columns=evidence.COLUMNS)  # rank() fills them, once the pick is known


def _when(allocation: dict | None) -> datetime | None:
    """When an ensemble (a study without trials) was last updated: its allocation's time."""
    stamp = (allocation or {}).get("updated")
    return None if stamp is None else datetime.fromisoformat(stamp)


def latest(frame: pd.DataFrame) -> pd.DataFrame:
    """The most recently run study of each (dataset, metric, model, seed): older configurations of
    the same learner stay in the storage but leave the leaderboard."""
    key = ["dataset", "metric", "model", "seed"]
    return frame.sort_values("updated", na_position="first").drop_duplicates(key, keep="last")


def rank(frame: pd.DataFrame) -> dict[tuple[str, str], pd.DataFrame]:
    """Split rows into leaderboards by (dataset, metric), each ranked by test score."""
    boards = {}
    for (dataset, metric), group in frame.groupby(["dataset", "metric"], sort=True):
        maximize = group["direction"].iloc[0] == "maximize"
        board = group.sort_values("test_score", ascending=not maximize, na_position="last")
        board = board.assign(rank=board["test_score"].rank(ascending=not maximize, method="min"))
        board["rank"] = board["rank"].astype("Int64")
        # The pick of each seed, on validation evidence only (automl.views.selection): the test
        # score orders the board and never the pick.
        picks = {}
        for seed, runs in board.groupby("seed"):
            chosen = selection.pick(runs, maximize, int(seed))
            if chosen.index is not None:
                picks[chosen.index] = chosen.reason
        board["pick"] = ["*" if i in picks else "" for i in board.index]
        board["why"] = [picks.get(i, "") for i in board.index]
        boards[(str(dataset), str(metric))] = evidence.attach(board.reset_index(drop=True))
    return boards


def stamp() -> str:
    """When a file was built, as every written view says it."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _short_params(text: str) -> str:
    """Parameters with floats to 4 significant digits, for reading (the CSV keeps them whole)."""
    params = json.loads(text)
    return ", ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items()
    )


def _interval(score: float, low: float, high: float) -> str:
    if pd.isna(score):
        return ""
    return f"{score:.4f}" if pd.isna(low) else f"{score:.4f} [{low:.4f}, {high:.4f}]"


def _margin(row: Any) -> str:
    """A row's margin over the pick, as its paired interval; ≈ where it includes 0."""
    if row.pick == "*":
        return "pick"
    if pd.isna(row.margin_low):
        return ""
    mark = "≈ " if row.indistinct else ""
    return f"{mark}[{row.margin_low:+.4f}, {row.margin_high:+.4f}]"


def _final(result: ResultRecord | None) -> str:
    """How a row's model was made, in words: bag, refit, or refit with its bag's test score."""
    if result is None or result.error or result.test_score is None:
        return ""
    if result.final == "bag":
        return "bag" if result.rows is None else f"bag ({result.rows:,} rows)"
    return "refit" if result.bag_score is None else f"refit (bag {result.bag_score:.4g})"


def _markdown(board: pd.DataFrame, dataset: str, metric: str, source: str) -> str:
    direction = "higher" if board["direction"].iloc[0] == "maximize" else "lower"
    table = board[COLUMNS].copy()
    table["test_score"] = [
        _interval(*v) for v in zip(board.test_score, board.test_low, board.test_high, strict=True)
    ]
    table["vs_pick"] = [_margin(row) for row in board.itertuples()]
    table = table.drop(columns=[*evidence.COLUMNS])
    table.insert(table.columns.get_loc("test_score") + 1, "vs_pick", table.pop("vs_pick"))
    table["val_score"] = table["val_score"].map(lambda v: "" if pd.isna(v) else f"{v:.4f}")
    for column in ("fit_time", "predict_time"):
        table[column] = table[column].map(lambda v: "" if pd.isna(v) else f"{v:.3f}")
    table["search_time"] = table["search_time"].map(lambda v: "" if pd.isna(v) else f"{v:.1f}")
    table["best_params"] = table["best_params"].map(_short_params)
    when = stamp()
    return (
        f"# {dataset}: {metric} ({direction} is better)\n\n"
        f"Ranked by test score. `*` marks the harness's pick, chosen on validation only (the rule "
        f"and its reason under Winner): selection never sees test scores. test_score gives its {intervals.CONFIDENCE:.0%} interval "
        f"(bootstrap over the test rows, stratified by class, {intervals.RESAMPLES} resamples); "
        f"vs_pick is the row's score minus the pick's on the same resamples, and ≈ marks the rows "
        f"whose interval includes 0: not distinguishable from the pick on this test split. final "
        f"says how the row's model was made: bag (its best trial's fold models averaged, no "
        f"refit; with its rows where they were a sample, the budget leaving no time for a refit) "
        f"or refit (fitted again on train+validation; with the bag's test score beside it "
        f"where both were made). Times are seconds for that final fit (0 for a bag) and for "
        f"predicting the test split; search_time is the seconds of its trials.\n\n"
        + table.to_markdown(index=False)
        + _validation(board)
        + f"\n\nStorage: `{source}` · automl {__version__} · {when}\n"
        + _pick_section(board)
        + _seeds(board)
        + _allocation(board)
        + _reproduce(board)
    )


def readable_path(model_path: str) -> Path:
    """A saved model's path as a reader types it: relative to here when it is below."""
    path = Path(model_path)
    return path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path


def _pick_section(board: pd.DataFrame) -> str:
    """Where each seed's pick was saved, how to use it, and what drives it."""
    text = ""
    for row in board[(board["pick"] == "*") & (board["model_path"] != "")].itertuples():
        model = readable_path(row.model_path)
        found = json.loads(row.importance or "{}").get("permutation") or {}
        top = sorted(found.items(), key=lambda item: -item[1][0])[:5]
        text += (
            f"\n## Winner (seed {row.seed}): {row.model}\n\n"
            + (f"Why: {row.why}.\n\n" if row.why else "")
            + (
                f"Saved with its preprocessing as `{model}`: `automl-predict --model {model} --data "
                f"new.csv`, or `automl.load(path).predict(frame)` in Python.\n"
                if Path(row.model_path).is_file()
                else f"Its run saved it as `{model}`, which is not kept with this storage: run the "
                f"command below again to make it.\n"
            )
        )
        if top:
            text += (
                "\nPermutation importance on the test split (score lost, mean ± std): "
                + (", ".join(f"{name} {m:.4f} ± {sd:.4f}" for name, (m, sd) in top))
                + (" …" if len(found) > len(top) else "")
                + "\n"
            )
    return text


def _seeds(board: pd.DataFrame) -> str:
    """Across seeds: each model's test score, mean ± standard deviation and range."""
    if board["seed"].nunique() < 2:
        return ""
    spread = board.groupby("model")["test_score"].agg(["mean", "std", "min", "max", "count"])
    ascending = board["direction"].iloc[0] != "maximize"
    spread = spread.sort_values("mean", ascending=ascending)
    lines = [
        f"| {model} | {r['mean']:.4f} ± {r['std']:.4f} | {r['min']:.4f} to {r['max']:.4f} | "
        f"{int(r['count'])} |"
        for model, r in spread.iterrows()
    ]
    return (
        "\n## Across seeds\n\n| model | test_score mean ± sd | range | seeds |\n"
        "| --- | --- | --- | ---: |\n" + "\n".join(lines) + "\n"
    )


def _validation(board: pd.DataFrame) -> str:
    shown = sorted(set(board["validation"]) - {""}) if "validation" in board else []
    return f"\n\nValidation: {'; '.join(shown)}." if shown else ""


def _allocation(board: pd.DataFrame) -> str:
    """How each budget was shared among the learners, from its ensemble's row."""
    text = ""
    for row in board[board["kind"] == ENSEMBLE].itertuples():
        allocation = json.loads(row.allocation or "{}")
        if not allocation.get("learners"):
            continue
        text += (
            f"\n## Budget (seed {row.seed})\n\n{allocation.get('budget', 0):g} s for the whole "
            f"comparison; {allocation.get('used', 0):.1f} s used over all runs. Seconds of search "
            f"and trials per learner, and why a learner left the search early:\n\n"
            "| learner | search_time | trials | left early |\n| --- | ---: | ---: | --- |\n"
        )
        for name, share in allocation["learners"].items():
            text += (
                f"| {name} | {share.get('seconds', 0):.1f} | {share.get('trials', 0)} | "
                f"{share.get('skipped', '')} |\n"
            )
    return text


def _reproduce(board: pd.DataFrame) -> str:
    """The command behind each row, and the device and versions it ran with."""
    lines = [
        f"- {row.model} (seed {row.seed}), {row.device or 'device not recorded'}: `{row.command}`"
        for row in board.itertuples()
        if row.command
    ]
    if not lines:
        return ""
    versions = sorted(set(board["versions"]) - {""})
    text = "\n## Reproduce\n\n" + "\n".join(lines) + "\n"
    if len(versions) == 1:
        text += f"\nVersions: {versions[0]}\n"
    return text


def write(
    boards: dict[tuple[str, str], pd.DataFrame], folder: str | Path, source: str
) -> list[Path]:
    """Write each leaderboard as ``<dataset>-<metric>.csv`` and ``.md``; return the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for (dataset, metric), board in boards.items():
        stem = folder / re.sub(r"[^\w.-]", "_", f"{dataset}-{metric}")
        board[["dataset", "metric", *COLUMNS, *PROVENANCE, "study", *MAKING, *WINNER]].to_csv(
            stem.with_suffix(".csv"), index=False
        )
        stem.with_suffix(".md").write_text(_markdown(board, dataset, metric, source))
        paths += [stem.with_suffix(".csv"), stem.with_suffix(".md")]
    return paths


def render(board: pd.DataFrame) -> str:
    """A compact terminal view of one leaderboard."""
    shown = board[
        [
            "rank",
            "pick",
            "model",
            "test_score",
            "val_score",
            "final",
            "fit_time",
            "trials",
            "failed",
            "seed",
        ]
    ].copy()
    shown.insert(4, "95% interval", [
        "" if pd.isna(lo) else f"[{lo:.4f}, {hi:.4f}]"
        for lo, hi in zip(board["test_low"], board["test_high"], strict=True)
    ])  # fmt: skip
    shown.insert(5, "vs pick", [_margin(row) for row in board.itertuples()])
    table = shown.to_string(index=False, float_format=lambda v: f"{v:.4f}")
    picked = board[(board["pick"] == "*") & (board["why"] != "")]
    return table + "".join(
        f"\npick (seed {row.seed}): {row.model}: {row.why}" for row in picked.itertuples()
    )
