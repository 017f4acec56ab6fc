"""Where fits run: the runner of a study, in this process or in a watched worker.

``trial.isolation=subprocess`` (the default) runs every fit of a study in a worker process held to
hard limits (:mod:`automl.fitting.worker`), shared by the studies of a process so that the data it
loaded serves them all. ``trial.isolation=inprocess`` skips the worker: a little faster on tiny
fits, but a hang or a crash is the harness's, and no limit is hard. Either runner carries the
requests of :mod:`automl.fitting.protocol` through one ``call``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeVar

from automl.fitting.protocol import Judge, Request, Runner
from automl.fitting.worker import Limits, Worker, fitter
from automl.plugin.errors import UserError

if TYPE_CHECKING:
    from automl.fitting.fitter import Fitter
    from automl.plugin.registry import Registry

A = TypeVar("A")
ISOLATION = ("subprocess", "inprocess")


class InProcess:
    """Fits in the harness's own process: exceptions propagate as they are."""

    def __init__(self, registry: Registry | None = None) -> None:
        self.fitter: Fitter = fitter(registry)

    def call(self, request: Request[A], judges: Sequence[Judge | None] = ()) -> A:
        # No fit here can be stopped: a request's cap is unused.
        return self.fitter.handle(request, lambda i: judges[i] if i < len(judges) else None)


_WORKER: Worker | None = None


def prestart() -> None:
    """Start the shared worker now, so that its imports overlap the harness's own start-up; the
    first study finds it ready (or, if its settings differ, replaces it)."""
    global _WORKER
    if _WORKER is None:
        _WORKER = Worker()
        _WORKER.start()


def runner(isolation: str, limits: Limits, registry: Registry | None) -> Runner:
    """The runner for a study. The worker is shared by the studies of a process (a sweep), so the
    data a worker loaded serves every study of the same dataset, while the environment it inherited
    (AUTOML_PLUGINS, AUTOML_DATA...) is unchanged."""
    global _WORKER
    if isolation not in ISOLATION:
        raise UserError(f"unknown trial.isolation '{isolation}'; available: {', '.join(ISOLATION)}")
    if isolation == "inprocess":
        return InProcess(registry)
    if registry is not None:
        raise UserError(
            "trial.isolation=subprocess loads the installed plugins in its worker; "
            "a registry built in code needs trial.isolation=inprocess"
        )
    if _WORKER is not None and _WORKER.environ != dict(os.environ):
        _WORKER.close()
        _WORKER = None
    if _WORKER is None:
        _WORKER = Worker(limits)
    _WORKER.limits = limits
    return _WORKER
