"""``automl-report``: one self-contained HTML report, and a Markdown one with linked images, from any
storage URL.

The report holds the comparison across datasets (automl.compare) with its critical-difference
diagram, then each dataset's leaderboard as a table that sorts on a click, score against fit time
with the Pareto front, each study's search (best so far against trials and time, hyperparameter
importances), and for every row the exact command and resolved config that produced it. Everything
that comes from data or plugins is escaped: a dataset named ``<script>`` is shown, never run.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import json
import re
import sys
from pathlib import Path

import optuna
import pandas as pd

from automl import __version__, compare, figures, leaderboard
from automl.errors import UserError
from automl.storage import DEFAULT_FILE, open_storage, redact

SORTER = """
document.querySelectorAll("table.sortable th").forEach((th) => {
  th.addEventListener("click", () => {
    const table = th.closest("table");
    const body = table.tBodies[0];
    const column = Array.from(th.parentNode.children).indexOf(th);
    const ascending = th.dataset.order !== "ascending";
    table.querySelectorAll("th").forEach((other) => { delete other.dataset.order; });
    th.dataset.order = ascending ? "ascending" : "descending";
    const key = (row) => {
      const cell = row.children[column];
      const number = parseFloat(cell.dataset.sort);
      return Number.isNaN(number) ? cell.textContent.trim() : number;
    };
    const rows = Array.from(body.rows).sort((a, b) => {
      const x = key(a), y = key(b);
      const order = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
      return ascending ? order : -order;
    });
    rows.forEach((row) => body.appendChild(row));
  });
});
"""

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; cursor: pointer; user-select: none; }
th[data-order=ascending]::after { content: " \\25B2"; }
th[data-order=descending]::after { content: " \\25BC"; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
pre { white-space: pre-wrap; font-size: 0.85em; max-width: 60em; }
img { max-width: 100%; }
"""


def _name(*parts: str) -> str:
    """A file name for an image: readable, and distinct even where names differ only in symbols."""
    text = "-".join(parts)
    digest = hashlib.sha1(text.encode()).hexdigest()[:8]
    return f"{re.sub(r'[^A-Za-z0-9._-]+', '_', text)[:60]}-{digest}.png"


def _cell(value: object, digits: int = 4) -> str:
    if isinstance(value, float):
        if pd.isna(value):
            return '<td class="number" data-sort=""></td>'
        return f'<td class="number" data-sort="{value!r}">{value:.{digits}f}</td>'
    if isinstance(value, int):
        return f'<td class="number" data-sort="{value}">{value}</td>'
    return f"<td>{html.escape(str(value))}</td>"


def _table(frame: pd.DataFrame, table_id: str) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(_cell(_plain(v)) for v in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return (
        f'<table class="sortable" id="{html.escape(table_id)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


def _plain(value: object) -> object:
    """numpy and pandas scalars as Python ones, so that cells format by kind."""
    if hasattr(value, "item") and not isinstance(value, str):
        return value.item()
    return value


def _image(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode()
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'


def _rerun(board: pd.DataFrame) -> str:
    items = []
    for row in board.itertuples():
        config = json.dumps(json.loads(row.config or "{}"), indent=1, sort_keys=True)
        items.append(
            f"<details><summary>{html.escape(str(row.model))} (seed {row.seed}): re-run</summary>"
            f"<pre>{html.escape(row.command or 'command not recorded')}</pre>"
            f"<pre>{html.escape(config)}</pre>"
            f"<p>{html.escape(str(row.device))}; {html.escape(str(row.versions))}</p></details>"
        )
    return "".join(items)


def build(url: str, folder: str | Path, datasets: list[str] | None = None) -> list[Path]:
    """Write ``report.html`` (self-contained), ``report.md`` and ``img/``; return the paths."""
    storage = open_storage(url)
    frame = leaderboard.latest(leaderboard.rows(storage))
    if datasets:
        frame = frame[frame["dataset"].isin(datasets)]
    if frame.empty:
        raise UserError(f"storage {redact(url)} holds no automl studies to report")
    folder = Path(folder)
    (folder / "img").mkdir(parents=True, exist_ok=True)
    source = redact(url)
    when = leaderboard.stamp()
    boards = leaderboard.rank(frame)
    images: dict[str, bytes] = {}
    html_parts = [
        f"<h1>automl report</h1><p>{len(boards)} leaderboard(s) from "
        f"<code>{html.escape(source)}</code>; automl {__version__}; built {when}. Click a column "
        "heading to sort.</p>"
    ]
    md_parts = [f"# automl report\n\nFrom `{source}`; automl {__version__}; built {when}.\n"]

    if frame["dataset"].nunique() >= 2:
        board = compare.aggregate(frame)
        shown = board.drop(columns=["seed_sd"]).round(4)
        html_parts.append("<h2>Across datasets</h2>" + _table(shown, "comparison"))
        md_parts.append("## Across datasets\n\n" + compare.render(board) + "\n")
        cd = compare.critical_difference(frame)
        if cd is not None:
            name = _name("critical-difference")
            images[name] = figures.cd_diagram(cd)
            html_parts.append(_image(images[name], "critical-difference diagram"))
            md_parts.append(f"![critical-difference diagram](img/{name})\n")

    for (dataset, metric), board in boards.items():
        maximize = board["direction"].iloc[0] == "maximize"
        title = f"{dataset} · {metric} ({'higher' if maximize else 'lower'} is better)"
        shown = board[leaderboard.COLUMNS]
        html_parts.append(f"<h2>{html.escape(title)}</h2>" + _table(shown, f"board-{dataset}"))
        html_parts.append(_rerun(board))
        md_parts.append(f"## {title}\n\n{shown.to_markdown(index=False)}\n")
        md_parts += [f"- {r.model} (seed {r.seed}): `{r.command}`" for r in board.itertuples()]
        name = _name("pareto", dataset, metric)
        images[name] = figures.pareto(board, metric, maximize)
        html_parts.append(_image(images[name], f"{dataset}: test score against fit time"))
        md_parts.append(f"\n![score against fit time](img/{name})\n")
        searches = []
        for row in board.itertuples():
            study = optuna.load_study(study_name=row.study, storage=storage)
            name = _name("search", row.study)
            images[name] = figures.search(study, maximize)
            searches.append((row.model, name))
            md_parts.append(f"![search of {row.model}](img/{name})")
        html_parts.append(
            "<details><summary>The search of each study</summary>"
            + "".join(
                f"<h3>{html.escape(str(model))}</h3>" + _image(images[n], f"search of {model}")
                for model, n in searches
            )
            + "</details>"
        )

    paths = []
    for name, png in images.items():
        (folder / "img" / name).write_bytes(png)
        paths.append(folder / "img" / name)
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>automl report</title>'
        f"<style>{STYLE}</style></head><body>{''.join(html_parts)}"
        f"<script>{SORTER}</script></body></html>\n"
    )
    (folder / "report.html").write_text(page)
    (folder / "report.md").write_text("\n".join(md_parts) + "\n")
    return [folder / "report.html", folder / "report.md", *paths]


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
