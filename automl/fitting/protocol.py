"""The typed boundary between a study and the place its fits run (this process, or a worker).

A request is a frozen dataclass whose type says what it answers (:class:`Open` a
:class:`Description`, :class:`FitTrial` a :class:`TrialResult`, :class:`FitPopulation` a
:class:`PopulationResult`, :class:`Refit` a :class:`RefitResult`, :class:`Blend` a
:class:`BlendResult`): its fields are the request's one signature. A :class:`Runner` carries any
of them through one ``call``, in this process or to a worker, which answers with :class:`Step` (a
running score for the pruner, which the harness answers with whether to stop), :class:`Done` or
:class:`RemoteError`, whose ``kind`` says which exception it becomes on this side. Every message is
picklable.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import optuna

from automl.plugin.errors import NotApplicable, UserError
from automl.plugin.space import SearchSpace
from automl.plugin.types import Cost

if TYPE_CHECKING:
    from automl.settings.experiment import Experiment

# What a fit calls with (step, running score): the pruner's verdict, True to stop the trial. (A
# learner's own per-epoch callback is FitContext.report; this one answers it.)
Judge = Callable[[int, float], bool]


class TrialFailed(Exception):
    """A fit failed where it ran, or took its process with it; the message says how."""


class StoppedByBudget(TrialFailed):
    """A fit ran past the cap that the time left of a budget set it, and its worker was stopped:
    the budget's doing, not the learner's failure."""


@dataclass(frozen=True)
class Description:
    """What the study needs to know about an opened experiment."""

    dataset: str
    fingerprint: str
    task: str
    metric: str
    direction: str
    space: SearchSpace
    folds: int  # validation folds, k x repeats under repeated k-fold
    repeats: int = 1  # times the cross-validation folds were cut
    validation: str = ""  # how it validates, in words ("5-fold cross-validation", ...)
    method: str = ""  # the validation method applied: cv or holdout (auto resolved)
    rows: int = 0  # development rows
    test_rows: int = 0
    portfolio: tuple[Mapping[str, Any], ...] = ()  # the model's known-good configurations
    # Whether the model trains several trials together (Model.fit_population), and the searched
    # parameters in which those may differ.
    population: bool = False
    population_varies: frozenset[str] = frozenset()
    libraries: tuple[str, ...] = ()  # what the model fits with (Model.libraries), for provenance
    baseline: bool = False  # a reference to beat, never an ensemble member (Model.baseline)
    final: str = "refit"  # how its final model is made: bag or refit (Experiment.final)
    # The data's shape as a fit's cost grows with it (Model.cost): the columns of a row as loaded
    # (an image's or a sequence's values), the classes of a multiclass task (else 1).
    columns: int = 0
    outputs: int = 1
    cost: Cost | None = None  # what its first configuration's fit costs (Model.cost)


@dataclass(frozen=True)
class TrialResult:
    """A trial's mean validation score over its folds, and its mean times per fold (seconds)."""

    score: float
    fit_time: float
    predict_time: float
    pid: int  # the process that fitted it: the harness, or its worker
    # With ``Experiment.keep_predictions``: its out-of-fold (or holdout) predictions, the validation
    # rows of every fold in fold order, as class probabilities (classification) or values, float32.
    predictions: Any = None
    # What a learner that stops early settled on, as the refit on all rows takes it: per
    # parameter the mean over folds (rounded where the folds gave integers).
    found: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PopulationResult:
    """Per member of a population, in the order asked: its result, or why it has none (pruned,
    failed) as the error that crosses back."""

    members: tuple[TrialResult | RemoteError, ...]


@dataclass(frozen=True)
class RefitResult:
    """The best configuration refitted on all development rows and scored once on the test split."""

    test_score: float
    fit_time: float
    predict_time: float
    device: str  # where it trained, in words
    predictions: Any = None  # with keep_predictions: on the test split, as TrialResult's
    scored: Any = None  # with keep_predictions: what the metric scored on the test split
    truth: Any = None  # with keep_predictions: the (encoded) test labels or values
    # With keep_predictions: the (encoded) validation labels or values over all folds, in the order
    # of a trial's validation predictions, against which the pick is chosen (automl.views.selection).
    val_truth: Any = None
    n_classes: int | None = None  # the dataset's classes (a test split may lack some)
    model: str | None = None  # where the fitted model was saved, when the request said where
    importance: Mapping[str, Any] | None = None  # automl.fitting.explain's, for a saved model
    # How the model was made: "bag" (the best trial's fold models averaged, automl.fitting.bag; its
    # fit_time is then 0, as nothing was fitted) or "refit"; and, for a refit made where the bag
    # was at hand, the bag's own test score beside it.
    final: str = "refit"
    bag_score: float | None = None
    rows: int | None = None  # a bag fitted on a sample: the training rows of each fold model


