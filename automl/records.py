"""The stored records: every key the harness writes into an Optuna storage, and how they are read.

The storage is the system of record; the harness writes these user attributes and the views
(leaderboards, comparisons, reports) read them, so this module imports nothing of the harness and
nothing that fits models.

Study attributes: ``PROBLEM`` (what the study is: dataset, model, metric, task, config; written once),
``RESULT`` (the refit of the best trial: its parameters, scores and times) and ``RUN`` (how the latest
run was made: command, resolved config, versions).

Trial attributes: ``ERROR`` (why it failed), ``FIT_TIME`` and ``PREDICT_TIME`` (seconds per fold),
``PID`` (the process that fitted it), ``OWNER`` (the process that runs it, for crash recovery),
``INTERRUPTED`` (stopped by a signal or a dead process), ``RETRY_OF`` (the number of the trial it runs
again) and ``SURPLUS`` (asked beyond the budget by a race of workers; nothing was fitted).
"""

from __future__ import annotations

from collections.abc import Sequence

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


def interrupted(trial: FrozenTrial) -> bool:
    return bool(trial.user_attrs.get(INTERRUPTED))


def excluded(trials: Sequence[FrozenTrial]) -> set[int]:
    """The numbers of the trials that do not count against the budget: interrupted ones, ones a
    retry replaces (a heartbeat-failed trial carries no mark of its own), and surplus ones."""
    replaced = {t.user_attrs[RETRY_OF] for t in trials if RETRY_OF in t.user_attrs}
    return {
        t.number
        for t in trials
        if interrupted(t) or t.user_attrs.get(SURPLUS) or t.number in replaced
    }


def counted(trials: Sequence[FrozenTrial]) -> list[FrozenTrial]:
    """The trials that count against the budget. Pass all of a study's trials, not some states:
    whether a trial counts can depend on a retry that is still waiting."""
    out = excluded(trials)
    return [t for t in trials if t.number not in out]
