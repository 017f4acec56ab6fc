"""An experiment resolved where its fits run: its data loaded, split and encoded for its learner,
its model, metric, search space and fit context, all checked before any trial runs; and the
dataset cache that lets every study of a process share one load and split."""

from __future__ import annotations

import json
import math
import os
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import optuna

from automl.fitting.data import Prepared, for_model, prepare
from automl.fitting.preprocess import encode_folds
from automl.fitting.protocol import Judge
from automl.plugin.errors import NotApplicable, UserError
from automl.plugin.registry import Registry
from automl.plugin.space import SearchSpace, resolve
from automl.plugin.types import Dataset, FitContext, Metric, Model
from automl.settings.split import SplitConfig

if TYPE_CHECKING:
    from automl.settings.experiment import Experiment


@dataclass
class Resolved:
    """An experiment resolved where its fits run: its data prepared, its model, metric, search space
    and fit context, all checked before any trial runs."""

    prepared: Prepared
    model: Model
    metric: Metric
    space: SearchSpace
    context: FitContext
    keep_predictions: bool = False
    final: str = "refit"  # how the final model is made: bag or refit (Experiment.final resolved)

    def context_for(self, number: int, judge: Judge | None, started: float) -> FitContext:
        """The fit context of trial ``number``, its time counted from ``started``; on a holdout,
        its learner reports each epoch to ``judge`` (with cross-validation, folds are judged)."""
        context = replace(self.context, started=started, trial=number)
        if judge is not None and len(self.prepared.folds) == 1:
            context = replace(context, report=epoch_reporter(judge, self.metric.direction))
        return context

    def score(self, y: Any, prediction: Any, where: str) -> float:
        """The metric's score of ``prediction`` against ``y``, refused when not finite."""
        metric, n_classes = self.metric, self.context.n_classes
        extra = {"n_classes": n_classes} if metric.per_class else {}
        score = float(metric.score(y, prediction, **extra))
        if not math.isfinite(score):
            raise NonFiniteScore(f"metric {metric.name} gave {score} on {where}")
        return score


class NonFiniteScore(ValueError):
    """A metric gave NaN or infinity: the trial fails rather than poison the search."""


class EpochReporter:
    """What a deep learner calls after each epoch: losses fall as models improve, so the study's
    direction decides the sign a pruner sees; a pruner's verdict stops the trial.

    A fitted learner keeps it among its parameters; kept in a file (its fold models as a bag, its
    saved model), it is written as no reporter at all: a verdict belongs to its trial only."""

    def __init__(self, judge: Judge, direction: str) -> None:
        self.judge, self.direction = judge, direction

    def __call__(self, epoch: int, loss: float) -> None:
        if self.judge(epoch, -loss if self.direction == "maximize" else loss):
            raise optuna.TrialPruned(f"pruned after epoch {epoch}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_no_reporter, ())


def _no_reporter() -> None:
    """What an unpickled :class:`EpochReporter` becomes."""
    return None


def epoch_reporter(judge: Judge, direction: str) -> Callable[[int, float], None]:
    """The reporter of a trial judged by ``judge``."""
    return EpochReporter(judge, direction)


_PREPARED: OrderedDict[tuple[Any, ...], Prepared] = OrderedDict()
PREPARED_KEPT = 2  # datasets kept per process; a sweep usually runs one dataset's models in a row


def prepared(spec: Dataset, options: Mapping[str, Any], split: SplitConfig) -> Prepared:
    """The dataset loaded and split once per process, and shared by every study that uses it
    (all the jobs of a sweep, with Hydra's basic launcher), as its folds are by every trial."""
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


def resolve_experiment(exp: Experiment, registry: Registry) -> Resolved:
    """Load and split the data, pick the metric, check that the model applies, build its space."""
    spec = registry.dataset(exp.dataset)
    options = dict(exp.dataset_options)
    spec.check_options(options)
    data = prepared(spec, options, exp.split)
    metric = registry.metric_for(exp.metric, data.task)
    model = registry.model(exp.model)
    unavailable = model.unavailable()
    if unavailable is not None:
        raise UserError(unavailable)
    if model.max_rows is not None and len(data.y_dev) > model.max_rows:
        raise NotApplicable(
            f"model '{model.name}' fits at most {model.max_rows:,} training rows; "
            f"dataset {data.name} has {len(data.y_dev):,}"
        )
    if data.task not in model.tasks:
        raise NotApplicable(
            f"model '{model.name}' does not handle {data.task.value} tasks; "
            f"it handles: {', '.join(sorted(t.value for t in model.tasks))}"
        )
    params = {**model.initial_params(), **exp.params}
    space = resolve(model.space, params, exp.space, task=data.task.value)
    data = encode_folds(for_model(data, model.modalities, model.name), model.preprocessing)
    context = FitContext(
        task=data.task,
        seed=exp.seed,
        threads=exp.threads,
        device=exp.device,
        n_classes=data.n_classes,
        needs_proba=metric.needs == "proba",
    )
    final = exp.final if exp.final != "auto" else ("bag" if len(data.folds) > 1 else "refit")
    return Resolved(data, model, metric, space, context, exp.keep_predictions, final)
