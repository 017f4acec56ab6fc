"""A population: with ``search.population=K`` and a model that trains several trials as one
program (``Model.fit_population``), K trials are asked at once, trained together through the trial
loop, and each told its own result.

The members share every searched parameter outside ``Model.population_varies``: the first member
draws them, and the others draw with them fixed (Optuna's PartialFixedSampler around the study's
own sampler, in this process only), so that the members fit one program. A population killed
mid-way leaves RUNNING trials that recovery queues again, with their parameters, for the next run.
"""

from __future__ import annotations

import warnings
from contextlib import ExitStack
from typing import Any

import optuna
from optuna.trial import TrialState

from automl.search.progress import Progress
from automl.search.trials import TrialLoop
from automl.storage.internals import heartbeat
from automl.storage.tally import tally


def search(loop: TrialLoop, size: int, timeout: float | None, progress: Progress) -> None:
    """Run ``loop``'s study in populations of ``size`` trials until its budget is used."""
    study = loop.study
    while loop.go_on(timeout, progress):
        counts = tally(study)
        taken = counts.done + len(counts.running())
        asked = _ask(loop, max(1, min(size, loop.n_trials - taken)))
        if not asked:
            continue
        with ExitStack() as beats:  # trials asked by hand beat as optimize's do
            for trial, _ in asked:
                beats.enter_context(heartbeat(study, trial))
            loop.together(asked)


def _ask(loop: TrialLoop, size: int) -> list[tuple[optuna.Trial, dict[str, Any]]]:
    """Up to ``size`` new trials with their parameters; queued retries come first, as with
    ``optimize``. Members after the first draw with its shared parameters fixed."""
    study, varies = loop.study, loop.desc.population_varies
    asked: list[tuple[optuna.Trial, dict[str, Any]]] = []
    sampler = study.sampler
    try:
        for _ in range(size):
            trial = study.ask()
            if loop.surplus(trial, look=True):
                study.tell(trial, state=TrialState.FAIL)
                break
            try:
                asked.append((trial, loop.desc.space.suggest(trial)))
            except Exception as error:  # a space that cannot be sampled fails this trial alone
                loop.fail(trial, error)
                continue
            if len(asked) == 1:
                shared = {k: v for k, v in trial.params.items() if k not in varies}
                with warnings.catch_warnings():  # "experimental" since Optuna 2.4, and the tool
                    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                    study.sampler = optuna.samplers.PartialFixedSampler(shared, sampler)
    finally:
        study.sampler = sampler
    return asked
