"""``automl-leaderboard``: rebuild leaderboards from a storage alone, without re-running anything."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from automl.plugin.errors import UserError
from automl.storage.urls import DEFAULT_FILE
from automl.views.publish import rebuild, summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="automl-leaderboard", description=__doc__)
    parser.add_argument(
        "--storage", default=str(Path("results") / DEFAULT_FILE),
        help="Optuna storage URL or journal file (default: results/automl.journal)",
    )  # fmt: skip
    parser.add_argument(
        "--dir", default="leaderboards", help="output folder (default: leaderboards)"
    )
    parser.add_argument("--dataset", action="append", help="only this dataset (repeatable)")
    parser.add_argument("--quiet", action="store_true", help="write files without printing tables")
    parser.add_argument(
        "--all", action="store_true",
        help="a row per study; by default only the latest study of each (model, seed) is shown",
    )  # fmt: skip
    parser.add_argument(
        "--format", choices=["leaderboard", "amlb"], default="leaderboard",
        help="leaderboard: Markdown and CSV per dataset (default); amlb: the AutoML Benchmark's "
        "results.csv columns, one row per learner and one for the pick, in DIR/amlb/",
    )  # fmt: skip
    args = parser.parse_args(argv)
    try:
        paths = rebuild(
            args.storage, args.dir, args.dataset, show=not args.quiet and args.format != "amlb",
            every=args.all, form=args.format,
        )  # fmt: skip
    except UserError as error:
        print(f"automl-leaderboard: error: {error}", file=sys.stderr)
        sys.exit(2)
    print(f"AutoML Benchmark results: {paths[0]}" if args.format == "amlb" else summary(paths))


if __name__ == "__main__":
    main()
