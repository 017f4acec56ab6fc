"""The side of a study that touches data and learners: open, fit folds, refit, blend.

A :class:`Fitter` lives where the fits run: in the harness's own process, or in a worker process
(:mod:`automl.fitting.isolation`). It answers the typed requests of :mod:`automl.fitting.protocol`
with their frozen results, dispatched in one place (:meth:`Fitter.handle`), so the Optuna side of a
study (:mod:`automl.search`) never needs the data or a learner, and a worker that crashes takes
nothing but its current fit with it.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, TypeVar

import numpy as np
import optuna

from automl.fitting import bag, ensemble, model_file, population
from automl.fitting.data import Fold
from automl.fitting.evaluate import blendable, fit_and_score
from automl.fitting.explain import explain
from automl.fitting.protocol import (
    Blend,
    BlendResult,
    Description,
    FitPopulation,
    FitTrial,
    Judge,
    Open,
    PopulationResult,
    Refit,
    RefitResult,
    Request,
    TrialResult,
)
from automl.fitting.resolved import NonFiniteScore, Resolved, resolve_experiment
from automl.fitting.winner import Winner
from automl.plugin.errors import UserError
from automl.plugin.manager import load_registry
from automl.plugin.registry import Registry
from automl.plugin.types import Metric
from automl.storage.records import ENSEMBLE

A = TypeVar("A")
PROPER_SCORE = "log_loss"  # what an ensemble of classifiers is selected on (a registered metric)
JudgeOf = Callable[[int], "Judge | None"]  # the Judge of a request's member (a trial is member 0)


def trained_on(estimator: Any) -> str:
    """Where a fitted estimator trained, as its learner says it (``device_``, in words: a deep
    learner on a GPU names it), else the CPU; the last step of a pipeline is the learner."""
    while hasattr(estimator, "steps"):
        estimator = estimator.steps[-1][1]
    return str(getattr(estimator, "device_", "cpu"))


def _rows(proba: np.ndarray) -> np.ndarray:
    """Class probabilities (kept as float32, so a little off) as rows that sum to 1 again."""
    return proba / np.clip(proba.sum(axis=1, keepdims=True), 1e-12, None)


def sample(fold: Fold, rows: int | None, seed: int) -> tuple[Any, np.ndarray]:
    """The fold's training rows, or a seeded sample of ``rows`` of them (in their order)."""
    if rows is None or rows >= len(fold.y_train):
        return fold.X_train, fold.y_train
    chosen = np.sort(np.random.default_rng(seed).choice(len(fold.y_train), rows, replace=False))
    X = fold.X_train
    return (X.iloc[chosen] if hasattr(X, "iloc") else X[chosen]), fold.y_train[chosen]


# A learner that stops early (Model.fit_watching) stops by this share of its trial's cap, the folds
# sharing it: its predictions, its result and its fold models reach the search before the cap
# stops the worker. On nursery, XGBoost's and LightGBM's first trials (still improving after
# hundreds of rounds on 5 folds) were stopped with nothing, and their learners left the search.
# 0.8 was too much on letter: LightGBM's 26-class model of 500 rounds took 0.7 s to predict its
# validation rows after a fit cut at 6.3 s of a 7.9 s cap, and the trial was stopped.
WATCHED = 0.65


def _columns(X: Any) -> int:
    """The values of a row as loaded: a frame's or a table's columns, an image's pixels."""
    shape = getattr(X, "shape", None)
    return int(np.prod(shape[1:])) if shape is not None and len(shape) > 1 else 1


