"""What plugins register (datasets, models, metrics) and the registry that collects them."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from automl.errors import UserError, choose
from automl.space import SEARCH, implied_domain
from automl.task import ALL_TASKS, Task

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import pluggy

    from automl.domain import Domain
    from automl.space import Param


MODALITIES = ("tabular", "image", "sequence")
REQUIRED = "???"  # the default of a dataset option that the user must set


@dataclass
class Data:
    """Features and target, and the dataset's own test split where it defines one.

    ``modality`` says what ``X`` holds: ``tabular`` (N×F array or DataFrame), ``image`` (N×C×H×W
    array) or ``sequence`` (N×T×F array; a series shorter than T is padded at the end with NaN).
    ``task`` is inferred from ``y`` when left None. ``name`` overrides the dataset's registered
    name in leaderboards (a CSV file's stem, say).
    """

    X: np.ndarray | pd.DataFrame
    y: np.ndarray | pd.Series
    X_test: np.ndarray | pd.DataFrame | None = None
    y_test: np.ndarray | pd.Series | None = None
    task: Task | None = None
    name: str | None = None
    modality: str = "tabular"


@dataclass(frozen=True)
class Dataset:
    """A dataset: ``load(**options)`` returns :class:`Data`.

    ``options`` are its configurable settings with their defaults; each appears as
    ``dataset.<option>`` in the config. A default of ``"???"`` makes the option required.
    """

    name: str
    load: Callable[..., Data]
    options: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""

    def check_options(self, options: Mapping[str, Any]) -> None:
        """Refuse ``options`` that leave a required one (default ``"???"``) unset."""
        missing = [k for k, v in options.items() if v == REQUIRED]
        if missing:
            raise UserError(f"dataset {self.name} needs dataset.{missing[0]}=<value>")


@dataclass(frozen=True)
class FitContext:
    """What a model's ``build`` may need besides its hyperparameters."""

    task: Task
    seed: int
    threads: int = 1  # threads a learner may use; 0 or less means all cores
    device: str = "auto"  # auto, cpu or cuda: where learners that can use a GPU run
    n_classes: int | None = None
    needs_proba: bool = False  # the metric scores predict_proba, so the model must provide it
    # Called by iterative learners after each epoch with (epoch, validation loss). With a pruner
    # the harness raises optuna.TrialPruned from it to stop a hopeless trial. None: nobody listens.
    report: Callable[[int, float], None] | None = None
    # When the trial (or the refit) began, on time.monotonic()'s clock: a learner with a time limit
    # counts it from here, so that all folds of a cross-validated trial share one limit.
    started: float | None = None
    # The Optuna trial number this fit belongs to; None for the final refit.
    trial: int | None = None


@dataclass(frozen=True)
class Model:
    """A learner: ``build(params, context)`` returns an unfitted scikit-learn style estimator.

    ``space`` holds its searchable hyperparameters; ``defaults`` fixes some of them (or others that are
    never searched). A user can fix any of them, or return a fixed one to the search, from the config.
    ``modalities`` lists the inputs it takes as they are; a tabular learner gets images and sequences
    flattened, so every learner competes wherever it can. ``domains`` says what values a parameter
    accepts at all (automl.domain), so that a fixed one is checked before any trial runs.
    """

    name: str
    build: Callable[[Mapping[str, Any], FitContext], Any]
    space: Mapping[str, Param] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    domains: Mapping[str, Domain] = field(default_factory=dict)
    tasks: frozenset[Task] = ALL_TASKS
    modalities: frozenset[str] = frozenset({"tabular"})
    preprocessing: str = "onehot"  # onehot, ordinal or native: see automl.preprocess
    max_rows: int | None = None  # training rows beyond which the learner does not scale
    description: str = ""
    # Whether ``automl`` without ``model=...`` compares it (the built-in classical learners do).
    in_default_comparison: bool = False
    # Known-good configurations of the searched parameters, tried first (in this order) when a
    # budget is shared across learners: its defaults, then the ones its plugin measured to help.
    portfolio: tuple[Mapping[str, Any], ...] = ()
    # Trains several built estimators (trials of one study) together as one program, in place:
    # ``fit_population(estimators, X, y)`` gives, per estimator, None or the exception that stopped
    # it (optuna.TrialPruned from its context's ``report``, or a failure), and the others go on.
    # None: the learner trains one trial at a time. See ``search.population``.
    fit_population: Callable[[Sequence[Any], Any, Any], Sequence[BaseException | None]] | None = (
        None
    )
    # The searched parameters in which members of one population may differ; the study draws the
    # others once per population (with its first member), so that the members fit one program.
    population_varies: frozenset[str] = frozenset()

    def initial_params(self) -> dict[str, Any]:
        """Every hyperparameter with its starting setting: the default, or ``search``."""
        return {**{name: SEARCH for name in self.space}, **self.defaults}

    def domain(self, name: str) -> Domain | None:
        """What ``name`` accepts: its declared domain, else what its range's kind implies."""
        if name in self.domains:
            return self.domains[name]
        return implied_domain(self.space[name]) if name in self.space else None


@dataclass(frozen=True)
class Metric:
    """A score: ``score(y_true, y_pred)``, where ``y_pred`` is what ``needs`` says.

    ``needs`` is ``"label"`` (class labels from ``predict``), ``"proba"`` (a samples × classes matrix
    from ``predict_proba``) or ``"value"`` (regression predictions). Class labels are always encoded
    as 0..n-1; with ``per_class=True`` the metric is called as ``score(y_true, y_pred, n_classes=n)``,
    for metrics that must know classes absent from a particular split.

    A metric that is the mean of per-row terms may say so with ``per_row(y_true, y_pred)``, giving
    the terms, and ``from_mean`` (a function of the mean, for RMSE's square root): its bootstrap
    intervals then average resampled terms instead of calling ``score`` a thousand times.
    """

    name: str
    score: Callable[[Any, Any], float]
    direction: Literal["maximize", "minimize"]
    tasks: frozenset[Task]
    needs: Literal["label", "proba", "value"] = "label"
    default_for: frozenset[Task] = frozenset()
    per_class: bool = False
    description: str = ""
    per_row: Callable[[Any, Any], Any] | None = None
    from_mean: Callable[[Any], Any] | None = None


log = logging.getLogger(__name__)
KINDS = ("dataset", "model", "metric")


class Registry:
    """Everything the loaded plugins registered, by kind and name, with the plugin that owns it."""

    def __init__(self, packages: Mapping[str, str] | None = None) -> None:
        self._items: dict[str, dict[str, Any]] = {kind: {} for kind in KINDS}
        self._owners: dict[tuple[str, str], str] = {}
        self._packages = dict(packages or {})  # plugin name -> "package version", for messages

    def _named(self, plugin: str) -> str:
        package = self._packages.get(plugin)
        return f"plugin '{plugin}'" + (f" (from {package})" if package else "")

    def add(self, kind: str, item: Dataset | Model | Metric, plugin: str) -> None:
        key = (kind, item.name)
        if key in self._owners:
            raise UserError(
                f"{self._named(plugin)} registers {kind} '{item.name}', "
                f"which {self._named(self._owners[key])} already registered"
            )
        self._items[kind][item.name] = item
        self._owners[key] = plugin

    def names(self, kind: str) -> list[str]:
        return sorted(self._items[kind])

    def owned_by(self, plugin: str) -> dict[str, list[str]]:
        """What ``plugin`` registered: names by kind."""
        return {
            kind: sorted(
                n for (k, n), owner in self._owners.items() if k == kind and owner == plugin
            )
            for kind in KINDS
        }

    def owner(self, kind: str, name: str) -> str:
        return self._owners[(kind, name)]

    def get(self, kind: str, name: str) -> Any:
        try:
            return self._items[kind][name]
        except KeyError:
            raise choose(kind, name, self.names(kind)) from None

    def dataset(self, name: str) -> Dataset:
        return self.get("dataset", name)

    def model(self, name: str) -> Model:
        return self.get("model", name)

    def metric(self, name: str) -> Metric:
        return self.get("metric", name)

    def datasets(self) -> list[Dataset]:
        return list(self._items["dataset"].values())

    def models(self) -> list[Model]:
        return list(self._items["model"].values())

    def default_comparison(self) -> list[str]:
        """The models ``automl`` compares when none is named, in the order they registered."""
        return [m.name for m in self.models() if m.in_default_comparison]

    def metrics(self) -> list[Metric]:
        return list(self._items["metric"].values())

    def default_metric(self, task: Task) -> Metric:
        for metric in self.metrics():
            if task in metric.default_for:
                return metric
        raise UserError(f"no plugin registers a default metric for {task.value} tasks")

    def metric_for(self, name: str, task: Task) -> Metric:
        """The metric to optimise: ``auto`` is the task's default; others must suit the task."""
        if name == "auto":
            return self.default_metric(task)
        metric = self.metric(name)
        if task not in metric.tasks:
            fits = [m.name for m in self.metrics() if task in m.tasks]
            raise UserError(
                f"metric '{name}' does not apply to {task.value} tasks; "
                f"metrics for {task.value}: {', '.join(sorted(fits))}"
            )
        return metric


def collect(pm: pluggy.PluginManager, packages: Mapping[str, str] | None = None) -> Registry:
    """Call every plugin's register hooks, remembering which plugin registered what.

    A hook implementation that raises is skipped with a warning naming its plugin and package
    (``packages``: plugin name to "package version"), and nothing it registered in that call is
    kept: one broken plugin must not take the others down. A name registered twice is an error.
    """
    registry = Registry(packages)
    for kind in KINDS:
        caller = getattr(pm.hook, f"register_{kind}s")
        for impl in caller.get_hookimpls():
            plugin = impl.plugin_name
            staged: list[Any] = []
            # Pass only the arguments the implementation asks for, as pluggy itself does.
            kwargs = {"register": staged.append}
            try:
                impl.function(**{name: kwargs[name] for name in impl.argnames})
            except Exception as error:
                package = (packages or {}).get(plugin, "an unknown package")
                log.warning(
                    "plugin '%s' (from %s) raised in register_%ss and is skipped there: %s: %s",
                    plugin, package, kind, type(error).__name__, error,
                )  # fmt: skip
                continue
            for item in staged:
                registry.add(kind, item, plugin)
    return registry
