"""One Optuna study per (dataset, model, seed): search, refit the best, record it in the storage.

The storage is the system of record. A study's name carries a digest of everything that defines the
problem (data, split, metric, model, fixed parameters and ranges, sampler, pruner) but not the budget,
so the same command resumes the same study and a larger budget extends it. Budgets count what the
study already holds: finished trials, and search time summed from the trials' own timestamps.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import time
import warnings
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import optuna
from hydra.utils import instantiate
from optuna.trial import TrialState

from automl import __version__
from automl.data import Prepared, SplitConfig, for_model, prepare
from automl.errors import NotApplicable, UserError
from automl.evaluate import fit_and_score
from automl.plugins import registry as load_registry
from automl.preprocess import encode_folds
from automl.progress import Progress
from automl.registry import Dataset, FitContext, Metric, Model, Registry
from automl.space import SearchSpace, resolve
from automl.storage import open_storage

log = logging.getLogger(__name__)

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
ATTR = "automl"  # study user attribute describing the problem
RESULT = "result"  # study user attribute holding the refit's test score


@dataclass(frozen=True)
class Experiment:
    """Everything one study needs, as plain values (built from the Hydra config by the CLI)."""

    dataset: str
    model: str
    storage: str
    dataset_options: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    space: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    metric: str = "auto"
    split: SplitConfig = SplitConfig()
    seed: int = 0
    n_trials: int = 20
    timeout: float | None = None  # seconds of search per study, over all runs
    threads: int = 0
    device: str = "auto"
    sampler: Mapping[str, Any] = field(
        default_factory=lambda: {"_target_": "optuna.samplers.TPESampler"}
    )
    pruner: Mapping[str, Any] = field(
        default_factory=lambda: {"_target_": "optuna.pruners.NopPruner"}
    )
    progress: bool = True

    def identity(self) -> dict[str, Any]:
        """What defines the problem: equal identities resume the same study."""
        return {
            "dataset": self.dataset,
            "dataset_options": dict(self.dataset_options),
            "model": self.model,
            "params": dict(self.params),
            "space": {k: dict(v) for k, v in self.space.items()},
            "metric": self.metric,
            "split": self.split.__dict__,
            "seed": self.seed,
            "sampler": dict(self.sampler),
            "pruner": dict(self.pruner),
        }


@dataclass(frozen=True)
class Summary:
    """What one study holds after a run, as the CLI reports it."""

    study: str
    dataset: str
    model: str
    seed: int
    metric: str
    complete: int
    failed: int
    val_score: float | None
    test_score: float | None


def _digest(identity: Mapping[str, Any]) -> str:
    text = json.dumps(identity, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


# Optuna imports these only when a sampler first needs them, in the middle of a study.
SAMPLER_NEEDS = {"CmaEsSampler": ("cmaes",), "GPSampler": ("torch", "scipy")}


def _instantiate(kind: str, config: Mapping[str, Any]) -> Any:
    target = str(config.get("_target_", "?"))
    for module in SAMPLER_NEEDS.get(target.rsplit(".", 1)[-1], ()):
        if importlib.util.find_spec(module) is None:
            raise UserError(
                f"the {kind} {target} needs the '{module}' package: pip install {module}"
            )
    try:
        return instantiate(dict(config))
    except Exception as error:
        target = config.get("_target_", "?")
        raise UserError(f"cannot create the {kind} {target}: {error}".splitlines()[0]) from None


@dataclass
class _Problem:
    """The resolved pieces of an experiment, checked before any trial runs."""

    prepared: Prepared
    model: Model
    metric: Metric
    space: SearchSpace
    context: FitContext


_PREPARED: OrderedDict[tuple[Any, ...], Prepared] = OrderedDict()
PREPARED_KEPT = 2  # datasets kept per process; a sweep usually runs one dataset's models in a row


def _prepared(spec: Dataset, options: Mapping[str, Any], split: SplitConfig) -> Prepared:
    """The dataset loaded and split once per process, and shared by every study that uses it
    (with Hydra's basic launcher, all the jobs of a sweep), as its folds are by every trial."""
    files = tuple(  # an option naming a file: an edited file must not be served from the cache
        (str(v), os.stat(v).st_mtime_ns, os.stat(v).st_size)
        for v in options.values()
        if isinstance(v, str) and os.path.isfile(v)
    )
    key = (spec.name, id(spec), json.dumps(options, sort_keys=True, default=str), files, split)
    if key not in _PREPARED:
        _PREPARED[key] = prepare(spec.load(**options), spec.name, split)
        while len(_PREPARED) > PREPARED_KEPT:
            _PREPARED.popitem(last=False)
    _PREPARED.move_to_end(key)
    return _PREPARED[key]


def _resolve(exp: Experiment, registry: Registry) -> _Problem:
    spec = registry.dataset(exp.dataset)
    options = dict(exp.dataset_options)
    missing = [k for k, v in options.items() if v == "???"]
    if missing:
        raise UserError(f"dataset {exp.dataset} needs dataset.{missing[0]}=<value>")
    prepared = _prepared(spec, options, exp.split)
    metric = registry.metric_for(exp.metric, prepared.task)
    model = registry.model(exp.model)
    if model.max_rows is not None and len(prepared.y_dev) > model.max_rows:
        raise NotApplicable(
            f"model '{model.name}' fits at most {model.max_rows:,} training rows; "
            f"dataset {prepared.name} has {len(prepared.y_dev):,}"
        )
    if prepared.task not in model.tasks:
        raise NotApplicable(
            f"model '{model.name}' does not handle {prepared.task.value} tasks; "
            f"it handles: {', '.join(sorted(t.value for t in model.tasks))}"
        )
    params = {**model.initial_params(), **exp.params}
    space = resolve(model.space, params, exp.space, task=prepared.task.value)
    prepared = encode_folds(for_model(prepared, model.modalities, model.name), model.preprocessing)
    context = FitContext(
        task=prepared.task,
        seed=exp.seed,
        threads=exp.threads,
        device=exp.device,
        n_classes=prepared.n_classes,
        needs_proba=metric.needs == "proba",
    )
    return _Problem(prepared, model, metric, space, context)


def _epoch_reporter(trial: optuna.Trial, direction: str) -> Any:
    def report(epoch: int, loss: float) -> None:
        # Losses fall as models improve; the study's direction decides what "better" means.
        trial.report(-loss if direction == "maximize" else loss, epoch)
        if trial.should_prune():
            raise optuna.TrialPruned(f"pruned after epoch {epoch}")

    return report


def _objective(problem: _Problem) -> Any:
    folds = problem.prepared.folds

    def objective(trial: optuna.Trial) -> float:
        scores: list[float] = []
        fit_time = predict_time = 0.0
        context = replace(problem.context, started=time.monotonic())
        if len(folds) == 1:  # holdout: epochs are the steps a pruner judges (folds are, with CV)
            context = replace(context, report=_epoch_reporter(trial, problem.metric.direction))
        try:
            params = problem.space.suggest(trial)
            for step, fold in enumerate(folds):
                outcome = fit_and_score(
                    problem.model, params, context, problem.metric,
                    fold.X_train, fold.y_train, fold.X_valid, fold.y_valid,
                )  # fmt: skip
                scores.append(outcome.score)
                fit_time += outcome.fit_time
                predict_time += outcome.predict_time
                if len(folds) > 1:  # each fold is a step a pruner can judge
                    trial.report(float(np.mean(scores)), step)
                    if trial.should_prune():
                        raise optuna.TrialPruned()
        except optuna.TrialPruned:
            raise
        except Exception as error:  # recorded on the trial; the study goes on
            trial.set_user_attr("error", f"{type(error).__name__}: {error}"[:2000])
            raise
        trial.set_user_attr("fit_time", fit_time / len(folds))
        trial.set_user_attr("predict_time", predict_time / len(folds))
        return float(np.mean(scores))

    return objective


def _duration(trial: optuna.trial.FrozenTrial) -> float:
    if trial.datetime_complete is None or trial.datetime_start is None:
        return 0.0
    return (trial.datetime_complete - trial.datetime_start).total_seconds()


class _TimeBudget:
    """Stops the study once its trials have used the time budget.

    Time is summed from the trials' own timestamps, the same measure a resumed run starts from, so
    the budget holds across runs; Optuna's ``timeout`` would count each run's wall time afresh.
    """

    def __init__(self, left: float) -> None:
        self.left = left

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        self.left -= _duration(trial)
        if self.left <= 0:
            study.stop()


def _refit(study: optuna.Study, problem: _Problem) -> dict[str, Any] | None:
    """Fit the best configuration on train+validation and score it once on the test split."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        return None
    best = study.best_trial
    previous = study.user_attrs.get(RESULT)
    if previous and previous.get("best_trial") == best.number and "error" not in previous:
        return previous  # already refit for this best trial: nothing to redo
    params = problem.space.complete(best.params)
    result: dict[str, Any] = {"best_trial": best.number, "params": params, "val_score": best.value}
    p = problem.prepared
    context = replace(problem.context, started=time.monotonic())  # the refit's own time limit
    try:
        outcome = fit_and_score(
            problem.model, params, context, problem.metric, p.X_dev, p.y_dev, p.X_test, p.y_test,
            preprocess=True,  # the final model predicts on raw rows
        )  # fmt: skip
    except Exception as error:
        result["error"] = f"{type(error).__name__}: {error}"[:2000]
        log.warning("refit of %s failed: %s", study.study_name, result["error"])
    else:
        result.update(
            test_score=outcome.score, fit_time=outcome.fit_time, predict_time=outcome.predict_time
        )
    study.set_user_attr(RESULT, result)
    return result


def _plan(space: SearchSpace, exp: Experiment, sampler: Any, stored: int) -> tuple[int, Any]:
    """The trial budget and the sampler for this run.

    All parameters fixed: a single fit. A finite space no larger than the budget: every
    configuration once, by brute force. Resuming: the sampler's seed moves on by the number of
    stored trials, or it would propose the first run's configurations again.
    """
    if space.is_empty():
        return 1, sampler
    size = space.size()
    seed = exp.sampler.get("seed")
    if size is not None and size <= exp.n_trials:
        with warnings.catch_warnings():  # experimental in Optuna 5, and exactly the tool for this
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return size, optuna.samplers.BruteForceSampler(seed=seed)
    if stored and seed is not None:
        sampler = _instantiate("sampler", {**exp.sampler, "seed": seed + stored})
    return exp.n_trials, sampler


def run(exp: Experiment, registry: Registry | None = None) -> Summary:
    """Run (or resume) the study of ``exp`` within its budget, then refit and test its best."""
    problem = _resolve(exp, registry or load_registry())
    p, metric = problem.prepared, problem.metric
    identity = {**exp.identity(), "data": p.fingerprint}
    name = f"{p.name}/{exp.model}/seed={exp.seed}/{_digest(identity)}"
    sampler = _instantiate("sampler", exp.sampler)  # checked before anything is stored
    study = optuna.create_study(
        study_name=name,
        storage=open_storage(exp.storage),
        direction=metric.direction,
        pruner=_instantiate("pruner", exp.pruner),
        load_if_exists=True,
    )
    if ATTR not in study.user_attrs:
        study.set_user_attr(
            ATTR,
            {
                "dataset": p.name,
                "model": exp.model,
                "seed": exp.seed,
                "metric": metric.name,
                "direction": metric.direction,
                "task": p.task.value,
                "version": __version__,
                "config": identity,
                "fixed": dict(problem.space.fixed),
            },
        )
    trials = study.get_trials(deepcopy=False, states=FINISHED)
    n_trials, study.sampler = _plan(problem.space, exp, sampler, stored=len(trials))
    left = n_trials - len(trials)
    budget = None if exp.timeout is None else _TimeBudget(exp.timeout - sum(map(_duration, trials)))
    if left > 0 and (budget is None or budget.left > 0):
        complete = [t.value for t in trials if t.state == TrialState.COMPLETE]
        maximize = metric.direction == "maximize"
        progress = Progress(
            label=f"{p.name} · {exp.model}",
            total=n_trials,
            done=len(trials),
            best=(max if maximize else min)(complete) if complete else None,
            maximize=maximize,
            budget=budget,
            enabled=exp.progress,
        )
        try:
            study.optimize(
                _objective(problem),
                n_trials=left,
                catch=(Exception,),
                callbacks=[progress] if budget is None else [budget, progress],
            )
        finally:
            progress.close()
    result = _refit(study, problem) or {}
    trials = study.get_trials(deepcopy=False)
    return Summary(
        study=name,
        dataset=p.name,
        model=exp.model,
        seed=exp.seed,
        metric=metric.name,
        complete=sum(t.state == TrialState.COMPLETE for t in trials),
        failed=sum(t.state == TrialState.FAIL for t in trials),
        val_score=result.get("val_score"),
        test_score=result.get("test_score"),
    )
