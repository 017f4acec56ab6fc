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

from automl.fitting import ensemble, model_file
from automl.fitting.evaluate import blendable, fit_and_score, predict
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
    RemoteError,
    Request,
    TrialResult,
)
from automl.fitting.resolved import Resolved, resolve_experiment
from automl.fitting.winner import Winner
from automl.plugin.manager import load_registry
from automl.plugin.registry import Registry
from automl.storage.records import ENSEMBLE

A = TypeVar("A")
JudgeOf = Callable[[int], "Judge | None"]  # the Judge of a request's member (a trial is member 0)


class NonFiniteScore(ValueError):
    """A metric gave NaN or infinity: the trial fails rather than poison the search."""


def trained_on(estimator: Any) -> str:
    """Where a fitted estimator trained, as its learner says it (``device_``, in words: a deep
    learner on a GPU names it), else the CPU; the last step of a pipeline is the learner."""
    while hasattr(estimator, "steps"):
        estimator = estimator.steps[-1][1]
    return str(getattr(estimator, "device_", "cpu"))


def epoch_reporter(judge: Judge, direction: str) -> Callable[[int, float], None]:
    """What a deep learner calls after each epoch: losses fall as models improve, so the study's
    direction decides the sign a pruner sees; a pruner's verdict stops the trial."""

    def on_epoch(epoch: int, loss: float) -> None:
        if judge(epoch, -loss if direction == "maximize" else loss):
            raise optuna.TrialPruned(f"pruned after epoch {epoch}")

    return on_epoch


