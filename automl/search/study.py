"""One Optuna study per (dataset, model, seed): search, refit the best, record it in the storage.

The storage is the system of record. A study's name carries a digest of everything that defines the
problem (data, split, metric, model, fixed parameters and ranges, sampler, pruner) but not the
budget, so the same command resumes the same study and a larger budget extends it. Budgets count
what the study already holds: finished trials, and search time summed from the trials' own
timestamps.

This module names and opens a study (for the budget comparison too) and runs the plain one: trials
one at a time through the trial loop (:mod:`automl.search.trials`), or in populations
(:mod:`automl.search.population`), then the refit of the best.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from automl._version import __version__
from automl.fitting import devices
from automl.fitting.isolation import Limits, runner
from automl.fitting.protocol import Description, Open
from automl.plugin.registry import Registry
from automl.search import population, samplers
from automl.search.progress import Progress
from automl.search.recovery import retry_stale
from automl.search.trials import Interrupted, TrialLoop
from automl.settings.experiment import Experiment
from automl.storage.provenance import versions
from automl.storage.records import (
    ERROR,
    LEARNER,
    PROBLEM,
    RUN,
    ProblemRecord,
    ResultRecord,
    RunRecord,
    counted,
)
from automl.storage.tally import install
from automl.storage.urls import open_storage

log = logging.getLogger(__name__)


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
    # When no trial succeeded: the most common reason of the failed ones, with its count.
    failure: str | None = None


def digest(identity: Mapping[str, Any]) -> str:
    """The short digest of a study's identity that its name carries."""
    text = json.dumps(identity, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def identity(exp: Experiment, desc: Description) -> dict[str, Any]:
    """What defines the study of ``exp`` once opened: its problem, with validation=auto as the
    method it chose (so it resumes the study of that method), and the data's digest."""
    if exp.split.validation == "auto" and desc.method:
        exp = replace(exp, split=replace(exp.split, validation=desc.method))
    return {**exp.identity(), "data": desc.fingerprint}


def study_name(dataset: str, model: str, seed: int, identity: Mapping[str, Any]) -> str:
    return f"{dataset}/{model}/seed={seed}/{digest(identity)}"


def provenance(exp: Experiment, libraries: Sequence[str] = ()) -> RunRecord:
    """How the latest run of a study was made, with ``libraries`` (its learners'): enough to make
    it again."""
    return RunRecord(
        command=exp.command,
        config=dict(exp.resolved or {}),
        versions=versions(libraries),
        isolation=exp.isolation,
    )


def _problem(exp: Experiment, desc: Description) -> ProblemRecord:
    """The study's problem, stored once when the study is created."""
    return ProblemRecord(
        kind=LEARNER,
        validation=desc.validation,
        dataset=desc.dataset,
        model=exp.model,
        seed=exp.seed,
        metric=desc.metric,
        direction=desc.direction,
        task=desc.task,
        version=__version__,
        config={**exp.identity(), "data": desc.fingerprint},
        fixed=dict(desc.space.fixed),
    )


def open_study(exp: Experiment, desc: Description, storage: Any = None) -> tuple[optuna.Study, int]:
    """Create (or load) the study of an opened experiment, record its problem and this run, and
    give it its sampler; return it with its trial budget. ``storage``: one already open."""
    name = study_name(desc.dataset, exp.model, exp.seed, identity(exp, desc))
    samplers.build("sampler", exp.sampler)  # checked before anything is stored
    study = optuna.create_study(
        study_name=name,
        storage=storage or open_storage(exp.storage, heartbeat=exp.heartbeat, on_stale=retry_stale),
        direction=desc.direction,
        pruner=samplers.build("pruner", exp.pruner),
        load_if_exists=True,
    )
    if PROBLEM not in study.user_attrs:
        study.set_user_attr(PROBLEM, _problem(exp, desc).stored())
    study.set_user_attr(RUN, provenance(exp, desc.libraries).stored())
    n_trials, study.sampler = samplers.for_study(desc.space, exp)
    install(study)  # queued trials found from the tally's look, not a read of every trial
    return study, n_trials


def run(exp: Experiment, registry: Registry | None = None) -> Summary:
    """Run (or resume) the study of ``exp`` within its budget, then refit and test its best."""
    exp = replace(exp, device=devices.for_study(exp.device))  # one GPU per concurrent study
    try:
        return _run(exp, registry)
    finally:
        devices.release()


def _together(exp: Experiment, desc: Description, name: str) -> bool:
    """Whether the study trains populations (``search.population`` above 1, a model that can,
    and something searched in which its members may differ); says why not when asked to."""
    varied = sorted(set(desc.population_varies) & set(desc.space.searched))
    together = exp.population > 1 and desc.population and bool(varied)
    if exp.population > 1 and not together:
        why = (f"model {exp.model} trains one trial at a time" if not desc.population else
               f"none of what its members may differ in is searched "
               f"({', '.join(sorted(desc.population_varies))})")  # fmt: skip
        log.info("%s: %s; search.population=%d is not used", name, why, exp.population)
    return together


def _run(exp: Experiment, registry: Registry | None) -> Summary:
    fits = runner(exp.isolation, Limits(exp.trial_timeout, exp.memory), registry)
    desc = fits.call(Open(exp))
    study, n_trials = open_study(exp, desc)
    loop = TrialLoop(study, fits, desc, n_trials, folder=exp.artifacts)
    progress = Progress(label=f"{desc.dataset} · {exp.model}", total=n_trials, enabled=exp.progress)
    try:
        try:
            if _together(exp, desc, study.study_name):
                population.search(loop, exp.population, exp.timeout, progress)
            else:
                while loop.go_on(exp.timeout, progress):
                    loop.one()
        finally:
            progress.close()
        result = loop.refit()
    except KeyboardInterrupt:
        raise Interrupted(study.study_name) from None
    return summarize(study, exp, desc, result)


def _failure(trials: list[FrozenTrial]) -> str | None:
    """Why a study with no completed trial has none: its most common failure, or that every trial
    was pruned; None when some trial completed."""
    if any(t.state == TrialState.COMPLETE for t in trials):
        return None
    failed = [t for t in trials if t.state == TrialState.FAIL]
    if not failed:
        return "every trial was pruned" if trials else "no trial ran"
    reasons = Counter(str(t.user_attrs.get(ERROR, "no reason recorded")).splitlines()[0]
                      for t in failed)  # fmt: skip
    reason, count = reasons.most_common(1)[0]
    return (
        f"all {len(failed)} trials failed; most common reason ({count} of {len(failed)}): {reason}"
    )


def summarize(
    study: optuna.Study, exp: Experiment, desc: Description, result: ResultRecord | None
) -> Summary:
    """What the CLI reports of one study after a run."""
    trials = counted(study.get_trials(deepcopy=False))
    return Summary(
        study=study.study_name,
        dataset=desc.dataset,
        model=exp.model,
        seed=exp.seed,
        metric=desc.metric,
        complete=sum(t.state == TrialState.COMPLETE for t in trials),
        failed=sum(t.state == TrialState.FAIL for t in trials),
        val_score=None if result is None else result.val_score,
        test_score=None if result is None else result.test_score,
        failure=_failure(trials),
    )
