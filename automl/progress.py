"""A live progress line per study: trials done, best so far, search time left."""

from __future__ import annotations

from typing import Protocol

import optuna
from tqdm import tqdm


class Budget(Protocol):
    left: float  # seconds of search left


class Progress:
    """An Optuna callback that advances a tqdm bar after every finished trial."""

    def __init__(
        self,
        *,
        label: str,
        total: int,
        done: int,
        best: float | None,
        maximize: bool,
        budget: Budget | None,
        enabled: bool = True,
    ) -> None:
        self._maximize = maximize
        self._best = best
        self._budget = budget
        self._bar = tqdm(total=total, initial=done, desc=label, unit="trial", disable=not enabled)
        self._show()

    def _show(self) -> None:
        postfix = {"best": "-" if self._best is None else f"{self._best:.4g}"}
        if self._budget is not None:
            postfix["time left"] = f"{max(0.0, self._budget.left):.0f}s"
        self._bar.set_postfix(postfix, refresh=False)

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if trial.state == optuna.trial.TrialState.COMPLETE and trial.value is not None:
            better = self._best is None or (
                trial.value > self._best if self._maximize else trial.value < self._best
            )
            if better:
                self._best = trial.value
        self._show()
        self._bar.update(1)

    def close(self) -> None:
        self._bar.close()
