"""``automl-report``: one self-contained HTML report, and a Markdown one with linked images, from
any storage URL.

The report opens with each dataset's pick at a glance; across datasets (two or more) a heat map of
normalised scores, Elo with its interval, the critical-difference diagram and the comparison table;
then per dataset each learner's test score with its interval (the pick marked, the rows not
distinguishable from it shaded), the leaderboard (sortable; hyperparameters folded away), score
against fit time with the Pareto front, the pick's saved model and feature importances, each study's
search, and for every row the exact command and resolved config that produced it. Everything that
comes from data or plugins is escaped: a dataset named ``<script>`` is shown, never run.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import optuna
import pandas as pd
from optuna.storages import BaseStorage

from automl._version import __version__
from automl.plugin.errors import UserError
from automl.storage.urls import open_storage, redact
from automl.views import across, figures, leaderboard
from automl.views.report_html import (
    board_table,
    comparison_table,
    escape,
    image,
    interval,
    number,
    page,
    sortable,
)

# Columns a board may lack (made by an older harness): what a missing one means, no data.
OPTIONAL = {
    "test_low": math.nan, "test_high": math.nan, "margin_low": math.nan, "margin_high": math.nan,
    "indistinct": None, "importance": "{}", "model_path": "",
}  # fmt: skip


@dataclass
class _Parts:
    """The report as it grows: HTML, Markdown, and the images both show."""

    html: list[str] = field(default_factory=list)
    md: list[str] = field(default_factory=list)
    images: dict[str, bytes] = field(default_factory=dict)

    def image(self, png: bytes, alt: str, *names: str, caption: str = "") -> str:
        """Keep ``png`` as an image file linked from the Markdown; its inline HTML figure."""
        name = _name(*names)
        self.images[name] = png
        self.md.append(f"![{alt}](img/{name})\n")
        return image(png, alt, caption)


def _name(*parts: str) -> str:
    """A file name for an image: readable, and distinct even where names differ only in symbols."""
    text = "-".join(parts)
    digest = hashlib.sha1(text.encode()).hexdigest()[:8]
    return f"{re.sub(r'[^A-Za-z0-9._-]+', '_', text)[:60]}-{digest}.png"


def _anchor(dataset: str, metric: str) -> str:
    return "d-" + hashlib.sha1(f"{dataset}\0{metric}".encode()).hexdigest()[:10]


def _complete(board: pd.DataFrame) -> pd.DataFrame:
    """``board`` with every optional column, missing ones as no data."""
    board = board.copy()
    for column, empty in OPTIONAL.items():
        if column not in board:
            board[column] = pd.Series([empty] * len(board), index=board.index, dtype="object")
        elif isinstance(empty, str):
            board[column] = board[column].fillna(empty).astype(str)
    for column in ("test_low", "test_high", "margin_low", "margin_high"):
        board[column] = pd.to_numeric(board[column], errors="coerce")
    return board


def _summary(boards: dict[tuple[str, str], pd.DataFrame]) -> str:
    """One row per leaderboard and seed: its pick, and how many rows it cannot be told from."""
    rows = []
    for (dataset, metric), board in boards.items():
        for pick in board[board["pick"] == "*"].itertuples():
            seed = board[board["seed"] == pick.seed]
            same = sum(figures.indistinct(v) for v in seed["indistinct"])
            rows.append(
                f'<tr><td><a href="#{_anchor(dataset, metric)}">{escape(dataset)}</a></td>'
                f"<td>{escape(metric)}</td><td>{escape(pick.model)}</td>"
                + number(pick.test_score, interval(pick.test_score, pick.test_low, pick.test_high))
                + number(same, str(same))
                + number(len(seed), str(len(seed)))
                + number(pick.seed, str(pick.seed))
                + "</tr>"
            )
    headings = ["dataset", "metric", "pick", "test score [95% CI]",
                "not distinguishable from it", "learners", "seed"]  # fmt: skip
    return "<h2>At a glance</h2>" + sortable(headings, rows, "summary")


def _across(frame: pd.DataFrame, parts: _Parts) -> None:
    board = across.aggregate(frame)
    parts.md.append("## Across datasets\n\n" + across.render(board) + "\n")
    heat = parts.image(
        figures.heatmap(across.normalised(frame)), "normalised scores", "normalised",
        caption="Per dataset, 0 = the dummy baseline (or the worst), 1 = the best; grey: not run.",
    )  # fmt: skip
    elo = parts.image(
        figures.elo(board), "Elo ratings", "elo",
        caption="Bradley-Terry fit to every pairwise result; 95% bootstrap interval over datasets.",
    )  # fmt: skip
    parts.html.append(f'<h2>Across datasets</h2><div class="figures">{heat}{elo}</div>')
    cd = across.critical_difference(frame)
    if cd is not None:
        caption = "Mean rank (best left); a bar joins learners closer than the critical difference."
        parts.html.append(
            parts.image(
                figures.cd_diagram(cd),
                "critical-difference diagram",
                "critical-difference",
                caption=caption,
            )  # fmt: skip
        )
    parts.html.append(comparison_table(board))


def _pick_panel(board: pd.DataFrame, dataset: str, metric: str, parts: _Parts) -> None:
    """Where each seed's pick was saved, how to use it, and what its score depends on."""
    for row in board[board["pick"] == "*"].itertuples():
        found = json.loads(row.importance or "{}")
        score = interval(row.test_score, row.test_low, row.test_high)
        text = (
            f"<h3>The pick: {escape(row.model)} (seed {escape(row.seed)})</h3>"
            f"<p>Validation score {row.val_score:.4f}; test {escape(metric)} {score}.</p>"
            + (
                f"<p>Why: {escape(why)}.</p>"
                if isinstance(why := getattr(row, "why", ""), str) and why
                else ""
            )
        )
        if row.model_path:
            model = shlex.quote(str(leaderboard.readable_path(row.model_path)))
            command = f"automl-predict --model {model} --data new.csv"
            text += (
                "<p>Saved with its preprocessing; predict new rows with</p>"
                f"<pre>{escape(command)}</pre>"
            )
            parts.md.append(f"Pick (seed {row.seed}): {row.model}, `{command}`\n")
        if found.get("skipped"):
            text += f"<p>Permutation importance {escape(found['skipped'])}.</p>"
        chart = figures.importance(found, f"why {row.model} scores")
        if chart is not None:
            caption = "Permutation importance on the test split" + (
                "; the learner's own beside it." if found.get("native") else "."
            )
            chart_html = parts.image(chart, f"feature importance of {row.model}", "importance",
                                     dataset, metric, str(row.seed), caption=caption)  # fmt: skip
        else:
            chart_html = "<p>No feature importances were recorded for this model.</p>"
        parts.html.append(f'<div class="winner"><div>{text}</div>{chart_html}</div>')