class Fitter:
    """Answers the requests of one study after another: ``Open``, then the fits."""

    def __init__(self, registry: Registry | None = None) -> None:
        self._registry = registry
        self.resolved: Resolved | None = None

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
        return Description(
            dataset=p.name,
            fingerprint=p.fingerprint,
            task=p.task.value,
            metric=resolved.metric.name,
            direction=resolved.metric.direction,
            space=resolved.space,
            folds=len(p.folds),
            validation=p.validation,
            method=p.split.validation,
            rows=len(p.y_dev),
            test_rows=len(p.y_test),
            portfolio=resolved.model.portfolio,
            population=resolved.model.fit_population is not None,
            population_varies=resolved.model.population_varies,
            libraries=resolved.model.libraries,
        )

    def trial(self, request: FitTrial, judge: Judge | None = None) -> TrialResult:
        """Fit and score every fold; return the mean score and the mean times per fold."""
        resolved = self._opened()
        folds, metric = resolved.prepared.folds, resolved.metric
        context = replace(resolved.context, started=time.monotonic(), trial=request.number)
        if judge is not None and len(folds) == 1:  # holdout: a pruner judges epochs
            context = replace(context, report=epoch_reporter(judge, metric.direction))
        scores: list[float] = []
        kept: list[np.ndarray] = []
        fit_time = predict_time = 0.0
        for step, fold in enumerate(folds):
            outcome = fit_and_score(
                resolved.model, request.params, context, metric,
                fold.X_train, fold.y_train, fold.X_valid, fold.y_valid,
            )  # fmt: skip
            if not math.isfinite(outcome.score):
                raise NonFiniteScore(f"metric {metric.name} gave {outcome.score} on fold {step}")
            scores.append(outcome.score)
            if resolved.keep_predictions:
                kept.append(blendable(outcome.estimator, fold.X_valid, outcome.prediction, metric,
                                      resolved.context.n_classes))  # fmt: skip
            fit_time += outcome.fit_time
            predict_time += outcome.predict_time
            if judge is not None and len(folds) > 1:  # with CV, a pruner judges folds
                if judge(step, float(np.mean(scores))):
                    raise optuna.TrialPruned(f"pruned after fold {step}")
        return TrialResult(
            score=float(np.mean(scores)),
            fit_time=fit_time / len(folds),
            predict_time=predict_time / len(folds),
            pid=os.getpid(),
            predictions=np.concatenate(kept) if kept else None,
        )

    def population(
        self, request: FitPopulation, judges: tuple[Judge | None, ...] = ()
    ) -> PopulationResult:
        """Fit and score every fold of several trials, trained together by the model's
        ``fit_population`` (one after another without it), as :meth:`trial` does one: a member
        that is pruned or fails leaves, and the others go on. Each member's fit time is its share
        of the program's (the time divided by the members trained)."""
        members = request.members
        folds = self._opened().prepared.folds
        judges = judges or (None,) * len(members)
        errors: dict[int, BaseException] = {}
        scores: list[list[float]] = [[] for _ in members]
        kept: list[list[np.ndarray]] = [[] for _ in members]
        times = np.zeros((len(members), 2))  # fit, predict seconds summed over folds
        for step, fold in enumerate(folds):
            live, built = self._build_members(members, judges, times, errors)
            if not live:
                break
            began = time.perf_counter()
            stopped = self._fit_members(built, fold)
            share = (time.perf_counter() - began) / len(live)
            for i, estimator, error in zip(live, built, stopped, strict=True):
                times[i, 0] += share
                if error is not None:
                    errors[i] = error
                    continue
                try:
                    self._score_member(estimator, fold, step, scores[i], kept[i], times[i],
                                       judges[i])  # fmt: skip
                except Exception as raised:  # TrialPruned included: this member leaves
                    errors[i] = raised
        return PopulationResult(tuple(
            RemoteError.of(errors[i]) if i in errors else TrialResult(
                score=float(np.mean(scores[i])),
                fit_time=float(times[i, 0]) / len(folds),
                predict_time=float(times[i, 1]) / len(folds),
                pid=os.getpid(),
                predictions=np.concatenate(kept[i]) if kept[i] else None,
            )
            for i in range(len(members))
        ))  # fmt: skip

    def _build_members(
        self,
        members: tuple[Any, ...],
        judges: tuple[Judge | None, ...],
        times: np.ndarray,
        errors: dict[int, BaseException],
    ) -> tuple[list[int], list[Any]]:
        """The estimators of the members still in the population, for the next fold."""
        resolved = self._opened()
        one_fold = len(resolved.prepared.folds) == 1
        live, built = [], []
        for i, member in enumerate(members):
            if i in errors:
                continue
            # A member's clock (its time limit, shared by its folds) counts its own share of
            # the folds before: as if it had trained them alone.
            began = time.monotonic() - float(times[i].sum())
            context = replace(resolved.context, started=began, trial=member.number)
            judge = judges[i]
            if judge is not None and one_fold:  # holdout: a pruner judges epochs
                context = replace(context, report=epoch_reporter(judge, resolved.metric.direction))
            try:
                built.append(resolved.model.build(member.params, context))
                live.append(i)
            except Exception as error:
                errors[i] = error
        return live, built

    def _fit_members(self, built: list[Any], fold: Any) -> list[BaseException | None]:
        """Train the built estimators on ``fold``, together where the model can."""
        model = self._opened().model
        if model.fit_population is not None:
            return list(model.fit_population(built, fold.X_train, fold.y_train))
        return [_fitted(estimator, fold.X_train, fold.y_train) for estimator in built]

    def _score_member(
        self,
        estimator: Any,
        fold: Any,
        step: int,
        scores: list[float],
        kept: list[np.ndarray],
        times: np.ndarray,
        judge: Judge | None,
    ) -> None:
        """Score one member's estimator on ``fold``'s validation rows; its pruner may stop it."""
        resolved = self._opened()
        metric, n_classes = resolved.metric, resolved.context.n_classes
        began = time.perf_counter()
        prediction = predict(estimator, fold.X_valid, metric, n_classes)
        times[1] += time.perf_counter() - began
        scores.append(self._score(fold.y_valid, prediction, step))
        if resolved.keep_predictions:
            kept.append(blendable(estimator, fold.X_valid, prediction, metric, n_classes))
        several = len(resolved.prepared.folds) > 1
        if judge is not None and several and judge(step, float(np.mean(scores))):
            raise optuna.TrialPruned(f"pruned after fold {step}")

    def _score(self, y: Any, prediction: Any, step: int) -> float:
        metric, n_classes = self._opened().metric, self._opened().context.n_classes
        extra = {"n_classes": n_classes} if metric.per_class else {}
        score = float(metric.score(y, prediction, **extra))
        if not math.isfinite(score):
            raise NonFiniteScore(f"metric {metric.name} gave {score} on fold {step}")
        return score

    def refit(self, request: Refit) -> RefitResult:
        """Fit the parameters on train+validation behind the model's preprocessing (so that the
        final model predicts on raw rows) and score it once on the test split; with ``save``,
        write it there as a :class:`Winner`, explained on the test split when the ``cap`` leaves
        time."""
        started = time.monotonic()
        resolved = self._opened()
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
        return RefitResult(
            test_score=outcome.score,
            fit_time=outcome.fit_time,
            predict_time=outcome.predict_time,
            device=trained_on(outcome.estimator),
            predictions=blendable(outcome.estimator, p.X_test, outcome.prediction, resolved.metric,
                                  resolved.context.n_classes) if keep else None,
            scored=np.asarray(outcome.prediction),
            truth=np.asarray(p.y_test),
            n_classes=p.n_classes,
            model=saved,
            importance=importance,
        )  # fmt: skip

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
        """Greedy ensemble selection over the members' validation predictions, scored as a trial
        is (the mean over folds), then the chosen blend of their test predictions scored once;
        with ``save``, the members' saved ``models`` blended into one model there."""
        started = time.monotonic()
        resolved = self._opened()
        p, metric, n_classes = resolved.prepared, resolved.metric, resolved.context.n_classes
        bounds = np.cumsum([0, *(len(f.y_valid) for f in p.folds)])
        y_valid = np.concatenate([f.y_valid for f in p.folds])
        extra = {"n_classes": n_classes} if metric.per_class else {}

        def shown(blended: np.ndarray) -> np.ndarray:
            return blended.argmax(axis=1) if metric.needs == "label" and n_classes else blended

        def scored(y: np.ndarray, blended: np.ndarray) -> float:
            return float(metric.score(y, shown(blended), **extra))

        def validation(blended: np.ndarray) -> float:
            return float(np.mean([
                scored(y_valid[a:b], blended[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)
            ]))  # fmt: skip

        members = request.members
        chosen = ensemble.select(
            [m[0] for m in members], validation, metric.direction == "maximize", request.size
        )
        test_blend = ensemble.blend([m[1] for m in members], chosen.weights)
        test = scored(p.y_test, test_blend)
        importance = None
        if request.save is not None and request.models:
            winner = Winner.ensemble([model_file.load(m) for m in request.models], chosen.weights)
            made = [model_file.libraries(model_file.header(m)) for m in request.models]
            libraries = list(dict.fromkeys(name for each in made for name in each))
            importance = self._save(
                winner, request.save, test, {}, started, request.cap, ENSEMBLE, libraries
            )
        return BlendResult(
            chosen.weights, chosen.score, chosen.member_scores, test,
            predictions=test_blend.astype(np.float32), scored=shown(test_blend),
            truth=np.asarray(p.y_test), n_classes=n_classes,
            model=request.save if importance is not None else None, importance=importance,
        )  # fmt: skip

    def _opened(self) -> Resolved:
        if self.resolved is None:
            raise RuntimeError("a trial was requested before its study was opened")
        return self.resolved


def _fitted(estimator: Any, X: Any, y: Any) -> BaseException | None:
    """Fit one member of a population whose model trains one at a time."""
    try:
        estimator.fit(X, y)
    except Exception as error:  # optuna.TrialPruned included: the member leaves, the rest go on
        return error
    return None
