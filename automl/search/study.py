"""One Optuna study per (dataset, model, seed): search, refit the best, record it in the storage.

The storage is the system of record. A study's name carries a digest of everything that defines the
problem (data, split, metric, model, fixed parameters and ranges, sampler, pruner) but not the budget,
so the same command resumes the same study and a larger budget extends it. Budgets count what the
study already holds: finished trials, and search time summed from the trials' own timestamps.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
import warnings
from collections import Counter
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.trial import TrialState

from automl._version import __version__
from automl.fitting import devices
from automl.fitting.isolation import Limits, runner
from automl.fitting.protocol import (
    BlendResult,
    Description,
    FitPopulation,
    FitTrial,
    Judge,
    Member,
    Open,
    Refit,
    RefitResult,
    RemoteError,
    Runner,
    StoppedByBudget,
    TrialFailed,
    TrialResult,
)
from automl.plugin.registry import Registry
from automl.plugin.space import SearchSpace
from automl.search import samplers
from automl.search.progress import Progress
from automl.search.recovery import recover, retry_stale
from automl.settings.experiment import Experiment
from automl.storage import artifacts
from automl.storage.internals import heartbeat, set_trial_user_attrs
from automl.storage.provenance import versions
from automl.storage.records import (
    ERROR,
    FIT_TIME,
    INTERRUPTED,
    LEARNER,
    PID,
    POPULATION,
    PREDICT_TIME,
    PREDICTIONS,
    PROBLEM,
    RESULT,
    RUN,
    STOPPED_BY_BUDGET,
    SURPLUS,
    ProblemRecord,
    ResultRecord,
    RunRecord,
    counted,
)
from automl.storage.tally import install, tally
from automl.storage.urls import open_storage

log = logging.getLogger(__name__)

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
ATTR = PROBLEM  # the study attribute describing its problem (the name tests and scripts know)


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


def _failure(trials: list[optuna.trial.FrozenTrial]) -> str | None:
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


def _digest(identity: Mapping[str, Any]) -> str:
    text = json.dumps(identity, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) stopped a study; its running trial is marked and will run again."""

    def __init__(self, study: str) -> None:
        super().__init__(study)
        self.study = study


def _reason(error: BaseException) -> str:
    text = str(error) if isinstance(error, TrialFailed) else f"{type(error).__name__}: {error}"
    return text[:2000]


class _Surplus(Exception):
    """Another worker of the study took the last of the budget (or this retry) first."""


def _objective(
    run_fit: Runner,
    space: SearchSpace,
    budget: int,
    cap: Callable[[], float | None] = lambda: None,
    artifacts: str | None = None,
) -> Any:
    """The study's objective: one trial fitted through ``run_fit``. ``cap`` gives the seconds the
    fit may take (a budget's time left); with ``artifacts``, its predictions are kept there."""

    def objective(trial: optuna.Trial) -> float:
        def judge(step: int, value: float) -> bool:
            trial.report(value, step)
            return trial.should_prune()

        counts = tally(trial.study, look=False)
        if counts.vouched != trial.number:  # another worker asked meanwhile: read again
            counts.look()
        if counts.surplus(trial.number, budget):
            trial.set_user_attr(SURPLUS, True)  # counts nowhere; nothing was fitted
            raise _Surplus(f"trial {trial.number}: the budget of {budget} trials is taken")
        try:
            params = space.suggest(trial)
            outcome = run_fit.call(FitTrial(trial.number, params, cap()), (judge,))
        except optuna.TrialPruned:
            raise
        except StoppedByBudget as error:
            trial.set_user_attr(STOPPED_BY_BUDGET, True)
            trial.set_user_attr(ERROR, _reason(error))
            log.info("trial %d: %s", trial.number, error)
            raise
        except KeyboardInterrupt:
            trial.set_user_attr(INTERRUPTED, True)
            trial.set_user_attr(ERROR, "interrupted: stopped by Ctrl-C or SIGTERM")
            raise
        except Exception as error:  # recorded on the trial; the study goes on
            trial.set_user_attr(ERROR, _reason(error))
            log.warning("trial %d failed: %s", trial.number, _reason(error).splitlines()[0])
            raise
        _record_times(trial, outcome)
        if artifacts is not None and outcome.predictions is not None:
            _keep(artifacts, outcome.predictions, trial)
        return outcome.score

    return objective


