"""Publishing results: the one way every command writes and shows what a storage holds.

``automl`` (for the studies of its sweep), ``automl-leaderboard`` (for a whole storage) and
``automl-report`` select rows with :func:`automl.views.leaderboard.rows`; ``automl`` and
``automl-leaderboard`` then :func:`publish` them: each leaderboard printed when asked and written as
``<dataset>-<metric>.csv`` and ``.md``, every result in ``results.csv`` (long format), and across
two datasets or more ``comparison.csv`` and ``.md``; or, in the AutoML Benchmark's format
(:mod:`automl.views.amlb`), ``amlb/results.csv``. The report renders the same rows as one page.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from automl.plugin.errors import UserError
from automl.storage.urls import JOURNAL_SUFFIXES, open_storage, redact
from automl.views import across, amlb, leaderboard


def show(boards: dict[tuple[str, str], pd.DataFrame]) -> None:
    """Print each leaderboard in the terminal."""
    for (dataset, metric), board in boards.items():
        print(f"\n{dataset} · {metric}\n{leaderboard.render(board)}")


def publish(frame: pd.DataFrame, folder: str | Path, source: str, *, printed: bool) -> list[Path]:
    """Rank ``frame``'s rows (from ``leaderboard.rows``), print the leaderboards if ``printed``,
    and write every file of them into ``folder``; ``source`` is the storage as shown (masked).
    Returns the paths written."""
    boards = leaderboard.rank(frame)
    if printed:
        show(boards)
    return leaderboard.write(boards, folder, source) + across.write(frame, folder, source)


def summary(paths: list[Path]) -> str:
    """The closing line that names the Markdown files written."""
    return f"\nleaderboards: {', '.join(str(p) for p in paths if p.suffix == '.md')}"


def rebuild(
    url: str,
    folder: str,
    datasets: list[str] | None,
    show: bool,
    every: bool = False,
    form: str = "leaderboard",
) -> list[Path]:
    """The leaderboards of the storage at ``url`` written into ``folder`` (and printed with
    ``show``): the latest study of each learner (every study with ``every``), of ``datasets`` or
    all; with ``form="amlb"``, their rows as the AutoML Benchmark's ``folder/amlb/results.csv``."""
    if url.endswith(JOURNAL_SUFFIXES) and not Path(url.removeprefix("journal:")).is_file():
        raise UserError(f"no storage at '{url}'; give --storage PATH.journal or a database URL")
    frame = leaderboard.rows(open_storage(url), where=leaderboard.home(url))
    if not every:
        frame = leaderboard.latest(frame)
    if datasets:
        frame = frame[frame["dataset"].isin(datasets)]
    if frame.empty:
        wanted = f" for dataset {', '.join(datasets)}" if datasets else ""
        raise UserError(f"storage {redact(url)} holds no automl studies{wanted}")
    if form == "amlb":
        return [amlb.write(leaderboard.rank(frame), Path(folder) / "amlb")]
    return publish(frame, folder, redact(url), printed=show)