@dataclass(frozen=True)
class BlendResult:
    """An ensemble chosen by greedy selection over members' validation predictions."""

    weights: tuple[float, ...]  # one per member, summing to 1
    val_score: float  # the blend's, by the same measure as a trial's (the mean over folds)
    member_scores: tuple[float, ...]  # each member's own, by that measure
    test_score: float
    predictions: Any = None  # the blend on the test split, as the members' test predictions
    scored: Any = None  # what the metric scored of it
    truth: Any = None
    val_predictions: Any = None  # the blend on the validation rows (out of fold under CV)
    val_truth: Any = None  # as RefitResult's
    n_classes: int | None = None
    model: str | None = None  # the ensemble saved as one model, when the request said where
    importance: Mapping[str, Any] | None = None


A = TypeVar("A")


class Request(Generic[A]):
    """A request to where fits run, answered with an ``A``."""

    # Seconds it may take before it is stopped as StoppedByBudget (a budget's time left); only a
    # worker can stop a fit, so a runner in this process reads it as advice. None: no cap.
    cap: float | None = None

    @property
    def share(self) -> int:
        """How many trials' hard limits (``trial.timeout``) it may take."""
        return 1


@dataclass(frozen=True)
class Open(Request[Description]):
    """Load, split and check ``experiment``'s problem; later requests are about it."""

    experiment: Experiment


@dataclass(frozen=True)
class FitTrial(Request[TrialResult]):
    """Fit and score trial ``number`` with ``params`` on every validation fold."""

    number: int
    params: Mapping[str, Any]
    cap: float | None = None
    # The training rows each fold's fit sees: a seeded sample of its own (subsample-first search,
    # automl.search.allocation); None: all of them.
    rows: int | None = None


@dataclass(frozen=True)
class Member:
    """One trial of a population: its number and parameters."""

    number: int
    params: Mapping[str, Any]


@dataclass(frozen=True)
class FitPopulation(Request[PopulationResult]):
    """Trials trained together as one program where the model can (else one after another)."""

    members: tuple[Member, ...]
    cap: float | None = None

    @property
    def share(self) -> int:
        return len(self.members)  # a population of K trials may take K trials' limits


@dataclass(frozen=True)
class Refit(Request[RefitResult]):
    """The final model of trial ``trial`` (parameters ``params``), scored once on the test split:
    its fold models averaged, where the fitting process holds them and the experiment asks for a
    bag, else ``params`` fitted on all development rows; with ``save``, write the model there
    (explained when the ``cap`` leaves time)."""

    params: Mapping[str, Any]
    save: str | None = None
    cap: float | None = None
    trial: int | None = None
    # The bag wherever it is at hand, whatever the experiment asks: a budget without time left
    # for a refit.
    bag: bool = False


@dataclass(frozen=True)
class Blend(Request[BlendResult]):
    """Choose an ensemble of ``members`` (each a pair: validation predictions, test predictions)
    with ``size`` rounds of greedy selection, and score it; with ``save``, the members' saved
    ``models`` combined into the ensemble's model there."""

    members: tuple[tuple[Any, Any], ...]
    size: int
    models: tuple[str, ...] = ()
    save: str | None = None
    cap: float | None = None


class Runner(Protocol):
    """Carries requests to where fits run and brings their answers back."""

    def call(self, request: Request[A], judges: Sequence[Judge | None] = ()) -> A:
        """Answer ``request``; ``judges`` holds the Judge (or None) of each trial it fits, in the
        order of its members (a trial is member 0)."""
        ...


@dataclass(frozen=True)
class Step:
    """A running score of a trial (an epoch's, or the folds' so far), for the pruner to judge."""

    step: int
    value: float
    member: int = 0  # which member of a population it is about


@dataclass(frozen=True)
class Done:
    value: Description | TrialResult | PopulationResult | RefitResult | BlendResult


class Kind(Enum):
    PRUNED = "pruned"
    NOT_APPLICABLE = "not_applicable"
    USER = "user"
    FAILED = "failed"


_RAISES: dict[Kind, Callable[[str], BaseException]] = {
    Kind.PRUNED: optuna.TrialPruned,
    Kind.NOT_APPLICABLE: NotApplicable,
    Kind.USER: UserError,
    Kind.FAILED: TrialFailed,
}


@dataclass(frozen=True)
class RemoteError:
    """An exception raised where the fit ran, as it crosses back."""

    kind: Kind
    text: str

    @classmethod
    def of(cls, error: BaseException) -> RemoteError:
        if isinstance(error, optuna.TrialPruned):
            return cls(Kind.PRUNED, str(error))
        if isinstance(error, NotApplicable):
            return cls(Kind.NOT_APPLICABLE, str(error))
        if isinstance(error, UserError):
            return cls(Kind.USER, str(error))
        return cls(Kind.FAILED, f"{type(error).__name__}: {error}"[:2000])

    def exception(self) -> BaseException:
        return _RAISES[self.kind](self.text)

    @property
    def exhausted(self) -> bool:
        """Whether its process ran out of memory, after which its allocators may be in a poor
        state: the worker leaves, and the next request starts a fresh one."""
        return self.kind is Kind.FAILED and (
            self.text.startswith("MemoryError") or "OutOfMemory" in self.text
        )
