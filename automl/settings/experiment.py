"""An experiment: everything one study needs, as plain values, in three parts.

The **problem** (data, split, metric, model, fixed parameters and ranges, seed, sampler, pruner)
defines the study: its identity, and so the study's name, is derived from exactly these fields, so
the same problem resumes the same study. The **budget** (trials, time) may grow between runs of one
study; the **execution** (threads, device, isolation and limits, storage, progress, provenance)
says how and where it runs. Each field names its part; nothing lists them a second time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from automl.settings.schema import Schema, SearchSchema, TrialSchema
from automl.settings.split import SplitConfig

PROBLEM, BUDGET, EXECUTION = "problem", "budget", "execution"


def _part(kind: str, since: bool = False, **kwargs: Any) -> Any:
    """A field of ``kind``. ``since``: a problem field added after studies were stored, left out
    of the identity at its default, so that those studies keep their names."""
    return field(metadata={"part": kind, "since": since}, **kwargs)


@dataclass(frozen=True)
class Experiment:
    """Everything one study needs, as plain values (built from the Hydra config by the CLI)."""

    dataset: str = _part(PROBLEM)
    model: str = _part(PROBLEM)
    storage: str = _part(EXECUTION)
    dataset_options: Mapping[str, Any] = _part(PROBLEM, default_factory=dict)
    params: Mapping[str, Any] = _part(PROBLEM, default_factory=dict)
    space: Mapping[str, Mapping[str, Any]] = _part(PROBLEM, default_factory=dict)
    metric: str = _part(PROBLEM, default="auto")
    split: SplitConfig = _part(PROBLEM, default=SplitConfig())
    seed: int = _part(PROBLEM, default=Schema.seed)
    # A learner's study in a budget's comparison is its own (its trials keep predictions, and its
    # seconds are the budget's), not the study of the same learner run on its own.
    budgeted: bool = _part(PROBLEM, default=False, since=True)
    n_trials: int = _part(BUDGET, default=SearchSchema.n_trials)
    # Three defaults differ from the command's on purpose, for a study run from Python: no time
    # budget, no pruner and fits in this process (no worker to spawn, and a registry built in code
    # works), so that a script or a test gets exactly the trials it asks for.
    timeout: float | None = _part(BUDGET, default=None)  # seconds of search, over all runs
    threads: int = _part(EXECUTION, default=Schema.threads)
    # Trials trained together as one program (search.population): how the trials are run, not
    # what the problem is, so a study's name does not depend on it.
    population: int = _part(EXECUTION, default=SearchSchema.population)
    device: str = _part(EXECUTION, default=Schema.device)
    # How the final model is made (automl.fitting.bag): the best trial's fold models (bag) or a
    # refit on all development rows; how, not what the problem is, so not in a study's name.
    final: str = _part(EXECUTION, default=Schema.final)
    sampler: Mapping[str, Any] = _part(
        PROBLEM, default_factory=lambda: {"_target_": "optuna.samplers.TPESampler"}
    )
    pruner: Mapping[str, Any] = _part(
        PROBLEM, default_factory=lambda: {"_target_": "optuna.pruners.NopPruner"}
    )
    progress: bool = _part(EXECUTION, default=Schema.progress)
    # Where fits run (automl.fitting.isolation) and their hard limits.
    isolation: str = _part(EXECUTION, default="inprocess")  # the command's default: subprocess
    trial_timeout: float | None = _part(EXECUTION, default=TrialSchema.timeout)  # s, worker only
    memory: float | None = _part(EXECUTION, default=TrialSchema.memory)  # MiB, worker only
    # Seconds between a running trial's heartbeats in a database storage; a trial silent for twice
    # this long (its worker's machine died) is failed and runs again. None: no heartbeats.
    heartbeat: int | None = _part(EXECUTION, default=TrialSchema.heartbeat)
    # How the run was asked for, recorded with the study so that one command re-runs it.
    command: str | None = _part(EXECUTION, default=None)
    resolved: Mapping[str, Any] | None = _part(EXECUTION, default=None)
    # Keep every completed trial's validation predictions and the refit's test predictions (for
    # an ensemble): returned by the fits, stored beside the storage by the study.
    keep_predictions: bool = _part(EXECUTION, default=False)
    # The folder (an Optuna artifact store) for those predictions and for the refit's evidence (what
    # its metric scored on the test split, for intervals), with its saved model in a ``models``
    # folder beside it. None: nothing is kept, no model is saved (the command sets output_dir's).
    artifacts: str | None = _part(EXECUTION, default=None)

    def identity(self) -> dict[str, Any]:
        """What defines the problem: equal identities resume the same study."""
        return {
            f.name: _plain(getattr(self, f.name))
            for f in fields_of(PROBLEM)
            if not (f.metadata["since"] and getattr(self, f.name) == f.default)
        }


def fields_of(part: str) -> list[dataclasses.Field[Any]]:
    """The fields of :class:`Experiment` that belong to ``part``."""
    return [f for f in dataclasses.fields(Experiment) if f.metadata["part"] == part]


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {  # fields marked identity=False (a setting that only chooses another) stay out,
            # and those marked since (added after studies were stored) at their default
            f.name: getattr(value, f.name)
            for f in dataclasses.fields(value)
            if f.metadata.get("identity", True)
            and not (f.metadata.get("since") and getattr(value, f.name) == f.default)
        }
    return value
