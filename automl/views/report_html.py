"""The report's HTML: the page around its parts, tables that sort on a click, and the cells a reader
wants instead of raw numbers (readable times, scores with their interval, hyperparameters folded
away). Every text that comes from data or plugins goes through ``html.escape`` here."""

from __future__ import annotations

import base64
import html
import json
import math
from typing import Any

import pandas as pd

from automl.views.figures import DISTINCT, INDISTINCT, PICK, indistinct

SORTER = """
document.querySelectorAll("table.sortable > thead th").forEach((th) => {
  th.addEventListener("click", () => {
    const table = th.closest("table");
    const body = table.tBodies[0];
    const column = Array.from(th.parentNode.children).indexOf(th);
    const ascending = th.dataset.order !== "ascending";
    table.querySelectorAll(":scope > thead th").forEach((other) => { delete other.dataset.order; });
    th.dataset.order = ascending ? "ascending" : "descending";
    const key = (row) => {
      const cell = row.children[column];
      const number = parseFloat(cell.dataset.sort);
      return Number.isNaN(number) ? cell.textContent.trim() : number;
    };
    const rows = Array.from(body.rows).sort((a, b) => {
      const x = key(a), y = key(b);
      const order = typeof x === "number" && typeof y === "number" ? x - y
        : typeof x === "number" ? -1 : typeof y === "number" ? 1
        : String(x).localeCompare(String(y));
      return ascending ? order : -order;
    });
    rows.forEach((row) => body.appendChild(row));
  });
});
"""

STYLE = (
    f":root {{ --pick: {PICK}; --indistinct: {INDISTINCT}; --distinct: {DISTINCT}; }}"
    + """
body { font-family: system-ui, sans-serif; margin: 0 auto; padding: 1.5em 2em; max-width: 78em;
       color: #1f2328; line-height: 1.45; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 2.2em; border-bottom: 2px solid #e6e6e6; }
.lead { color: #57606a; }
nav a { margin-right: 1em; white-space: nowrap; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.88em; }
th, td { border-bottom: 1px solid #e1e4e8; padding: 0.3em 0.5em; text-align: left;
         vertical-align: top; }
thead th { background: #f6f8fa; cursor: pointer; user-select: none; white-space: nowrap;
           border-bottom: 2px solid #d0d7de; }
th[data-order=ascending]::after { content: " \\25B2"; }
th[data-order=descending]::after { content: " \\25BC"; }
td.number { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.ci { color: #6e7781; font-size: 0.92em; }
tr.pick { background: color-mix(in srgb, var(--pick) 16%, white); font-weight: 600; }
tr.pick td:first-child { box-shadow: inset 4px 0 var(--pick); }
tr.indistinct { background: color-mix(in srgb, var(--indistinct) 16%, white); }
.key span { display: inline-block; padding: 0 0.5em; margin-right: 0.6em; border-radius: 3px; }
.key .pick { background: color-mix(in srgb, var(--pick) 16%, white); font-weight: 600; }
.key .indistinct { background: color-mix(in srgb, var(--indistinct) 16%, white); }
details > summary { cursor: pointer; color: #0969da; }
td details > summary { white-space: nowrap; }
dl.params { display: grid; grid-template-columns: auto auto; gap: 0 0.8em; margin: 0.3em 0;
            font-weight: normal; }
dl.params dt { color: #57606a; } dl.params dd { margin: 0; font-variant-numeric: tabular-nums; }
.figures { display: flex; flex-wrap: wrap; gap: 1.5em; align-items: flex-start; }
figure { margin: 0.5em 0; } figcaption { color: #57606a; font-size: 0.85em; max-width: 40em; }
.winner { border-left: 4px solid var(--pick); padding: 0.2em 1em; background: #fbfbfb;
          display: flex; flex-wrap: wrap; gap: 0 2em; align-items: flex-start; }
.winner > div { flex: 1 1 24em; }
pre, code { font-size: 0.85em; } pre { white-space: pre-wrap; max-width: 70em; }
img { max-width: 100%; }
.wide { overflow-x: auto; }
"""
)


def escape(value: object) -> str:
    return html.escape(str(value))


def duration(seconds: float | None) -> str:
    """Seconds as a person says them: 850 ms, 3.2 s, 2.5 min, 1.2 h."""
    if seconds is None or math.isnan(seconds):
        return ""
    if seconds < 0.01:
        return f"{seconds * 1000:.2g} ms"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min" if seconds < 3600 else f"{seconds / 3600:.1f} h"


def number(value: float, text: str, title: str = "") -> str:
    sort = "" if pd.isna(value) else repr(float(value))
    hint = f' title="{escape(title)}"' if title else ""
    return f'<td class="number" data-sort="{sort}"{hint}>{text}</td>'


def interval(score: float, low: float, high: float, digits: int = 4) -> str:
    """``0.9611 [0.9417, 0.9778]``, or the score alone where its interval is unknown."""
    if pd.isna(score):
        return ""
    if pd.isna(low) or pd.isna(high):
        return f"{score:.{digits}f}"
    return f'{score:.{digits}f} <span class="ci">[{low:.{digits}f}, {high:.{digits}f}]</span>'


