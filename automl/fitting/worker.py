"""The worker: a spawned process that answers a study's requests, watched for its hard limits.

It runs a :class:`~automl.fitting.fitter.Fitter` in a fresh interpreter. A fit that passes its
wall-clock limit (``trial.timeout``) or memory limit (``trial.memory``), that runs past the cap a
budget gave it, or that crashes its process (a segfault, the kernel's OOM killer), costs its
worker, which is killed; the request fails with the reason and the next one gets a fresh worker.
An exception inside a fit is only reported: the worker stays.

The worker is *spawned*, not forked: a child forked after the parent has used OpenMP (scikit-learn
and many learners do) can hang in its first parallel region, and CUDA cannot be used in a forked
child. The worker therefore loads the data itself (once per worker, through the same per-process
cache) and keeps it, and whatever learners cache (a deep learner's device copies), from one trial
and one study to the next.
"""

from __future__ import annotations

import atexit
import multiprocessing
import multiprocessing.util
import os
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import optuna

from automl.fitting.protocol import (
    Done,
    Judge,
    Kind,
    Open,
    RemoteError,
    Request,
    Step,
    StoppedByBudget,
    TrialFailed,
)
from automl.fitting.spawn import die_with_parent, spawning
from automl.plugin.errors import UserError

if TYPE_CHECKING:
    from automl.fitting.fitter import Fitter
    from automl.plugin.registry import Registry

A = TypeVar("A")
WATCH_INTERVAL = 0.05  # seconds between checks on a working worker (limits, death)


@dataclass(frozen=True)
class Limits:
    timeout: float | None = None  # seconds of wall-clock time per trial (and for the refit)
    memory: float | None = None  # MiB of resident memory the worker may use (data included)


def fitter(registry: Registry | None = None) -> Fitter:
    """A Fitter, imported only where fits run: the fitting stack (scikit-learn, the data's loaders)
    costs a second or two to import, which the harness's process, whose fits run in the worker,
    need never pay; the worker pays it while the harness starts (see ``prestart``)."""
    from automl.fitting.fitter import Fitter

    return Fitter(registry)


def _exhausted(error: BaseException) -> bool:
    """After running out of memory a process's allocators may be in a poor state: start afresh."""
    return isinstance(error, MemoryError) or "OutOfMemory" in type(error).__name__


def serve(conn: Any) -> None:
    """The worker's loop: answer requests until the harness closes the pipe."""
    # Ctrl-C and SIGTERM reach the whole process group; the harness handles them and kills this.
    # Ignored since the spawn (see ``_stops_ignored_in_child``); said again for clarity.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    die_with_parent()
    answering = fitter()
    from automl.plugin.manager import load_registry

    load_registry()  # import the plugins now, while the harness is still busy composing its config

    def judge_of(member: int) -> Judge:
        def judge(step: int, value: float) -> bool:
            conn.send(Step(step, value, member))
            return bool(conn.recv())

        return judge

    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        try:
            answer: Done | RemoteError = Done(answering.handle(request, judge_of))
        except BaseException as error:
            answer = RemoteError.of(error)
            if answer.kind is Kind.FAILED and _exhausted(error):
                conn.send(answer)
                return
        conn.send(answer)


def _resident_mib(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name
        hint = " (out of memory? the kernel's OOM killer sends it)" if name == "SIGKILL" else ""
        return f"its process died of {name}{hint}"
    return f"its process exited with code {exitcode}"


class Worker:
    """A spawned worker process, replaced whenever a fit kills it or breaks a limit."""

    def __init__(self, limits: Limits = Limits()) -> None:
        self.limits = limits
        self.environ = dict(os.environ)  # what the worker inherits: plugins, data folders
        self._process: Any = None
        self._conn: Any = None
        self._opened: Open | None = None  # sent again to a replacement worker
        atexit.register(self.close)
        # A process that multiprocessing started (a job of Hydra's joblib launcher) runs no atexit
        # at its end, but joins its live children first: the idle worker would hang it forever.
        # Finalizers of priority >= 0 run before that join.
        multiprocessing.util.Finalize(None, self.close, exitpriority=10)

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def call(self, request: Request[A], judges: Sequence[Judge | None] = ()) -> A:
        opening = isinstance(request, Open)  # loading data has no limit: it may be a download
        if self._process is not None and not self._process.is_alive():
            self._kill()  # it died between requests (the OOM killer picks big idle processes too)
        if opening:
            self._opened = request
        elif self._process is None and self._opened is not None:
            self._exchange(self._opened, (), limited=False)  # a fresh worker needs the study
        return self._exchange(request, judges, limited=not opening)

    def close(self) -> None:
        if self._process is not None:
            self._kill()

    def start(self) -> None:
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        # Not a daemon: learners may start processes of their own (joblib), which daemons cannot.
        self._process = context.Process(target=serve, args=(theirs,), name="automl-worker")
        with spawning():
            self._process.start()
        theirs.close()
        self._conn = ours

    def _kill(self) -> None:
        process, self._process = self._process, None
        if process.is_alive():
            os.kill(process.pid, signal.SIGKILL)
        process.join()
        self._conn.close()

    def _exchange(self, request: Request[A], judges: Sequence[Judge | None], limited: bool) -> A:
        if self._process is None:
            self.start()
        started = time.monotonic()
        try:
            self._conn.send(request)
            while True:
                if self._conn.poll(WATCH_INTERVAL):
                    message = self._receive()
                    if isinstance(message, Step):
                        judge = judges[message.member] if message.member < len(judges) else None
                        stop = bool(judge(message.step, message.value)) if judge else False
                        self._conn.send(stop)
                        continue
                    if isinstance(message, Done):
                        return message.value  # type: ignore[no-any-return]
                    if message.exhausted:
                        self._process.join(timeout=5)  # it leaves after running out of memory
                        self._kill()
                    raise message.exception()
                if not self._process.is_alive():
                    self._process.join()
                    reason = _death(self._process.exitcode)
                    self._kill()
                    raise TrialFailed(reason)
                if limited:
                    self._check_limits(started, request.cap, request.share)
        except (TrialFailed, optuna.TrialPruned, UserError):  # StoppedByBudget is a TrialFailed
            raise
        except BaseException:  # Ctrl-C, or a broken pipe: the worker's state is unknown
            if self._process is not None:
                self._kill()
            raise

    def _receive(self) -> Step | Done | RemoteError:
        try:
            return self._conn.recv()
        except (EOFError, OSError):
            self._process.join(timeout=5)
            reason = _death(self._process.exitcode)
            self._kill()
            raise TrialFailed(reason) from None

    def _check_limits(self, started: float, cap: float | None = None, share: int = 1) -> None:
        timeout, memory = self.limits.timeout, self.limits.memory
        timeout = None if timeout is None else timeout * share
        ran = time.monotonic() - started
        if cap is not None and (timeout is None or cap < timeout) and ran > cap:
            self._kill()
            raise StoppedByBudget(
                f"stopped by the budget: still running after {ran:.1f} s, "
                f"the {cap:.1f} s that the budget had left"
            )
        if timeout is not None and ran > timeout:
            self._kill()
            raise TrialFailed(
                f"still running after the hard limit trial.timeout={self.limits.timeout:g} s"
                + (f" × {share} members of a population" if share > 1 else "")
                + ": killed"
            )
        if memory is not None:
            used = _resident_mib(self._process.pid)
            if used is not None and used > memory:
                self._kill()
                raise TrialFailed(
                    f"its process used {used:.0f} MiB, more than trial.memory={memory:g} MiB: "
                    "killed"
                )