def _population_search(
    study: optuna.Study,
    run_fit: Runner,
    desc: Description,
    exp: Experiment,
    n_trials: int,
    progress: Progress,
) -> None:
    """The search with ``search.population=K``: K trials asked at once (their shared parameters
    drawn with the first, see ``Model.population_varies``), trained together, each told its own
    result. A population killed mid-way leaves RUNNING trials that recovery queues again, with
    their parameters, for the next run."""
    while _search_on(study, n_trials, exp.timeout, progress, desc.direction):
        counts = tally(study)
        taken = counts.done + len(counts.running())
        size = max(1, min(exp.population, n_trials - taken))
        asked = _ask_population(study, desc, size, n_trials)
        if not asked:
            continue
        with ExitStack() as beats:
            for trial, _ in asked:
                beats.enter_context(heartbeat(study, trial))
            _train_population(study, run_fit, asked)


def _ask_population(
    study: optuna.Study, desc: Description, size: int, budget: int
) -> list[tuple[optuna.Trial, dict[str, Any]]]:
    """Up to ``size`` new trials with their parameters; queued retries come first, as with
    ``optimize``. Members after the first draw with its parameters outside ``population_varies``
    fixed (Optuna's PartialFixedSampler around the study's own, in this process only)."""
    asked: list[tuple[optuna.Trial, dict[str, Any]]] = []
    sampler = study.sampler
    try:
        for _ in range(size):
            trial = study.ask()
            if tally(study).surplus(trial.number, budget):
                trial.set_user_attr(SURPLUS, True)  # counts nowhere; nothing was fitted
                study.tell(trial, state=TrialState.FAIL)
                break
            try:
                asked.append((trial, desc.space.suggest(trial)))
            except Exception as error:  # a space that cannot be sampled fails this trial alone
                _told_failure(study, trial, error)
                continue
            if len(asked) == 1:
                shared = {k: v for k, v in trial.params.items() if k not in desc.population_varies}
                with warnings.catch_warnings():  # "experimental" since Optuna 2.4, and the tool
                    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                    study.sampler = optuna.samplers.PartialFixedSampler(shared, sampler)
    finally:
        study.sampler = sampler
    return asked


def _train_population(
    study: optuna.Study,
    run_fit: Runner,
    asked: list[tuple[optuna.Trial, dict[str, Any]]],
) -> None:
    """Train the asked trials together and tell each its result; a failure of the whole
    population (its worker died, its hard limit) fails every member with that reason."""

    def judge_of(trial: optuna.Trial) -> Judge:
        def judge(step: int, value: float) -> bool:
            trial.report(value, step)
            return trial.should_prune()

        return judge

    members = tuple(Member(t.number, params) for t, params in asked)
    for trial, _ in asked:  # its span is the population's: search time counts it once
        trial.set_user_attr(POPULATION, len(asked))
    try:
        result = run_fit.call(FitPopulation(members), tuple(judge_of(t) for t, _ in asked))
    except KeyboardInterrupt:
        for trial, _ in asked:
            trial.set_user_attr(INTERRUPTED, True)
            trial.set_user_attr(ERROR, "interrupted: stopped by Ctrl-C or SIGTERM")
            study.tell(trial, state=TrialState.FAIL)
        raise
    except Exception as error:
        for trial, _ in asked:
            _told_failure(study, trial, error)
        return
    for (trial, _), outcome in zip(asked, result.members, strict=True):
        if isinstance(outcome, RemoteError):
            error = outcome.exception()
            if isinstance(error, optuna.TrialPruned):
                study.tell(trial, state=TrialState.PRUNED)
            else:
                _told_failure(study, trial, error)
            continue
        _record_times(trial, outcome)
        study.tell(trial, outcome.score)


