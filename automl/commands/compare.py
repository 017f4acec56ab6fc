"""``automl.compare``: the command's comparison from Python and notebooks.

It runs exactly what ``automl budget=...`` runs, because it runs that command: the arguments become
the command line's overrides (a DataFrame or arrays are written once, under a name made of their
content, as the table the file dataset reads), the command runs in a child process with its worker,
hard limits, storage and resume, and its output goes to ``OUTPUT_DIR/compare.log`` rather than into
the cell; a tqdm bar shows the budget's time. A mistake the command would refuse in one line is
raised as :class:`automl.UserError` with that line. The result is read back from the storage, the
system of record, as a :class:`automl.commands.comparison.Comparison`.

This module imports nothing heavy at the top: ``import automl`` (a plugin's first line) stays cheap.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automl.plugin.errors import UserError

if TYPE_CHECKING:
    import pandas as pd

    from automl.commands.comparison import Comparison

ERROR = "automl: error: "  # how the command starts each line of a mistake it reports
LOG = "compare.log"
STOPPING = 30.0  # seconds an interrupted command has to record what finished and leave
KEYWORDS = {"null", "true", "false", "nan", "inf"}  # words Hydra reads as other than strings
TARGET = "target"  # the target column's name where the data come as arrays


def compare(
    data: Any,
    target: str | None = None,
    *,
    test: Any = None,
    budget: float | None = 60,
    learners: Sequence[str] | str | None = None,
    metric: str | None = None,
    seed: int = 0,
    storage: str | None = None,
    output_dir: str | os.PathLike = "results",
    **settings: Any,
) -> Comparison:
    """Compare learners on ``data`` and return the :class:`Comparison` (leaderboard, pick, model).

    The same run as the command ``automl dataset=... budget=...`` with the same settings: same
    checks, worker, limits, storage and resume (call it again after an interruption and it goes on
    where it stopped; call it again when finished and it reads the results back).

    Args:
        data: the training data: a pandas DataFrame (with ``target`` one of its columns); an
            ``(X, y)`` pair of arrays or frames; the path of a CSV, Parquet or ARFF table (with
            ``target`` its column, ``"target"`` by default); or a registered dataset's name
            (``"iris"``, ``"adult"``; ``automl-plugins`` lists them).
        target: the column to predict, for a DataFrame or a file; for ``(X, y)``, the name given
            to ``y`` (default ``"target"``).
        test: a test set of the same kind as ``data`` (a DataFrame, ``(X, y)`` or a path), scored
            once at the end and never seen by selection; ``None``: the usual seeded held-out split
            of ``data`` (``split.test_size``). A registered dataset brings its own.
        budget: seconds for the whole comparison (every learner, its refit and the ensemble);
            ``None`` runs each learner's own study of ``n_trials`` trials instead, as ``automl -m``.
        learners: the learners to compare (``["lightgbm", "svm"]``); ``None``: the default
            comparison (with a budget) or every classical learner (without).
        metric: the metric to rank and select by (``"accuracy"``, ``"rmse"``, ...); ``None``: the
            task's default.
        seed: the seed of the split, the searches and the learners.
        storage: an Optuna storage URL (``postgresql://...``) or journal file; ``None``:
            ``OUTPUT_DIR/automl.journal``.
        output_dir: where the storage, models, run folders, leaderboards
            (``OUTPUT_DIR/leaderboards``), the written data and ``compare.log`` go.
        **settings: any config key, as on the command line: ``validation="cv"``,
            ``trial={"timeout": 60}`` (nested keys as dicts), ``n_trials=20`` (for
            ``search.n_trials``), ``final="bag"``.

    Raises:
        automl.UserError: a mistake in the arguments or the data, with the command's message; a
            comparison where no learner produced a result.
    """
    folder = Path(output_dir).absolute()
    folder.mkdir(parents=True, exist_ok=True)
    overrides = _dataset(data, target, test, folder / "data")
    overrides += _learners(learners)
    if budget is not None:
        overrides.append(f"budget={_value(budget)}")
    if metric is not None:
        overrides.append(f"metric={_name(metric)}")
    if "n_trials" in settings:
        settings = {("search.n_trials" if k == "n_trials" else k): v for k, v in settings.items()}
    overrides += [f"seed={_value(seed)}", f"output_dir={_value(str(folder))}", "progress=false"]
    if storage is not None:
        overrides.append(f"storage={_value(str(storage))}")
    if not any(key.split(".")[0] == "leaderboard" for key in settings):
        overrides.append(f"leaderboard.dir={_value(str(folder / 'leaderboards'))}")
    overrides += _settings(settings)
    flags = ["-m"] if budget is None else []  # per-learner studies: a sweep over the learners
    began = time.time()
    errors = run([*flags, *overrides], budget, folder / LOG)
    studies = _studies(folder / "runs", began)
    if not studies:  # the command stopped before any job: a mistake it reported
        raise UserError(errors[0] if errors else f"automl ran no job; see {folder / LOG}")
    from automl.commands.comparison import Comparison

    url = str(storage) if storage is not None else str(folder / "automl.journal")
    comparison = Comparison.load(url, studies=studies)
    comparison.errors = errors
    if errors and comparison.pick is None:
        raise UserError(errors[0])
    if errors:
        warnings.warn(f"automl: {'; '.join(errors)}", stacklevel=2)
    return comparison


def _studies(runs: Path, since: float) -> list[str]:
    """The studies of the jobs this call ran: their records (``result.json``, one per job, in
    the run folders under ``runs``) written since ``since``."""
    import json

    from automl.commands.callbacks import RESULT_FILE

    found: list[str] = []
    for path in runs.glob(f"**/{RESULT_FILE}"):
        if path.stat().st_mtime < since:
            continue
        record = json.loads(path.read_text())
        found += [record["study"]] if "study" in record else record.get("studies", [])
    return found


def run(args: list[str], budget: float | None, log: Path) -> list[str]:
    """Run ``automl ARGS`` in a child process, its output appended to ``log``, with a progress
    bar over the budget's seconds; the error lines it printed (empty when it succeeded). An
    interrupt (Ctrl-C, a notebook's stop button) stops it as Ctrl-C stops the command: what
    finished is kept, and the same call resumes."""
    with warnings.catch_warnings():  # without ipywidgets tqdm.auto warns, then draws text
        warnings.simplefilter("ignore")
        from tqdm.auto import tqdm

    command = [sys.executable, "-m", "automl.commands.start", *args]
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    env["PYTHONUNBUFFERED"] = "1"  # its error lines whole, in order, in the shared log
    start = log.stat().st_size if log.is_file() else 0
    with log.open("a") as out:
        out.write(f"$ automl {' '.join(args)}\n")
        out.flush()
        # Its own session: a terminal's Ctrl-C reaches it once, from here, not twice.
        child = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            preexec_fn=_die_with_parent,
        )  # fmt: skip
        # The bar's length is the budget where it is one (the command itself checks it).
        total = float(budget) if isinstance(budget, (int, float)) and budget > 0 else None
        shape = "{desc}: {n:.0f}/{total:.0f} s |{bar}|" if total else "{desc}: {n:.0f} s"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bar = tqdm(total=total, desc="automl", leave=False, bar_format=shape)
        began = time.monotonic()
        try:
            while child.poll() is None:
                time.sleep(0.25)
                elapsed = time.monotonic() - began
                bar.n = min(elapsed, total) if total else elapsed
                bar.refresh()
        except BaseException:
            _stop(child)
            raise
        finally:
            bar.close()
    with log.open() as written:
        written.seek(start)
        lines = written.read().splitlines()
    errors = [line[len(ERROR) :] for line in lines if line.startswith(ERROR)]
    if child.returncode and not errors:
        errors = [f"automl exited with status {child.returncode}; its output is in {log}"]
    return errors if child.returncode else []


def _stop(child: subprocess.Popen) -> None:
    """Stop the command as Ctrl-C does (it records what finished and leaves), and kill it if it
    has not left within STOPPING seconds, whatever interrupts the wait."""
    try:
        child.send_signal(signal.SIGINT)
        child.wait(timeout=STOPPING)
    except BaseException:
        pass
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def _die_with_parent() -> None:
    """In the command's process before it starts (Linux): SIGKILL it when the process that called
    compare dies (a notebook's kernel killed or restarted), so that no orphan goes on writing to
    the storage beside the next call; the killed command resumes as after any SIGKILL."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _dataset(data: Any, target: str | None, test: Any, folder: Path) -> list[str]:
    """The dataset's overrides: a registered dataset by name, or a table by its file."""
    if isinstance(data, str) and not _looks_like_path(data):
        if test is not None:
            raise UserError(
                f"test=...: the registered dataset '{data}' brings its own test split; "
                "give data as a table (a DataFrame, (X, y) or a file) to pass test"
            )
        if target is not None:
            raise UserError(
                f"target=...: the registered dataset '{data}' has its own target; target names "
                "the column of a table"
            )
        return [f"dataset={_name(data)}"]
    column = target if target is not None else TARGET
    path = _table(data, target, folder, "train")
    overrides = ["dataset=file", f"dataset.path={_value(str(path))}",
                 f"dataset.target={_value(column)}"]  # fmt: skip
    if test is not None:
        overrides.append(f"dataset.test_path={_value(str(_table(test, column, folder, 'test')))}")
    return overrides


def _looks_like_path(text: str) -> bool:
    return Path(text).exists() or "/" in text or os.sep in text or bool(Path(text).suffix)


def _table(data: Any, target: str | None, folder: Path, role: str) -> Path:
    """The file a table is read from: a path as given, or a frame written once as Parquet under a
    name made of its content (the same frame again is the same file, the same study)."""
    if isinstance(data, (str, os.PathLike)):
        path = Path(data)
        if not path.is_file():
            raise UserError(
                f"{'data' if role == 'train' else 'test'}={data}: no such file (data is a "
                "DataFrame, an (X, y) pair, a table's path, or a registered dataset's name)"
            )
        return path.absolute()
    frame = _frame(data, target, role)
    import pandas as pd

    digest = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    digest.update(repr([(str(c), str(t)) for c, t in frame.dtypes.items()]).encode())
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"frame_{digest.hexdigest()[:10]}_{role}.parquet"
    if not path.is_file():
        frame.to_parquet(path.with_suffix(".tmp"), index=False)
        path.with_suffix(".tmp").replace(path)
    return path


def _frame(data: Any, target: str | None, role: str) -> pd.DataFrame:
    """A DataFrame with the target as a column, from a frame or an (X, y) pair."""
    import numpy as np
    import pandas as pd

    what = "data" if role == "train" else "test"
    if isinstance(data, pd.DataFrame):
        if target is None:
            raise UserError(f"target=...: name the column of {what} to predict; its columns are "
                            f"{', '.join(map(str, data.columns[:10]))}")  # fmt: skip
        if target not in data.columns:
            raise UserError(f"target={target!r} is not a column of {what}; its columns are "
                            f"{', '.join(map(str, data.columns[:10]))}")  # fmt: skip
        return data.reset_index(drop=True)
    if isinstance(data, (tuple, list)) and len(data) == 2:
        X, y = data
        X = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X))
        if X.ndim != 2:
            raise UserError(f"{what}: X must be 2-dimensional (rows × columns), got {X.ndim}")
        X = X.reset_index(drop=True)
        if not isinstance(data[0], pd.DataFrame):
            X.columns = [f"x{i}" for i in range(X.shape[1])]
        y = pd.Series(np.asarray(y).ravel())
        if len(y) != len(X):
            raise UserError(f"{what}: X has {len(X)} rows but y has {len(y)} values")
        column = target if target is not None else TARGET
        if column in X.columns:
            raise UserError(f"{what}: X already has a column {column!r}; name y with target=...")
        return X.assign(**{column: y.to_numpy()})
    raise UserError(
        f"{what}: a {type(data).__name__} is not a table; give a DataFrame, an (X, y) pair, a "
        "table's path, or a registered dataset's name"
    )


def _learners(learners: Sequence[str] | str | None) -> list[str]:
    if learners is None:
        return []
    names = [learners] if isinstance(learners, str) else list(learners)
    if not names:
        raise UserError(
            "learners=[]: name at least one learner, or None for the default comparison"
        )
    return [f"model={','.join(_name(n) for n in names)}"]


def _settings(settings: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Config keys as overrides, nested dicts as dotted keys."""
    out: list[str] = []
    for key, value in settings.items():
        if isinstance(value, Mapping):
            out += _settings(value, f"{prefix}{key}.")
        else:
            out.append(f"{prefix}{key}={_value(value)}")
    return out


def _name(value: str) -> str:
    """A registered name (a learner, dataset or metric) as an override's value: as it is where
    Hydra reads it as that string (the command checks names as typed: a quoted sweep's values
    keep their quotes), quoted otherwise."""
    text = str(value)
    plain = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", text) and text.lower() not in KEYWORDS
    return text if plain else _value(text)


def _value(value: Any) -> str:
    """A Python value as Hydra's override grammar reads it: a string always quoted (so that a
    column named ``1`` or ``null`` stays a string, and any path or character is read as it is)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_value(v) for v in value) + "]"
    if isinstance(value, (int, float)):
        return repr(value)
    # In a quoted string Hydra reads a backslash as itself, except in a run that ends at a quote
    # or at the string's end, where each stands for two: only those runs are doubled.
    text = re.sub(r"(\\*)'", lambda m: m.group(1) * 2 + "\\'", str(value))
    text = re.sub(r"(\\+)$", lambda m: m.group(1) * 2, text)
    return f"'{text}'"
