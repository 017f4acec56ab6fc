"""A budget comparison killed and resumed, as a user would: ``automl dataset=D budget=B`` started and
killed (SIGKILL of its process group) ``--kills`` times at random moments, then the same command run
to its end. Prints a table, one row per try: the kill moments, the last run's exit status and
seconds, the seconds of all runs together against the budget, what the comparison recorded as used,
and the pick with its test score and whether its model was saved.

    python benchmarks/killed.py --dataset breast_cancer --budget 40 --kills 3 --tries 10

Each try runs in a fresh folder under ``--folder`` (a temporary one by default), with the default
journal storage. The kill moments are drawn from ``--between`` (seconds after each launch) with
``--seed``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pandas as pd


def _command(folder: Path, dataset: str, budget: float) -> list[str]:
    automl = shutil.which("automl")
    if automl is None:
        raise SystemExit("killed.py: the automl command is not installed (pip install -e .)")
    return [automl, f"dataset={dataset}", f"budget={budget:g}", f"output_dir={folder / 'results'}",
            f"leaderboard.dir={folder / 'lb'}", "progress=false"]  # fmt: skip


def _killed(command: list[str], folder: Path, after: float) -> float:
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=folder, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        process.wait(timeout=after)  # it may finish first
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    return time.monotonic() - started


def _try(folder: Path, args: argparse.Namespace, rng: random.Random) -> dict[str, object]:
    command = _command(folder, args.dataset, args.budget)
    moments = [rng.uniform(*args.between) for _ in range(args.kills)]
    seconds = [_killed(command, folder, after) for after in moments]
    started = time.monotonic()
    last = subprocess.run(command, cwd=folder, capture_output=True, text=True)
    seconds.append(time.monotonic() - started)
    boards = sorted((folder / "lb").glob("*.csv"))
    board = pd.read_csv(boards[0]) if boards else pd.DataFrame()
    picks = board[board["pick"] == "*"] if len(board) else board
    pick = picks.iloc[0] if len(picks) else None
    ensemble = board[board["model"] == "ensemble"] if len(board) else board
    used = json.loads(ensemble.iloc[0]["allocation"]).get("used") if len(ensemble) else None
    saved = pick is not None and isinstance(pick["model_path"], str)
    return {
        "kills at (s)": ", ".join(f"{m:.1f}" for m in moments),
        "last run": f"exit {last.returncode}, {seconds[-1]:.1f} s",
        "all runs (s)": round(sum(seconds), 1),
        "÷ budget": round(sum(seconds) / args.budget, 2),
        "recorded used (s)": used,
        "pick": None if pick is None else pick["model"],
        "test score": None if pick is None else pick["test_score"],
        "saved": saved and Path(pick["model_path"]).is_file(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="breast_cancer")
    parser.add_argument("--budget", type=float, default=40)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--tries", type=int, default=10)
    parser.add_argument("--between", type=float, nargs=2, default=(4.0, 12.0))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--folder", type=Path, default=None)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    root = args.folder or Path(tempfile.mkdtemp(prefix="killed-"))
    rows = []
    for k in range(args.tries):
        folder = root / f"try{k}"
        folder.mkdir(parents=True, exist_ok=True)
        rows.append({"try": k, **_try(folder, args, rng)})
        print(pd.DataFrame(rows[-1:]).to_string(index=False, header=k == 0), flush=True)
    table = pd.DataFrame(rows)
    print()
    print(table.to_markdown(index=False))
    handed = int(table["saved"].sum())
    print(f"\n{handed} of {len(table)} tries handed over a saved pick; all runs took "
          f"{table['÷ budget'].min():.2f} to {table['÷ budget'].max():.2f} times the budget")  # fmt: skip


if __name__ == "__main__":
    main()
