"""One study's trial loop: ask a trial, fit it through the runner, tell its result, refit the best.

The plain study (:mod:`automl.search.study`), the population (:mod:`automl.search.population`)
and the budget comparison (:mod:`automl.search.budget`) are its three callers; each decides how
many trials to ask and when, this loop what a trial is. Every count is read from the storage
(``automl.storage.tally``), so a trial budget holds across runs and across workers sharing the
study: a trial asked beyond it is closed as surplus before it fits anything. A trial that fails is
recorded with its reason and the study goes on; one stopped by Ctrl-C is marked interrupted and
runs again in the next run (``automl.search.recovery``).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.trial import TrialState

from automl.fitting.protocol import (
    BlendResult,
    Description,
    FitPopulation,
    FitTrial,
    Judge,
    Member,
    Refit,
    RefitResult,
    RemoteError,
    Runner,
    StoppedByBudget,
    TrialFailed,
    TrialResult,
)
from automl.search.progress import Progress
from automl.search.recovery import recover
from automl.storage import artifacts
from automl.storage.internals import set_trial_user_attrs
from automl.storage.records import (
    ERROR,
    FIT_TIME,
    FOUND,
    INTERRUPTED,
    PID,
    POPULATION,
    PREDICT_TIME,
    PREDICTIONS,
    RESULT,
    ROWS,
    STOPPED_BY_BUDGET,
    SURPLUS,
    ResultRecord,
)
from automl.storage.tally import tally

log = logging.getLogger(__name__)

# How often a worker that waits for the study's last trials looks again, seconds.
WAITING_RECHECK = 1.0
STOPPED = "interrupted: stopped by Ctrl-C or SIGTERM"
# Arrays, kept as artifacts rather than in the record.
EVIDENCE = ("predictions", "scored", "truth", "val_predictions", "val_truth")


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) stopped a study; its running trial is marked and will run again."""

    def __init__(self, study: str) -> None:
        super().__init__(study)
        self.study = study


class Surplus(Exception):
    """Another worker of the study took the last of the trial budget (or this retry) first."""


def reason(error: BaseException) -> str:
    """Why a fit failed, as recorded on its trial or result."""
    text = str(error) if isinstance(error, TrialFailed) else f"{type(error).__name__}: {error}"
    return text[:2000]


def model_path(folder: str, study: str) -> Path:
    """Where the fitted model of ``study`` is saved: a readable name, unique by its digest."""
    return artifacts.models(folder) / f"{re.sub(r'[^A-Za-z0-9._=-]+', '_', study)}.model"


def evidence(folder: str, made: RefitResult | BlendResult, study: optuna.Study) -> dict[str, Any]:
    """The arrays of a refit (or a blend) kept for ``study``: its test predictions for an ensemble,
    what its metric scored with the labels, for the test score's interval, and the validation
    labels (with a blend's validation predictions), against which the pick is chosen."""
    out: dict[str, Any] = {"artifacts": str(Path(folder).absolute())}

    def exact(array: Any) -> type:  # labels as int32 (a quarter of the bytes), values whole
        return np.int32 if np.issubdtype(np.asarray(array).dtype, np.integer) else np.float64

    arrays = {"predictions": (made.predictions, np.float32),
              "scored": (made.scored, exact(made.scored)),
              "truth": (made.truth, exact(made.truth)),
              "val_truth": (made.val_truth, exact(made.val_truth))}  # fmt: skip
    if isinstance(made, BlendResult):
        arrays["val_predictions"] = (made.val_predictions, np.float32)
    for key, (array, dtype) in arrays.items():
        if array is not None and artifacts.too_large(array) is None:
            out[key] = artifacts.save(folder, array, study, f"test-{key}", dtype)
    return out


def _judge(trial: optuna.Trial) -> Judge:
    """What a fit calls with its running scores: the study's pruner's verdict on the trial."""

    def judge(step: int, value: float) -> bool:
        trial.report(value, step)
        return trial.should_prune()

    return judge


