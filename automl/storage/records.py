"""The stored records: every key the harness writes into an Optuna storage, and how they are read.

The storage is the system of record; the harness writes these user attributes and the views
(leaderboards, comparisons, reports) read them, so this module imports nothing of the harness and
nothing that fits models.

Study attributes, each read and written as a typed record: ``PROBLEM`` (:class:`ProblemRecord`:
what the study is, written once), ``RESULT`` (:class:`ResultRecord`: the refit of the best trial)
and ``RUN`` (:class:`RunRecord`: how the latest run was made); a budget's comparison also has an
ensemble study, without trials, whose ``ALLOCATION`` (:class:`AllocationRecord`) says how the time
was shared.

Trial attributes: ``ERROR`` (why it failed), ``FIT_TIME`` and ``PREDICT_TIME`` (seconds per fold),
``PID`` (the process that fitted it), ``OWNER`` (the process that runs it, for crash recovery),
``INTERRUPTED`` (stopped by a signal or a dead process), ``RETRY_OF`` (the number of the trial it
runs again), ``SURPLUS`` (asked beyond the budget by a race of workers; nothing was fitted),
``PREDICTIONS`` (the artifact id of its validation predictions) and ``STOPPED_BY_BUDGET``.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from optuna.trial import FrozenTrial

PROBLEM = "automl"
RESULT = "result"
RUN = "run"

ERROR = "error"
FIT_TIME = "fit_time"
PREDICT_TIME = "predict_time"
PID = "pid"
OWNER = "owner"
INTERRUPTED = "interrupted"
RETRY_OF = "retry_of"
SURPLUS = "surplus"
# The artifact id of its validation predictions (automl.storage.artifacts).
PREDICTIONS = "predictions"
STOPPED_BY_BUDGET = "stopped_by_budget"  # the budget's time ran out during its fit
ALLOCATION = "allocation"  # on a comparison's study: how a budget was shared (AllocationRecord)
# The training rows each fold's fit of a trial saw, where it was a sample (subsample-first search).
ROWS = "rows"
# What a trial's early stopping settled on (TrialResult.found), which its refit takes.
FOUND = "found"
POPULATION = "population"  # how many trials it was trained with, as one program (search.population)

LEARNER, ENSEMBLE = "learner", "ensemble"  # what a study's row is (ProblemRecord.kind)


class _Record:
    """A study attribute as a typed value: ``stored()`` is the dict written (unset fields left
    out, as earlier versions wrote it), ``read()`` takes one back, ignoring keys it does not know."""

    def stored(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}  # type: ignore[call-overload]

    @classmethod
    def read(cls, stored: Mapping[str, Any]) -> Any:
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in stored.items() if k in known})


@dataclass(frozen=True)
class ProblemRecord(_Record):
    """What a study is (``PROBLEM``), written once when it is created."""

    dataset: str
    model: str
    seed: int
    metric: str
    direction: str  # maximize or minimize
    task: str | None = None
    version: str | None = None  # of the harness that created it
    config: Mapping[str, Any] = field(default_factory=dict)  # the identity, and the data's digest
    fixed: Mapping[str, Any] = field(default_factory=dict)  # the fixed hyperparameters
    kind: str | None = None  # LEARNER (None in earlier versions) or ENSEMBLE
    validation: str | None = None  # how it validates, in words


@dataclass(frozen=True)
class ResultRecord(_Record):
    """The refit of a study's best trial (``RESULT``): its scores and times, or why it failed."""

    best_trial: int | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    val_score: float | None = None
    test_score: float | None = None
    fit_time: float | None = None
    predict_time: float | None = None
    device: str | None = None
    error: str | None = None
    predictions: str | None = None  # artifact id of the refit's test predictions (blendable)
    # The evidence of the test score, for its interval: artifact ids of what the metric scored on
    # the test split (labels, probabilities or values) and of the test labels it was scored against,
    # and the folder (absolute) of the artifact store that holds them.
    scored: str | None = None
    truth: str | None = None
    artifacts: str | None = None
    # The evidence of the validation score, against which the pick is chosen (automl.views.selection):
    # artifact ids of the validation predictions (the best trial's; a blend's own) and labels.
    val_predictions: str | None = None
    val_truth: str | None = None
    n_classes: int | None = None  # the dataset's, which a per-class metric needs
    model: str | None = None  # the saved fitted model (automl.fitting.model_file), an absolute path
    # Why the row's model is what it is, on the test split (automl.fitting.explain): permutation
    # importance per original column as [mean, std], the learner's own importances, or why none
    # was computed.
    importance: Mapping[str, Any] | None = None
    # How the model was made: "bag" (the best trial's fold models averaged) or "refit" (one model
    # fitted on all development rows); and a refit's bag's test score, where both were made.
    final: str | None = None
    bag_score: float | None = None
    # A bag fitted on a sample of the rows (subsample-first search), made because the budget left no
    # time for the refit: the training rows each of its fold models saw.
    rows: int | None = None


@dataclass(frozen=True)
class AllocationRecord(_Record):
    """How a comparison under one budget shared its time (``ALLOCATION`` on its ensemble's study):
    the seconds of the budget used so far over all runs, and per learner its study, search seconds,
    trials and why it left the search early (``skipped``)."""

    budget: float | None = None
    used: float = 0.0
    updated: str | None = None  # when it was last written (ISO 8601, local time as Optuna)
    learners: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    validation: str | None = None


@dataclass(frozen=True)
class RunRecord(_Record):
    """How a study's latest run was made (``RUN``): enough to make it again."""

    command: str | None = None
    config: Mapping[str, Any] = field(default_factory=dict)  # the resolved config, masked
    versions: Mapping[str, str] = field(default_factory=dict)
    isolation: str | None = None


def span(trial: FrozenTrial) -> float:
    """The search time a finished trial counts for, seconds: its start to its end, shared with the
    trials of its population (which start and end together), so that they count it once."""
    if trial.datetime_complete is None or trial.datetime_start is None:
        return 0.0
    seconds = (trial.datetime_complete - trial.datetime_start).total_seconds()
    return seconds / max(1, int(trial.user_attrs.get(POPULATION, 1)))


def interrupted(trial: FrozenTrial) -> bool:
    return bool(trial.user_attrs.get(INTERRUPTED))


def replaced(trials: Iterable[FrozenTrial]) -> set[int]:
    """The numbers of the trials that a (queued or run) retry replaces: a trial failed by a
    heartbeat carries no mark of its own, only its retry says so."""
    return {t.user_attrs[RETRY_OF] for t in trials if RETRY_OF in t.user_attrs}


def counts(trial: FrozenTrial, replaced: Container[int]) -> bool:
    """The rule: whether ``trial`` counts against the budget. Not an interrupted trial, nor one a
    retry replaces (``replaced``: their numbers), which run again; nor a surplus one, asked beyond
    the budget by racing workers, which fitted nothing. :func:`counted` applies it over a list;
    ``automl.storage.tally`` keeps it incrementally as trials are read."""
    return not (interrupted(trial) or trial.user_attrs.get(SURPLUS) or trial.number in replaced)


def counted(trials: Sequence[FrozenTrial]) -> list[FrozenTrial]:
    """The trials that count against the budget. Pass all of a study's trials, not some states:
    whether a trial counts can depend on a retry that is still waiting."""
    out = replaced(trials)
    return [t for t in trials if counts(t, out)]
