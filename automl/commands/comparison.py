"""A comparison as Python sees it: one dataset's leaderboard read from the storage (the system of
record), its pick and the pick's saved model, how the budget was shared, and its report.

:func:`automl.compare` returns one; :meth:`Comparison.load` reopens one from a storage later. Every
figure comes from the same views the command's leaderboards are written from
(:mod:`automl.views.leaderboard`), so a notebook and ``leaderboards/*.md`` never disagree.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from automl.plugin.errors import UserError
from automl.storage.records import ENSEMBLE
from automl.storage.urls import DEFAULT_FILE, JOURNAL_SUFFIXES, open_storage, redact
from automl.views import leaderboard as boards
from automl.views.leaderboard import COLUMNS

# The leaderboard's columns as a DataFrame gives them: the written CSV's, with the pick's reason and
# each row's saved model.
SHOWN = [*COLUMNS, "why", "model_path"]
# The columns of the notebook's table (the rest stay in .leaderboard).
BRIEF = ["rank", "pick", "model", "test_score", "vs_pick", "val_score", "final", "trials",
         "search_time", "error"]  # fmt: skip


@dataclass
class Comparison:
    """One dataset's comparison under one metric and seed, as the storage at ``storage`` holds it.

    ``board`` is the ranked leaderboard (:func:`automl.views.leaderboard.rank`); ``errors`` the
    one-line errors the run that made it reported (a learner that failed for a reason of its own)."""

    storage: str
    dataset: str
    metric: str
    board: pd.DataFrame = field(repr=False)
    errors: list[str] = field(default_factory=list)

    @classmethod
    def load(
        cls,
        storage: str | Path = Path("results") / DEFAULT_FILE,
        dataset: str | None = None,
        *,
        seed: int | None = None,
        studies: Sequence[str] | None = None,
    ) -> Comparison:
        """The comparison of ``dataset`` under ``seed`` in ``storage`` (a journal file or a
        database URL), of the ``studies`` named (a run's), or of all; where that leaves several
        datasets, seeds or metrics, the one run last."""
        url = str(storage)
        if url.endswith(JOURNAL_SUFFIXES) and not Path(url.removeprefix("journal:")).is_file():
            raise UserError(f"no storage at '{url}'; give a .journal file or a database URL")
        found = boards.rows(open_storage(url), studies, where=boards.home(url))
        rows = boards.latest(found)
        for key, wanted in (("dataset", dataset), ("seed", seed)):
            if wanted is not None:
                if wanted not in set(rows[key]):
                    held = ", ".join(map(str, sorted(set(rows[key])))) or "none"
                    raise UserError(
                        f"storage {redact(url)} holds no {key} {wanted!r}; it holds: {held}"
                    )
                rows = rows[rows[key] == wanted]
        if rows.empty:
            raise UserError(f"storage {redact(url)} holds no automl studies")
        last = rows.sort_values("updated", na_position="first").iloc[-1]
        same = ["dataset", "metric", "seed"]
        chosen = rows[(rows[same] == last[same]).all(axis=1)]
        ((name, metric), board), *_ = boards.rank(chosen).items()
        return cls(storage=url, dataset=name, metric=metric, board=board)

    @property
    def leaderboard(self) -> pd.DataFrame:
        """Every learner's row, ranked by test score: its 95% interval (``test_low``,
        ``test_high``), its margin to the pick on the same resamples (``margin_low``,
        ``margin_high``; ``indistinct`` where that includes 0), validation score, final model,
        times, trials, error, and why the pick is the pick."""
        return self.board[[c for c in SHOWN if c in self.board]].reset_index(drop=True)

    @property
    def _pick_row(self) -> pd.Series | None:
        picked = self.board[self.board["pick"] == "*"]
        return None if picked.empty else picked.iloc[0]

    @property
    def pick(self) -> str | None:
        """The learner (or ``ensemble``) the harness hands over, chosen on validation alone."""
        row = self._pick_row
        return None if row is None else str(row["model"])

    @property
    def why(self) -> str:
        row = self._pick_row
        return "" if row is None else str(row["why"])

    @cached_property
    def model(self) -> Any:
        """The pick's saved model: a fitted scikit-learn estimator that takes raw rows (its
        preprocessing included) and answers in the dataset's own labels."""
        from automl.fitting.model_file import load

        row = self._pick_row
        if row is None or not row["model_path"]:
            raise UserError(f"{self.dataset}: no saved model to hand over (no pick)")
        return load(row["model_path"])

    def _rows(self, X: Any) -> Any:
        """``X`` as the model takes it: an array's columns named as the frame it was fitted on."""
        columns = getattr(self.model, "columns", None)
        values = X if isinstance(X, pd.DataFrame) else np.asarray(X)
        if columns is not None and not isinstance(values, pd.DataFrame) and values.ndim == 2:
            if values.shape[1] != len(columns):
                raise UserError(
                    f"X has {values.shape[1]} columns; the model was fitted on {len(columns)}"
                )
            return pd.DataFrame(values, columns=columns)
        return values

    def predict(self, X: Any) -> np.ndarray:
        """The pick's predictions for the rows ``X`` (a DataFrame with the training columns, or an
        array of them in order)."""
        return np.asarray(self.model.predict(self._rows(X)))

    def predict_proba(self, X: Any) -> np.ndarray:
        """The pick's class probabilities, one column per class of ``model.classes_``."""
        if getattr(self.model, "classes", None) is None:
            raise UserError(f"{self.dataset}: a regression model gives no probabilities")
        return np.asarray(self.model.predict_proba(self._rows(X)))

    def explain(self) -> pd.DataFrame:
        """Why the pick wins: its feature importances on the test split (permutation: the mean
        and spread of the score lost when a feature is shuffled; native: the learner's own where
        it has them), most important first, as saved with its model."""
        row = self._pick_row
        found = json.loads(row["importance"]) if row is not None and row["importance"] else {}
        permutation, native = found.get("permutation") or {}, found.get("native") or {}
        names = list(dict.fromkeys([*permutation, *native]))

        def part(name: str, i: int) -> float:  # a permutation importance is [mean, std]
            value = permutation.get(name)
            return np.nan if value is None else float(np.atleast_1d(value)[i])

        frame = pd.DataFrame(
            {
                "feature": names,
                "permutation": [part(n, 0) for n in names],
                "permutation_std": [part(n, -1) for n in names],
                "native": [native.get(n, np.nan) for n in names],
            }
        )
        order = "permutation" if permutation else "native"
        return frame.sort_values(order, ascending=False, ignore_index=True)

    @property
    def allocation(self) -> pd.DataFrame:
        """How the budget was shared: each learner's seconds of search, trials, and why it left
        the search early (from the comparison's record; each study's own totals without a budget)."""
        shared: dict[str, Any] = {}
        for row in self.board[self.board["kind"] == ENSEMBLE].itertuples():
            shared.update(json.loads(row.allocation or "{}").get("learners") or {})
        if shared:
            records = [
                {"learner": name, "search_time": one.get("seconds", 0.0),
                 "trials": one.get("trials", 0), "left_early": one.get("skipped") or ""}
                for name, one in sorted(shared.items())
            ]  # fmt: skip
        else:
            learners = self.board[self.board["kind"] != ENSEMBLE]
            records = [
                {"learner": r.model, "search_time": r.search_time, "trials": r.trials,
                 "left_early": ""}
                for r in learners.itertuples()
            ]  # fmt: skip
        return pd.DataFrame.from_records(
            records, columns=["learner", "search_time", "trials", "left_early"]
        )

    def report(self, path: str | Path = "report") -> Path:
        """Write the HTML report of this dataset into the folder ``path``; its page's path."""
        from automl.views.report import build

        return Path(build(self.storage, str(path), [self.dataset])[0])

    def _brief(self) -> pd.DataFrame:
        board = self.board.copy()
        board["test_score"] = [
            "" if pd.isna(s) else f"{s:.4f} [{lo:.4f}, {hi:.4f}]"
            for s, lo, hi in zip(
                board["test_score"], board["test_low"], board["test_high"], strict=True
            )
        ]
        board["vs_pick"] = [
            "pick" if p == "*" else "" if pd.isna(lo) else f"[{lo:+.4f}, {hi:+.4f}]"
            + (" ≈" if ind is True else "")
            for p, lo, hi, ind in zip(
                board["pick"], board["margin_low"], board["margin_high"], board["indistinct"],
                strict=True,
            )
        ]  # fmt: skip
        return board[[c for c in BRIEF if c in board]]

    def __repr__(self) -> str:
        text = self._brief().to_string(index=False)
        return f"{self.dataset} · {self.metric} · pick: {self.pick} ({self.why})\n{text}"

    def _repr_html_(self) -> str:
        title = f"<h4>{html.escape(self.dataset)} · {html.escape(self.metric)}</h4>"
        pick = (
            f"<p><b>Pick: {html.escape(str(self.pick))}</b> ({html.escape(self.why)}); chosen on "
            "validation only. Test scores with their 95% bootstrap interval; vs_pick is the "
            "margin to the pick on the same resamples (≈: not distinguishable).</p>"
        )
        table = self._brief().to_html(index=False, na_rep="", classes="automl-leaderboard")
        budget = self.allocation.to_html(index=False, float_format="{:.1f}".format)
        errors = "".join(f"<p>error: {html.escape(e)}</p>" for e in self.errors)
        return f"{title}{pick}{table}<p>How the time was shared:</p>{budget}{errors}"