def _rerun(board: pd.DataFrame) -> str:
    items = []
    for row in board.itertuples():
        config = json.dumps(json.loads(row.config or "{}"), indent=1, sort_keys=True)
        items.append(
            f"<details><summary>{escape(row.model)} (seed {row.seed}): re-run</summary>"
            f"<pre>{escape(row.command or 'command not recorded')}</pre>"
            f"<pre>{escape(config)}</pre>"
            f"<p>{escape(row.device)}; {escape(row.versions)}</p></details>"
        )
    return "<h3>How each row was made</h3>" + "".join(items)


KEY = (
    '<p class="key"><span class="pick">★ the pick (chosen on validation)</span>'
    '<span class="indistinct">≈ not distinguishable from it on the test split</span>'
    "click a column heading to sort, a parameter count to see the values</p>"
)


def _dataset(
    board: pd.DataFrame, dataset: str, metric: str, storage: BaseStorage, parts: _Parts
) -> None:
    maximize = board["direction"].iloc[0] == "maximize"
    title = f"{dataset} · {metric} ({'higher' if maximize else 'lower'} is better)"
    parts.html.append(f'<h2 id="{_anchor(dataset, metric)}">{escape(title)}</h2>')
    shown = board[[c for c in leaderboard.COLUMNS if c in board]]
    parts.md.append(f"## {title}\n\n{shown.to_markdown(index=False)}\n")
    parts.md += [f"- {r.model} (seed {r.seed}): `{r.command}`" for r in board.itertuples()]
    parts.md.append("")
    scores = parts.image(
        figures.scores(board, metric), f"{dataset}: test scores with intervals", "scores",
        dataset, metric, caption="Test score with its 95% bootstrap interval over the test rows.",
    )  # fmt: skip
    front = parts.image(
        figures.pareto(board, metric, maximize), f"{dataset}: test score against fit time",
        "pareto", dataset, metric, caption="Test score against the final fit's time; Pareto front.",
    )  # fmt: skip
    parts.html.append(f'<div class="figures">{scores}{front}</div>')
    parts.html.append(KEY + board_table(board, f"board-{dataset}"))
    _pick_panel(board, dataset, metric, parts)
    searches = []
    for row in board.itertuples():
        study = optuna.load_study(study_name=row.study, storage=storage)
        searches.append(
            f"<h4>{escape(row.model)}</h4>"
            + parts.image(
                figures.search(study, maximize), f"search of {row.model}", "search", row.study
            )
        )
    parts.html.append(
        "<details><summary>The search of each study</summary>" + "".join(searches) + "</details>"
    )
    parts.html.append(_rerun(board))


def build(url: str, folder: str | Path, datasets: list[str] | None = None) -> list[Path]:
    """Write ``report.html`` (self-contained), ``report.md`` and ``img/``; return the paths."""
    storage = open_storage(url)
    frame = leaderboard.latest(leaderboard.rows(storage, where=leaderboard.home(url)))
    if datasets:
        frame = frame[frame["dataset"].isin(datasets)]
    if frame.empty:
        raise UserError(f"storage {redact(url)} holds no automl studies to report")
    folder = Path(folder)
    (folder / "img").mkdir(parents=True, exist_ok=True)
    source = redact(url)
    when = leaderboard.stamp()
    boards = {key: _complete(b) for key, b in leaderboard.rank(frame).items()}
    links = " ".join(f'<a href="#{_anchor(d, m)}">{escape(d)}</a>' for d, m in boards)
    parts = _Parts(
        html=[
            f"<h1>automl report</h1><p class='lead'>{len(boards)} leaderboard(s) from "
            f"<code>{escape(source)}</code>; automl {__version__}; built {when}.</p>"
            f"<nav>{links}</nav>",
            _summary(boards),
        ],
        md=[f"# automl report\n\nFrom `{source}`; automl {__version__}; built {when}.\n"],
    )
    if frame["dataset"].nunique() >= 2:
        _across(frame, parts)
    for (dataset, metric), board in boards.items():
        _dataset(board, dataset, metric, storage, parts)

    paths = []
    for name, png in parts.images.items():
        (folder / "img" / name).write_bytes(png)
        paths.append(folder / "img" / name)
    (folder / "report.html").write_text(page("".join(parts.html)))
    (folder / "report.md").write_text("\n".join(parts.md) + "\n")
    return [folder / "report.html", folder / "report.md", *paths]