class TrialLoop:
    """The trials of one opened study, fitted through ``runner``, within ``n_trials``.

    ``cap`` gives the seconds the next fit may take (a budget's time left; None: no cap). With
    ``folder`` (an artifact store), the trials' validation predictions are kept there, and the
    refit's model is saved beside it with the evidence of its test score.
    """

    def __init__(
        self,
        study: optuna.Study,
        runner: Runner,
        desc: Description,
        n_trials: int,
        *,
        folder: str | None = None,
        cap: Callable[[], float | None] = lambda: None,
    ) -> None:
        self.study, self.runner, self.desc, self.n_trials = study, runner, desc, n_trials
        self.folder, self.cap = folder, cap
        self.rows: int | None = None  # the training rows of each fold the next trials see

    def go_on(self, timeout: float | None, progress: Progress) -> bool:
        """Whether to run another trial, within ``n_trials`` and ``timeout`` seconds of search
        over all runs. While other workers run the budget's last trials this one waits: a worker
        that dies leaves its trial to the survivors."""
        waiting = False
        while True:
            counts = recover(self.study)  # closes trials whose process died, queues them again
            running = counts.running()
            left = None if timeout is None else timeout - counts.spent
            progress.show(counts.done, counts.best(self.desc.direction), left)
            if counts.done >= self.n_trials or (left is not None and left <= 0):
                return False
            if counts.done + len(running) < self.n_trials:
                return True
            if not waiting:
                log.info("%s: waiting for %d trial(s) of other workers",
                         self.study.study_name, len(running))  # fmt: skip
                waiting = True
            time.sleep(WAITING_RECHECK)

    def one(self) -> None:
        """Ask one trial, fit it and tell its result; a failure is recorded and the study goes
        on (Optuna's ``optimize`` gives the trial its heartbeat where the storage keeps them)."""
        self.study.optimize(self._objective, n_trials=1, catch=(Exception,))

    def _objective(self, trial: optuna.Trial) -> float:
        if self.surplus(trial):
            raise Surplus(f"trial {trial.number}: the budget of {self.n_trials} trials is taken")
        try:
            params = self.desc.space.suggest(trial)
            if self.rows is not None:
                trial.set_user_attr(ROWS, self.rows)
            request = FitTrial(trial.number, params, self.cap(), self.rows)
            outcome = self.runner.call(request, (_judge(trial),))
        except optuna.TrialPruned:
            raise
        except StoppedByBudget as error:
            trial.set_user_attr(STOPPED_BY_BUDGET, True)
            trial.set_user_attr(ERROR, reason(error))
            log.info("trial %d: %s", trial.number, error)
            raise
        except KeyboardInterrupt:
            trial.set_user_attr(INTERRUPTED, True)
            trial.set_user_attr(ERROR, STOPPED)
            raise
        except Exception as error:  # recorded on the trial; the study goes on
            trial.set_user_attr(ERROR, reason(error))
            log.warning("trial %d failed: %s", trial.number, reason(error).splitlines()[0])
            raise
        self._record(trial, outcome)
        return outcome.score

    def surplus(self, trial: optuna.Trial, look: bool = False) -> bool:
        """Whether ``trial`` is beyond the trial budget (or repeats a retry another worker runs);
        if so it is marked, counts nowhere, and must fit nothing. ``look``: read the storage first
        even when no other worker asked a trial since the last look (a population asks several)."""
        counts = tally(self.study, look=False)
        if look or counts.vouched != trial.number:  # another worker asked meanwhile: read again
            counts.look()
        if not counts.surplus(trial.number, self.n_trials):
            return False
        trial.set_user_attr(SURPLUS, True)
        return True

    def fail(self, trial: optuna.Trial, error: BaseException) -> None:
        """Tell ``trial`` failed, with why."""
        trial.set_user_attr(ERROR, reason(error))
        log.warning("trial %d failed: %s", trial.number, reason(error).splitlines()[0])
        self.study.tell(trial, state=TrialState.FAIL)

    def together(self, asked: Sequence[tuple[optuna.Trial, dict[str, Any]]]) -> None:
        """Fit the asked trials as one population and tell each its result; a failure of the
        whole population (its worker died, its hard limit) fails every member with that reason."""
        members = tuple(Member(t.number, params) for t, params in asked)
        for trial, _ in asked:  # its span is the population's: search time counts it once
            trial.set_user_attr(POPULATION, len(asked))
        judges = tuple(_judge(trial) for trial, _ in asked)
        try:
            result = self.runner.call(FitPopulation(members, self.cap()), judges)
        except KeyboardInterrupt:
            for trial, _ in asked:
                trial.set_user_attr(INTERRUPTED, True)
                trial.set_user_attr(ERROR, STOPPED)
                self.study.tell(trial, state=TrialState.FAIL)
            raise
        except Exception as error:
            for trial, _ in asked:
                self.fail(trial, error)
            return
        for (trial, _), outcome in zip(asked, result.members, strict=True):
            if isinstance(outcome, RemoteError):
                error = outcome.exception()
                if isinstance(error, optuna.TrialPruned):
                    self.study.tell(trial, state=TrialState.PRUNED)
                else:
                    self.fail(trial, error)
                continue
            self._record(trial, outcome)
            self.study.tell(trial, outcome.score)

    def _record(self, trial: optuna.Trial, outcome: TrialResult) -> None:
        """A fitted trial's times and the process that fitted it, in one write (one transaction
        of a database, where three cost three commits), and its predictions where kept."""
        attrs = {FIT_TIME: outcome.fit_time, PREDICT_TIME: outcome.predict_time, PID: outcome.pid}
        if outcome.found:
            attrs[FOUND] = dict(outcome.found)
        set_trial_user_attrs(self.study, trial, attrs)
        if self.folder is None or outcome.predictions is None:
            return
        why = artifacts.too_large(outcome.predictions)
        if why is None:
            kept = artifacts.save(self.folder, outcome.predictions, trial, "validation")
            trial.set_user_attr(PREDICTIONS, kept)
        else:
            trial.set_user_attr(PREDICTIONS + "_skipped", why)

    def refit(self, cap: float | None = None, bag: bool = False) -> ResultRecord | None:
        """Fit the best configuration on train+validation and score it once on the test split
        (within ``cap`` seconds, when a budget sets one), and store the result on the study; with
        a ``folder``, save its model and keep its evidence; with ``bag``, its bag where one is at
        hand, whatever the experiment asks. None while no trial completed."""
        study = self.study
        if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
            return None
        best = study.best_trial
        previous = study.user_attrs.get(RESULT)
        if (
            previous
            and previous.get("best_trial") == best.number
            and ERROR not in previous
            and (self.folder is None or (previous.get("scored") and previous.get("model")))
        ):
            return ResultRecord.read(previous)  # already refit for this best trial: nothing to redo
        # The rounds its early stopping settled on replace the cap it was given.
        params = {**self.desc.space.complete(best.params), **best.user_attrs.get(FOUND, {})}
        try:
            save = None if self.folder is None else str(model_path(self.folder, study.study_name))
            refit = self.runner.call(Refit(params, save, cap, best.number, bag))
            result = ResultRecord(
                best.number, params, best.value,
                **{f.name: getattr(refit, f.name) for f in fields(refit) if f.name not in EVIDENCE},
                **({} if self.folder is None else evidence(self.folder, refit, study)),
                val_predictions=best.user_attrs.get(PREDICTIONS),
            )  # fmt: skip
        except KeyboardInterrupt:
            raise
        except Exception as error:
            result = ResultRecord(best.number, params, best.value, error=reason(error))
            log.warning("refit of %s failed: %s", study.study_name, result.error)
        study.set_user_attr(RESULT, result.stored())
        return result