def _record_times(trial: optuna.Trial, outcome: TrialResult) -> None:
    """A fitted trial's times and the process that fitted it, in one write (storage's
    ``set_trial_user_attrs``: one transaction of a database, where three cost three commits)."""
    attrs = {FIT_TIME: outcome.fit_time, PREDICT_TIME: outcome.predict_time, PID: outcome.pid}
    set_trial_user_attrs(trial.study, trial, attrs)


def _told_failure(study: optuna.Study, trial: optuna.Trial, error: BaseException) -> None:
    trial.set_user_attr(ERROR, _reason(error))
    log.warning("trial %d failed: %s", trial.number, _reason(error).splitlines()[0])
    study.tell(trial, state=TrialState.FAIL)


def _keep(folder: str, array: Any, trial: optuna.Trial) -> None:
    """Keep a trial's validation predictions, or say why they are not kept."""
    reason = artifacts.too_large(array)
    if reason is None:
        trial.set_user_attr(PREDICTIONS, artifacts.save(folder, array, trial, "validation"))
    else:
        trial.set_user_attr(PREDICTIONS + "_skipped", reason)


def _refit(
    study: optuna.Study,
    run_fit: Runner,
    space: SearchSpace,
    cap: float | None = None,
    artifacts: str | None = None,
) -> ResultRecord | None:
    """Fit the best configuration on train+validation and score it once on the test split (within
    ``cap`` seconds, when a budget sets one); with ``artifacts``, keep its test predictions."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        return None
    best = study.best_trial
    previous = study.user_attrs.get(RESULT)
    if (
        previous
        and previous.get("best_trial") == best.number
        and ERROR not in previous
        and (artifacts is None or (previous.get("scored") and previous.get("model")))
    ):
        return ResultRecord.read(previous)  # already refit for this best trial: nothing to redo
    params = space.complete(best.params)
    try:
        save = None if artifacts is None else str(model_path(artifacts, study.study_name))
        refit = run_fit.call(Refit(params, save, cap))
        result = ResultRecord(
            best.number, params, best.value,
            **{f.name: getattr(refit, f.name) for f in fields(refit) if f.name not in EVIDENCE},
            **({} if artifacts is None else evidence(artifacts, refit, study)),
        )  # fmt: skip
    except KeyboardInterrupt:
        raise
    except Exception as error:
        result = ResultRecord(best.number, params, best.value, error=_reason(error))
        log.warning("refit of %s failed: %s", study.study_name, result.error)
    study.set_user_attr(RESULT, result.stored())
    return result


EVIDENCE = ("predictions", "scored", "truth")  # arrays, kept as artifacts rather than in the record


def model_path(folder: str, study: str) -> Path:
    """Where the fitted model of ``study`` is saved: a readable name, unique by the study's digest."""
    return artifacts.models(folder) / f"{re.sub(r'[^A-Za-z0-9._=-]+', '_', study)}.model"


def evidence(
    folder: str, made: RefitResult | BlendResult, study: optuna.Study
) -> dict[str, Any]:
    """The arrays of a refit (or a blend) kept for ``study``: its test predictions for an ensemble,
    and what its metric scored with the labels, for the test score's interval."""
    out: dict[str, Any] = {"artifacts": str(Path(folder).absolute())}

    def exact(array: Any) -> type:  # labels as int32 (a quarter of the bytes), values whole
        return np.int32 if np.issubdtype(np.asarray(array).dtype, np.integer) else np.float64

    arrays = {"predictions": (made.predictions, np.float32),
              "scored": (made.scored, exact(made.scored)),
              "truth": (made.truth, exact(made.truth))}  # fmt: skip
    for key, (array, dtype) in arrays.items():
        if array is not None and artifacts.too_large(array) is None:
            out[key] = artifacts.save(folder, array, study, f"test-{key}", dtype)
    return out


