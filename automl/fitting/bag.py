"""A learner's final model without a refit: its best trial's fold models, averaged (a bag).

Every trial fits one model per validation fold, on that fold's training rows. Behind the
preprocessing fitted on those same rows (:attr:`automl.fitting.data.Fold.step`), each fold model
predicts on raw rows, and their equal-weight average (class probabilities, or values) is a final
model, as AutoGluon's and TabArena's bagged models are: no refit on all rows, so it is ready the
moment the search ends, and an ensemble of the learners' bags costs no fit either. Under a holdout
the bag is the one model fitted on the training part.

A fitting process keeps, per study, the fold models of the best trial it has fitted (one bag per
learner), in memory and, where the experiment names an artifacts folder, in a file there
(``bags/<study>-<trial>.joblib``, written whole or not at all): a worker that the budget stopped
mid-trial, or a run killed and resumed, still finds the bag of its best trial, and the budget
counts no refit for it. Without the file (no folder, or another machine fitted the trial) the
final model is refitted instead (:meth:`automl.fitting.fitter.Fitter.refit`). Once a bag has
served its refit request it is saved as one :class:`automl.fitting.winner.Winner`, which
predicts on reload exactly as it was scored, and its file is removed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import joblib
import numpy as np
from sklearn.pipeline import Pipeline

from automl.fitting.evaluate import blendable, predict
from automl.fitting.winner import Winner
from automl.plugin.types import Metric
from automl.storage.bag_files import kept, key, path

__all__ = ["Bags", "Kept", "behind", "key", "kept", "path", "predictions", "winner"]


@dataclass(frozen=True)
class Kept:
    """The fold models of trial ``number`` (validation score ``score``), each behind its fold's
    preprocessing, in fold order."""

    number: int
    score: float
    models: tuple[Any, ...]
    # The training rows each fold model saw where the trial fitted a sample of them (subsample-first
    # search): such a bag is a final model only when the budget leaves no time for the refit.
    rows: int | None = None


def behind(step: Any, estimator: Any) -> Any:
    """A fold's fitted ``estimator`` behind the preprocessing fitted on the same rows (``step``;
    None where none applies), as one fitted estimator that takes raw rows."""
    return estimator if step is None else Pipeline([("preprocess", step), ("model", estimator)])


class Bags:
    """The best trial's fold models of each study this process fits, by the study's key; in
    memory the studies of one dataset only (a sweep that moves on to another dataset frees the
    last one's), and in a file under ``folder`` where one is named."""

    def __init__(self) -> None:
        self._kept: dict[str, Kept] = {}
        self._dataset: str | None = None
        self.folder: str | None = None

    def on(self, dataset: str) -> None:
        """The studies about to be fitted are of ``dataset`` (its fingerprint)."""
        if dataset != self._dataset:
            self._kept.clear()
            self._dataset = dataset

    def offer(self, study: str, kept: Kept, maximize: bool) -> None:
        """Keep ``kept`` for ``study`` if it scores better than the trial kept so far (the first of
        equal scores stays, as Optuna's best trial is the first of equals)."""
        held = self._kept.get(study)
        sign = 1.0 if maximize else -1.0
        if held is None or sign * kept.score > sign * held.score:
            self._kept[study] = kept
            if self.folder:
                self._write(study, kept, held)

    def _write(self, study: str, kept: Kept, former: Kept | None) -> None:
        """``kept`` in its file, whole or not at all; the file of the bag it displaces removed."""
        assert self.folder is not None
        target = path(self.folder, study, kept.number)
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(f"{target.name}.{os.getpid()}.part")
        try:
            joblib.dump(kept, part)
        except Exception:  # a learner that does not pickle: its bag is kept in memory only
            part.unlink(missing_ok=True)
            return
        os.replace(part, target)
        if former is not None and former.number != kept.number:
            path(self.folder, study, former.number).unlink(missing_ok=True)

    def holds(self, study: str, number: int | None) -> bool:
        """Whether the fold models of trial ``number`` of ``study`` are in this process's memory."""
        held = self._kept.get(study)
        return held is not None and number is not None and held.number == number

    def take(self, study: str, number: int | None) -> Kept | None:
        """The fold models of trial ``number`` of ``study``: held in memory, or kept in a file."""
        held = self._kept.get(study)
        if held is not None and number is not None and held.number == number:
            return held
        if not kept(self.folder, study, number):
            return None
        assert self.folder is not None and number is not None
        try:
            loaded = joblib.load(path(self.folder, study, number))
        except Exception:  # unreadable (a library changed under it): the refit is made instead
            return None
        return loaded if isinstance(loaded, Kept) and loaded.number == number else None

    def served(self, study: str, number: int | None) -> None:
        """The bag of trial ``number`` has been used for its final model, which holds it now: it
        is let go, file and all."""
        held = self._kept.get(study)
        if held is not None and held.number == number:
            del self._kept[study]
        if self.folder and number is not None:
            path(self.folder, study, number).unlink(missing_ok=True)


def winner(kept: Kept, classes: Any, X: Any) -> Winner:
    """The bag as one model that takes rows like ``X``: its fold models averaged with equal
    weights (a holdout's one model as it is)."""
    if len(kept.models) == 1:
        return Winner.of(kept.models[0], classes, X)
    members = [Winner.of(model, classes, X) for model in kept.models]
    return Winner.ensemble(members, [1.0 / len(members)] * len(members))


def predictions(
    made: Winner, X: Any, metric: Metric, n_classes: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """What ``metric`` scores of the bag ``made`` on ``X`` and its blendable predictions (as
    :func:`automl.fitting.evaluate.blendable`), computed as the saved model computes them."""
    if len(made.estimators) == 1 and not isinstance(made.estimators[0], Winner):
        model = made.estimators[0]
        scored = predict(model, X, metric, n_classes)
        return scored, np.asarray(blendable(model, X, scored, metric, n_classes))
    if n_classes is None:
        values = made.encoded(X)
        return values, values.astype(np.float32)
    proba = made.predict_proba(X)
    scored = proba if metric.needs == "proba" else proba.argmax(axis=1)
    return scored, proba.astype(np.float32)