def _margin(row: Any) -> str:
    if row.pick == "*":
        return number(0.0, "pick")
    if pd.isna(row.margin_low) or pd.isna(row.margin_high):
        return number(math.nan, "")
    same = indistinct(row.indistinct)
    text = f"{'≈ ' if same else ''}[{row.margin_low:+.4f}, {row.margin_high:+.4f}]"
    title = "not distinguishable from the pick" if same else "differs from the pick"
    return number((row.margin_low + row.margin_high) / 2, text, title)


def _value(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _params(text: str) -> str:
    """A row's hyperparameters, folded: the count shows, a click opens the values."""
    params = json.loads(text or "{}")
    if not params:
        return '<td data-sort="">none</td>'
    items = "".join(f"<dt>{escape(k)}</dt><dd>{escape(_value(v))}</dd>" for k, v in params.items())
    count = f"{len(params)} parameter{'s' if len(params) > 1 else ''}"
    return (
        f'<td><details class="params"><summary>{count}</summary>'
        f'<dl class="params">{items}</dl></details></td>'
    )


def _rank(row: Any) -> str:
    if pd.isna(row.rank):
        return number(math.nan, "")
    if row.pick != "*":
        return number(row.rank, str(row.rank))
    return number(row.rank, f"{row.rank} ★", "the pick: the best validation score")


def _trials(row: Any) -> str:
    """Completed trials, and the failed and pruned ones where there were any."""
    others = [f"{n} {what}" for n, what in ((row.failed, "failed"), (row.pruned, "pruned")) if n]
    return ", ".join([str(row.trials), *others])


def _error(text: str) -> str:
    if len(text) <= 60:
        return f"<td>{escape(text)}</td>"
    summary = f"<summary>{escape(text[:50])}…</summary>"
    return f"<td><details>{summary}<pre>{escape(text)}</pre></details></td>"


HEADINGS = ["rank", "model", "test score [95% CI]", "vs pick", "validation", "fit time",
            "predict time", "trials", "search time", "parameters", "seed",
            "error"]  # fmt: skip


def board_table(board: pd.DataFrame, table_id: str) -> str:
    """One leaderboard: the pick and the rows not distinguishable from it shaded, scores with
    their interval, times readable, parameters folded; every number sorts as a number."""
    body = []
    for r in board.itertuples():
        kind = "pick" if r.pick == "*" else "indistinct" if indistinct(r.indistinct) else ""
        cells = [
            _rank(r),
            f"<td>{escape(r.model)}</td>",
            number(r.test_score, interval(r.test_score, r.test_low, r.test_high)),
            _margin(r),
            number(r.val_score, "" if pd.isna(r.val_score) else f"{r.val_score:.4f}"),
            *(number(s, duration(s)) for s in (r.fit_time, r.predict_time)),
            number(r.trials, _trials(r)),
            number(r.search_time, duration(r.search_time)),
            _params(r.best_params),
            number(r.seed, str(r.seed)),
            _error(str(r.error or "")),
        ]
        body.append(f'<tr class="{kind}">' + "".join(cells) + "</tr>")
    return f'<div class="wide">{sortable(HEADINGS, body, table_id)}</div>'


def sortable(headings: list[str], rows: list[str], table_id: str) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headings)
    return (
        f'<table class="sortable" id="{escape(table_id)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def table(frame: pd.DataFrame, table_id: str, digits: int = 4) -> str:
    """Any frame as a sortable table: numbers right-aligned and sorted as numbers."""
    rows = []
    for values in frame.itertuples(index=False):
        cells = []
        for value in values:
            value = value.item() if hasattr(value, "item") and not isinstance(value, str) else value
            if isinstance(value, float):
                cells.append(number(value, "" if math.isnan(value) else f"{value:.{digits}f}"))
            elif isinstance(value, int):
                cells.append(number(value, str(value)))
            else:
                cells.append(f"<td>{escape(value)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return sortable([str(c) for c in frame.columns], rows, table_id)


def comparison_table(board: pd.DataFrame) -> str:
    """The aggregate across datasets (``compare.aggregate``), its intervals in brackets."""
    rows = []
    for r in board.itertuples():
        cells = [
            f"<td>{escape(r.model)}</td>",
            number(r.elo, interval(r.elo, r.elo_low, r.elo_high, digits=0)),
            number(r.mean_rank, f"{r.mean_rank:.2f}"),
            number(r.wins, str(r.wins)),
            number(r.win_rate, "" if pd.isna(r.win_rate) else f"{r.win_rate:.3f}"),
            number(r.normalised, interval(r.normalised, r.normalised_low, r.normalised_high, 3)),
            number(r.datasets, str(r.datasets)),
            number(r.seeds, str(r.seeds)),
        ]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    headings = ["model", "Elo [95% CI]", "mean rank", "wins", "win rate",
                "normalised [95% CI]", "datasets", "seeds"]  # fmt: skip
    return sortable(headings, rows, "comparison")


def image(png: bytes, alt: str, caption: str = "") -> str:
    data = base64.b64encode(png).decode()
    text = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
    return f'<figure><img src="data:image/png;base64,{data}" alt="{escape(alt)}">{text}</figure>'


def page(body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>automl report</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{STYLE}</style></head><body>{body}<script>{SORTER}</script></body></html>\n"
    )
