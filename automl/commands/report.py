"""``automl-report``: the report of a storage, as one self-contained HTML page and a Markdown page
with linked images (:mod:`automl.views.report` builds it)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from automl.plugin.errors import UserError
from automl.storage.urls import DEFAULT_FILE
from automl.views.report import build


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="automl-report", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--storage", default=str(Path("results") / DEFAULT_FILE),
        help="Optuna storage URL or journal file (default: results/automl.journal)",
    )  # fmt: skip
    parser.add_argument("--out", default="report", help="output folder (default: report)")
    parser.add_argument("--dataset", action="append", help="only this dataset (repeatable)")
    args = parser.parse_args(argv)
    try:
        paths = build(args.storage, args.out, args.dataset)
    except UserError as error:
        print(f"automl-report: error: {error}", file=sys.stderr)
        sys.exit(2)
    print(f"report: {paths[0]} (and {paths[1]}, {len(paths) - 2} images)")


if __name__ == "__main__":
    main()
