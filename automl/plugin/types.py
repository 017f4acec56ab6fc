"""What a plugin registers: datasets (``Dataset``, which load ``Data``), learners (``Model``, built
with a ``FitContext``, encoded by a ``Preprocessing``) and metrics (``Metric``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any, Literal

from automl.plugin.errors import UserError
from automl.plugin.space import SEARCH, implied_domain
from automl.plugin.task import ALL_TASKS, Task

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from automl.plugin.domain import Domain
    from automl.plugin.space import Param


MODALITIES = ("tabular", "image", "sequence")
# The preprocessing families the core makes (automl.fitting.preprocess), by name: ``onehot``
# (impute, one-hot encode categories: for learners that need numbers), ``ordinal`` (impute,
# categories as integers: tree ensembles), ``native`` (categories as pandas categoricals and
# missing values kept: learners that handle both). A learner may bring its own (Preprocessing).
PREPROCESSING = ("onehot", "ordinal", "native")
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
class Cost:
    """What one fit of a learner's first portfolio configuration costs, known before it starts: a
    budget does not start a learner predicted to outlast its share (automl.search.costs).

    ``seconds`` is one fit and its prediction of a quarter as many rows, on 10,000 training rows
    of 10 columns with one output (binary classification, regression), with every core of the
    reference machine (2-core AMD EPYC); ``rows``, ``columns`` and ``outputs`` are the exponents
    of its growth (outputs: the classes of a multiclass task). Measure them with
    ``benchmarks/costs.py``. A comparison scales them to its machine by the trials it has run.
    """

    seconds: float
    rows: float = 1.0
    columns: float = 1.0
    outputs: float = 0.0

    def of(self, rows: int, columns: int, outputs: int) -> float:
        """Seconds of one fit on ``rows`` training rows of ``columns`` columns, on the reference
        machine."""
        return (
            self.seconds
            * (max(rows, 1) / 10_000) ** self.rows
            * (max(columns, 1) / 10) ** self.columns
            * max(outputs, 1) ** self.outputs
        )


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
class Preprocessing:
    """A learner family's own preprocessing of tables: ``make()`` returns an unfitted scikit-learn
    transformer from the dataset's frame to what the learner takes. It is fitted on each fold's
    training rows once and shared by every trial (of every learner that names the same ``name``),
    and put before the learner in its refitted, saved model. Arrays (images, sequences, numbers
    without column types) pass to the learner untouched."""

    name: str
    make: Callable[[], Any]


@dataclass(frozen=True)
class Model:
    """A learner: ``build(params, context)`` returns an unfitted scikit-learn style estimator.

    ``space`` holds its searchable hyperparameters; ``defaults`` fixes some of them (or others that are
    never searched). A user can fix any of them, or return a fixed one to the search, from the config.
    ``modalities`` lists the inputs it takes as they are; a tabular learner gets images and sequences
    flattened, so every learner competes wherever it can. ``domains`` says what values a parameter
    accepts at all (automl.plugin.domain), so that a fixed one is checked before any trial runs.

    What its family needs from the harness it declares here too: its ``preprocessing`` (a family
    the core makes, by name, or its own), and the ``libraries`` it fits with, as pip names them
    (``("lightgbm",)``). Their versions are recorded with each of its results and checked when its
    saved model is loaded; a learner whose library is not installed is refused before any job
    starts, with ``install`` (default ``pip install`` and the missing ones) as the hint, and is left
    out of the default comparison.
    """

    name: str
    build: Callable[[Mapping[str, Any], FitContext], Any]
    space: Mapping[str, Param] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    domains: Mapping[str, Domain] = field(default_factory=dict)
    tasks: frozenset[Task] = ALL_TASKS
    modalities: frozenset[str] = frozenset({"tabular"})
    preprocessing: str | Preprocessing = "onehot"  # one of PREPROCESSING, or its own
    libraries: tuple[str, ...] = ()
    install: str = ""
    max_rows: int | None = None  # training rows beyond which the learner does not scale
    description: str = ""
    # Whether ``automl`` without ``model=...`` compares it (the built-in classical learners do).
    in_default_comparison: bool = False
    # A reference to beat (class priors, the mean), never a member of a budget's ensemble: blended
    # in, a constant prediction only moves the others' decision threshold, which fits the
    # validation rows' ties and not the data.
    baseline: bool = False
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
    # Fits a built estimator while it watches a trial fold's validation rows (early stopping):
    # ``fit_watching(estimator, X, y, X_valid, y_valid, deadline)`` fits it in place and returns
    # the parameters it settled on (``{"n_estimators": 137}``). A refit on all rows takes their
    # mean over the folds; the trial's fold models (its bag) are the early-stopped ones. The
    # validation rows it sees are those whose class the training rows hold. ``deadline`` (on
    # ``time.monotonic()``'s clock, or None) is when it must have stopped, keeping the rounds it
    # made, so that a budget's trial ends with a model instead of being stopped with nothing.
    # None: ``estimator.fit(X, y)``.
    fit_watching: Callable[[Any, Any, Any, Any, Any, float | None], Mapping[str, Any]] | None = None
    # What its first portfolio configuration's fit costs and how that grows with the data's shape;
    # None: unknown (only its earlier studies of the same problem can tell, automl.search.costs).
    cost: Cost | None = None

    def __post_init__(self) -> None:
        family = self.preprocessing
        if isinstance(family, Preprocessing) and family.name in PREPROCESSING:
            raise UserError(
                f"model '{self.name}' brings its own preprocessing named '{family.name}', the name "
                f"of one the harness makes; name it otherwise ({', '.join(PREPROCESSING)} are taken)"
            )
        if not isinstance(family, Preprocessing) and family not in PREPROCESSING:
            raise UserError(
                f"model '{self.name}' declares preprocessing {family!r}; accepted: "
                f"{', '.join(PREPROCESSING)}, or its own automl.Preprocessing"
            )

    def missing(self) -> list[str]:
        """Its libraries that are not installed here."""
        out = []
        for library in self.libraries:
            try:
                version(library)
            except PackageNotFoundError:
                out.append(library)
        return out

    def unavailable(self) -> str | None:
        """Why it cannot run here (a library is not installed, and how to install it), or None."""
        missing = self.missing()
        if not missing:
            return None
        hint = self.install or f"pip install {' '.join(missing)}"
        return f"model '{self.name}' needs {', '.join(missing)}, which is not installed: {hint}"

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