def settled(found: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """What the folds' early stopping settled on, as one refit takes it: per parameter every fold
    gave, the mean (rounded to an integer where each fold gave one)."""
    if not found or not all(found):
        return {}
    out: dict[str, Any] = {}
    for name in set.intersection(*(set(f) for f in found)):
        values = [f[name] for f in found]
        mean = float(np.mean(values))
        out[name] = max(round(mean), 1) if all(isinstance(v, int) for v in values) else mean
    return out


class Fitter:
    """Answers the requests of one study after another: ``Open``, then the fits."""

    def __init__(self, registry: Registry | None = None) -> None:
        self._registry = registry
        self.resolved: Resolved | None = None
        self._study = ""  # the opened study's key, under which its best fold models are kept
        self._bags = bag.Bags()

    def handle(self, request: Request[A], judge_of: JudgeOf = lambda member: None) -> A:
        """Answer one request that crossed from the study; ``judge_of`` gives each trial's
        Judge (the pruner's verdict on its running scores)."""
        match request:
            case Open():
                return self.open(request)
            case FitTrial():
                return self.trial(request, judge_of(0))
            case FitPopulation():
                judges = tuple(judge_of(i) for i in range(len(request.members)))
                return self.population(request, judges)
            case Refit():
                return self.refit(request)
            case Blend():
                return self.blend(request)
        raise TypeError(f"not a request: {request!r}")

    def open(self, request: Open) -> Description:
        registry = self._registry or load_registry()
        self.resolved = resolved = resolve_experiment(request.experiment, registry)
        p = resolved.prepared
        self._study = bag.key(request.experiment.identity())
        self._bags.on(p.fingerprint)
        self._bags.folder = request.experiment.artifacts or None
        return Description(
            dataset=p.name,
            fingerprint=p.fingerprint,
            task=p.task.value,
            metric=resolved.metric.name,
            direction=resolved.metric.direction,
            space=resolved.space,
            folds=len(p.folds),
            repeats=p.repeats,
            validation=p.validation,
            method=p.split.validation,
            rows=len(p.y_dev),
            test_rows=len(p.y_test),
            portfolio=resolved.model.portfolio,
            population=resolved.model.fit_population is not None,
            population_varies=resolved.model.population_varies,
            libraries=resolved.model.libraries,
            baseline=resolved.model.baseline,
            final=resolved.final,
            columns=_columns(p.X_dev),
            outputs=p.n_classes if p.n_classes and p.n_classes > 2 else 1,
            cost=resolved.model.cost,
        )

    def trial(self, request: FitTrial, judge: Judge | None = None) -> TrialResult:
        """Fit and score every fold; return the mean score and the mean times per fold."""
        resolved = self._opened()
        folds, metric = resolved.prepared.folds, resolved.metric
        started = time.monotonic()
        context = resolved.context_for(request.number, judge, started)
        limit = None if request.cap is None else started + WATCHED * request.cap
        scores: list[float] = []
        kept: list[np.ndarray] = []
        models: list[Any] = []  # each fold's, behind its preprocessing: the trial's bag
        found: list[Mapping[str, Any]] = []  # what each fold's early stopping settled on
        fit_time = predict_time = 0.0
        for step, fold in enumerate(folds):
            X_train, y_train = sample(fold, request.rows, resolved.context.seed + step)
            now = time.monotonic()  # a fold that stops early gets its part of what is left
            deadline = None if limit is None else now + (limit - now) / (len(folds) - step)
            outcome = fit_and_score(
                resolved.model, request.params, context, metric,
                X_train, y_train, fold.X_valid, fold.y_valid, watch=True, deadline=deadline,
            )  # fmt: skip
            if not math.isfinite(outcome.score):
                raise NonFiniteScore(f"metric {metric.name} gave {outcome.score} on fold {step}")
            scores.append(outcome.score)
            found.append(outcome.found)
            models.append(bag.behind(fold.step, outcome.estimator))
            if resolved.keep_predictions:
                kept.append(blendable(outcome.estimator, fold.X_valid, outcome.prediction, metric,
                                      resolved.context.n_classes))  # fmt: skip
            fit_time += outcome.fit_time
            predict_time += outcome.predict_time
            if judge is not None and len(folds) > 1:  # with CV, a pruner judges folds
                if judge(step, float(np.mean(scores))):
                    raise optuna.TrialPruned(f"pruned after fold {step}")
        score = float(np.mean(scores))
        # Kept too where fitted on a sample: the final model when no time is left for a refit
        kept_models = bag.Kept(request.number, score, tuple(models), request.rows)
        self._bags.offer(self._study, kept_models, metric.direction == "maximize")
        return TrialResult(
            score=score,
            fit_time=fit_time / len(folds),
            predict_time=predict_time / len(folds),
            pid=os.getpid(),
            predictions=resolved.prepared.per_row(np.concatenate(kept)) if kept else None,
            found=settled(found),
        )

    def population(
        self, request: FitPopulation, judges: tuple[Judge | None, ...] = ()
    ) -> PopulationResult:
        return population.fit(self._opened(), request, judges)

    def refit(self, request: Refit) -> RefitResult:
        """The final model of the request's trial, scored once on the test split: its fold models
        averaged (:mod:`automl.fitting.bag`) where this process holds them and the experiment asks
        for a bag; else its parameters fitted on train+validation behind the model's
        preprocessing, with the bag's test score beside it where this process holds the bag.
        With ``save``, write it there as a :class:`Winner`, explained on the test split when the
        ``cap`` leaves time.

        A bag kept only in its file is loaded to be the final model, not to be scored beside a
        refit: on letter (forests' bags of tens to 165 MB on disk) that loading, counted at a
        saved model's rate, priced the pick's 1 s refit above the time left, and the pick was
        handed over as its holdout model."""
        started = time.monotonic()
        resolved = self._opened()
        wanted = request.bag or resolved.final == "bag"
        at_hand = wanted or self._bags.holds(self._study, request.trial)
        held = self._bags.take(self._study, request.trial) if at_hand else None
        sampled = held is not None and held.rows is not None  # a bag of a sample's models
        if held is not None and (request.bag or (resolved.final == "bag" and not sampled)):
            made = self._bagged(request, held, started)
            self._bags.served(self._study, request.trial)
            return made
        p = resolved.prepared
        context = replace(resolved.context, started=time.monotonic())  # the refit's own time limit
        outcome = fit_and_score(
            resolved.model, request.params, context, resolved.metric, p.X_dev, p.y_dev, p.X_test,
            p.y_test, preprocess=True,
        )  # fmt: skip
        if not math.isfinite(outcome.score):
            raise NonFiniteScore(
                f"metric {resolved.metric.name} gave {outcome.score} on the test split"
            )
        keep = resolved.keep_predictions
        saved = importance = None
        if request.save is not None:
            winner = Winner.of(outcome.estimator, p.classes, p.X_test)
            importance = self._save(
                winner, request.save, outcome.score, request.params, started, request.cap
            )
            saved = request.save
        bag_score = None
        if held is not None and not sampled:  # both measured: the bag costs a prediction
            scored, _ = bag.predictions(bag.winner(held, p.classes, p.X_test), p.X_test,
                                        resolved.metric, p.n_classes)  # fmt: skip
            bag_score = resolved.score(p.y_test, scored, "the test split")
        self._bags.served(self._study, request.trial)  # the final model is made: its file goes
        return RefitResult(
            test_score=outcome.score,
            fit_time=outcome.fit_time,
            predict_time=outcome.predict_time,
            device=trained_on(outcome.estimator),
            predictions=blendable(outcome.estimator, p.X_test, outcome.prediction, resolved.metric,
                                  resolved.context.n_classes) if keep else None,
            scored=np.asarray(outcome.prediction),
            truth=np.asarray(p.y_test),
            val_truth=self._val_truth() if keep else None,
            n_classes=p.n_classes,
            model=saved,
            importance=importance,
            bag_score=bag_score,
        )  # fmt: skip

    def _bagged(self, request: Refit, held: bag.Kept, started: float) -> RefitResult:
        """The bag of ``held`` as the request's final model: nothing fitted, the test split
        predicted through the very model that is saved, so that it reloads to the same score."""
        resolved = self._opened()
        p = resolved.prepared
        made = bag.winner(held, p.classes, p.X_test)
        began = time.perf_counter()
        scored, blended = bag.predictions(made, p.X_test, resolved.metric, p.n_classes)
        predict_time = time.perf_counter() - began
        test = resolved.score(p.y_test, scored, "the test split")
        importance = None
        if request.save is not None:
            importance = self._save(made, request.save, test, request.params, started, request.cap)
        keep = resolved.keep_predictions
        return RefitResult(
            test_score=test, fit_time=0.0, predict_time=predict_time,
            device=trained_on(held.models[0]), predictions=blended if keep else None,
            scored=np.asarray(scored), truth=np.asarray(p.y_test),
            val_truth=self._val_truth() if keep else None, n_classes=p.n_classes,
            model=request.save, importance=importance, final="bag", rows=held.rows,
        )  # fmt: skip

    def _val_truth(self) -> np.ndarray:
        """The validation labels or values of every row, in the order of a trial's predictions."""
        return np.concatenate([f.y_valid for f in self._opened().prepared.first])

    def _save(
        self,
        winner: Winner,
        path: str,
        test_score: float,
        params: Mapping[str, Any],
        started: float,
        cap: float | None,
        name: str | None = None,
        libraries: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """Explain ``winner`` on the test split (within a tenth of what ``cap`` leaves) and save it
        as model ``name`` (the learner's, by default), made with ``libraries`` (its own)."""
        resolved = self._opened()
        p, metric = resolved.prepared, resolved.metric
        # A tenth of what the cap leaves: under a budget the other learners' refits come first
        # (at half, one slow learner's explanation took the time of every later refit).
        left = None if cap is None else max(cap - (time.monotonic() - started), 0.0) / 10
        importance = explain(winner, p.X_test, p.y_test, metric, resolved.context.seed, left)
        model_file.save(winner, path, {
            "dataset": p.name, "model": name or resolved.model.name, "task": p.task.value,
            "metric": metric.name, "direction": metric.direction, "test_score": test_score,
            "test_rows": len(p.y_test), "params": dict(params), "importance": importance,
        }, resolved.model.libraries if libraries is None else libraries)  # fmt: skip
        return importance

    def blend(self, request: Blend) -> BlendResult:
        """Greedy ensemble selection over the members' validation predictions, then the chosen
        blend scored on validation as a trial is (the mean over folds) and on the test split once;
        with ``save``, the members' saved ``models`` blended into one model there.

        Classification selects on the log loss of the blended probabilities whatever the metric
        (a proper scoring rule: accuracy over a few hundred rows rewards fitting the folds' ties,
        which let a constant baseline into the blends of issue 27); regression on the metric."""
        started = time.monotonic()
        resolved = self._opened()
        p, metric, n_classes = resolved.prepared, resolved.metric, resolved.context.n_classes
        bounds = np.cumsum([0, *(len(f.y_valid) for f in p.first)])
        y_valid = self._val_truth()
        extra = {"n_classes": n_classes} if metric.per_class else {}

        def shown(blended: np.ndarray) -> np.ndarray:
            return blended.argmax(axis=1) if metric.needs == "label" and n_classes else blended

        def scored(y: np.ndarray, blended: np.ndarray) -> float:
            return float(metric.score(y, shown(blended), **extra))

        def validation(blended: np.ndarray) -> float:
            pairs = zip(bounds[:-1], bounds[1:], strict=True)
            return float(np.mean([scored(y_valid[a:b], blended[a:b]) for a, b in pairs]))

        members = request.members
        rule = self._proper_score(resolved)
        if rule is None:
            chosen = ensemble.select(
                [m[0] for m in members], validation, metric.direction == "maximize", request.size
            )
        else:
            chosen = ensemble.select(
                [m[0] for m in members], lambda blended: float(rule.score(y_valid, _rows(blended))),
                maximize=False, size=request.size,
            )  # fmt: skip
        valid_blend = ensemble.blend([m[0] for m in members], chosen.weights)
        test_blend = ensemble.blend([m[1] for m in members], chosen.weights)
        test = scored(p.y_test, test_blend)
        importance = None
        if request.save is not None and request.models:
            # Only the members the selection kept are loaded: on letter every learner's final
            # model (55 MB of forests among them) was loaded for an ensemble of a few, and the
            # loading alone outran the ensemble's time.
            used = [(m, w) for m, w in zip(request.models, chosen.weights, strict=True) if w > 0]
            winner = Winner.ensemble([model_file.load(m) for m, _ in used], [w for _, w in used])
            made = [model_file.libraries(model_file.header(m)) for m, _ in used]
            libraries = list(dict.fromkeys(name for each in made for name in each))
            importance = self._save(
                winner, request.save, test, {}, started, request.cap, ENSEMBLE, libraries
            )
        return BlendResult(
            chosen.weights, validation(valid_blend),
            tuple(validation(np.asarray(m[0], dtype=np.float64)) for m in members), test,
            predictions=test_blend.astype(np.float32), scored=shown(test_blend),
            truth=np.asarray(p.y_test), val_predictions=valid_blend.astype(np.float32),
            val_truth=y_valid, n_classes=n_classes,
            model=request.save if importance is not None else None, importance=importance,
        )  # fmt: skip

    def _proper_score(self, resolved: Resolved) -> Metric | None:
        """The log loss an ensemble of classifiers is selected on; None for regression, or where
        no plugin registers it (then the metric selects)."""
        if resolved.context.n_classes is None:
            return None
        try:
            return (self._registry or load_registry()).metric_for(
                PROPER_SCORE, resolved.prepared.task
            )
        except (UserError, ValueError):
            return None

    def _opened(self) -> Resolved:
        if self.resolved is None:
            raise RuntimeError("a trial was requested before its study was opened")
        return self.resolved