def _describe(exp: Experiment, desc: Description) -> ProblemRecord:
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


def _provenance(exp: Experiment) -> RunRecord:
    """How the latest run of a study was made: enough to make it again."""
    return RunRecord(
        command=exp.command,
        config=dict(exp.resolved or {}),
        versions=versions(),
        isolation=exp.isolation,
    )


# How often a worker that waits for the study's last trials looks again, seconds.
WAITING_RECHECK = 1.0


def _search_on(
    study: optuna.Study, n_trials: int, timeout: float | None, progress: Progress, direction: str
) -> bool:
    """Whether to run another trial. Everything is counted from the storage, so that the budgets
    hold across runs and across workers sharing the study. While other workers run the budget's
    last trials this one waits: a worker that dies leaves its trial to the survivors."""
    waiting = False
    while True:
        counts = recover(study)  # closes trials whose process died, queues them again
        running = counts.running()
        left = None if timeout is None else timeout - counts.spent
        progress.show(counts.done, counts.best(direction), left)
        if counts.done >= n_trials or (left is not None and left <= 0):
            return False
        if counts.done + len(running) < n_trials:
            return True
        if not waiting:
            log.info("%s: waiting for %d trial(s) of other workers", study.study_name, len(running))
            waiting = True
        time.sleep(WAITING_RECHECK)


def run(exp: Experiment, registry: Registry | None = None) -> Summary:
    """Run (or resume) the study of ``exp`` within its budget, then refit and test its best."""
    exp = replace(exp, device=devices.for_study(exp.device))  # one GPU per concurrent study
    try:
        return _run(exp, registry)
    finally:
        devices.release()


def identity(exp: Experiment, desc: Description) -> dict[str, Any]:
    """What defines the study of ``exp`` once opened: its problem, with validation=auto as the
    method it chose (so it resumes the study of that method), and the data's digest."""
    if exp.split.validation == "auto" and desc.method:
        exp = replace(exp, split=replace(exp.split, validation=desc.method))
    return {**exp.identity(), "data": desc.fingerprint}


def study_name(dataset: str, model: str, seed: int, identity: Mapping[str, Any]) -> str:
    return f"{dataset}/{model}/seed={seed}/{_digest(identity)}"


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
    if ATTR not in study.user_attrs:
        study.set_user_attr(ATTR, _describe(exp, desc).stored())
    study.set_user_attr(RUN, _provenance(exp).stored())
    n_trials, study.sampler = samplers.for_study(desc.space, exp)
    install(study)  # queued trials found from the tally's look, not a read of every trial
    return study, n_trials


def _run(exp: Experiment, registry: Registry | None) -> Summary:
    run_fit = runner(exp.isolation, Limits(exp.trial_timeout, exp.memory), registry)
    desc = run_fit.call(Open(exp))
    study, n_trials = open_study(exp, desc)
    name = study.study_name
    objective = _objective(run_fit, desc.space, n_trials)
    progress = Progress(label=f"{desc.dataset} · {exp.model}", total=n_trials, enabled=exp.progress)
    varied = sorted(set(desc.population_varies) & set(desc.space.searched))
    together = exp.population > 1 and desc.population and bool(varied)
    if exp.population > 1 and not together:
        why = (f"model {exp.model} trains one trial at a time" if not desc.population else
               f"none of what its members may differ in is searched "
               f"({', '.join(sorted(desc.population_varies))})")  # fmt: skip
        log.info("%s: %s; search.population=%d is not used", name, why, exp.population)
    try:
        try:
            if together:
                _population_search(study, run_fit, desc, exp, n_trials, progress)
            while not together and _search_on(
                study, n_trials, exp.timeout, progress, desc.direction
            ):
                study.optimize(objective, n_trials=1, catch=(Exception,))
        finally:
            progress.close()
        result = _refit(study, run_fit, desc.space, artifacts=exp.artifacts)
    except KeyboardInterrupt:
        raise Interrupted(name) from None
    return summarize(study, exp, desc, result)


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
