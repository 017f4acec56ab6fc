"""An experiment resolved where its fits run: its data loaded, split and encoded for its learner,
its model, metric, search space and fit context, all checked before any trial runs; and the
dataset cache that lets every study of a process share one load and split."""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from automl.fitting.data import Prepared, for_model, prepare
from automl.fitting.preprocess import encode_folds
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
    if model.unavailable() is not None:
        raise UserError(str(model.unavailable()))
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
    return Resolved(data, model, metric, space, context, exp.keep_predictions)
