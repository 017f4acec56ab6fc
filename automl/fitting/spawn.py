"""Starting the worker process safely: spawned with the parent's ``__main__`` hidden, SIGINT and
SIGTERM ignored from its first instruction, the spawn method named where a launcher replaced the
global one; and, inside it, dying with its parent."""

from __future__ import annotations

import multiprocessing
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

STOPS = {signal.SIGINT, signal.SIGTERM}


def die_with_parent() -> None:
    """Ask Linux to kill this process when its parent dies, so a harness killed with SIGKILL
    leaves no worker behind; elsewhere the closed pipe ends the worker at its next request."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


@contextmanager
def _main_hidden() -> Iterator[None]:
    """Spawn re-runs the parent's ``__main__`` script in the child unless it cannot find it: a
    user's script without an ``if __name__ == "__main__"`` guard would run again, and ``python -``
    cannot be found at all. The worker needs nothing from ``__main__``, so hide it while
    starting."""
    main = sys.modules["__main__"]
    saved = {k: main.__dict__[k] for k in ("__file__", "__spec__") if k in main.__dict__}
    main.__dict__.pop("__file__", None)
    main.__spec__ = None
    try:
        yield
    finally:
        main.__dict__.update(saved)
        if "__spec__" not in saved:
            del main.__spec__


@contextmanager
def _stops_ignored_in_child() -> Iterator[None]:
    """Start the worker with SIGINT and SIGTERM ignored from its first instruction: a Ctrl-C that
    lands while it is still importing (about 2 s) would otherwise kill it with a traceback. An
    ignored signal stays ignored across exec, and Python then installs no KeyboardInterrupt handler.
    The harness ignores them only for the few milliseconds of ``start()``, with them blocked in this
    thread; a signal that a native thread (OpenMP, BLAS) takes in that window is dropped, so a
    Ctrl-C there must be pressed again: a far smaller window than the worker's start-up."""
    if threading.current_thread() is not threading.main_thread():
        yield  # handlers can only be changed from the main thread
        return
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, STOPS)
    handlers = {s: signal.getsignal(s) for s in STOPS}
    try:
        for s in STOPS:
            signal.signal(s, signal.SIG_IGN)
        yield
    finally:
        for s, handler in handlers.items():
            if handler is not None:
                signal.signal(s, handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


@contextmanager
def _spawn_replayable() -> Iterator[None]:
    """A spawned child replays its parent's global start method. Inside a job of Hydra's joblib
    launcher that is loky's own, which a fresh interpreter cannot find, and the worker dies at once;
    name spawn (what this worker uses anyway) while it starts."""
    method = multiprocessing.get_start_method(allow_none=True)
    if method is None or method in multiprocessing.get_all_start_methods():
        yield
        return
    default = multiprocessing.context._default_context  # no public way to restore loky's
    saved = default._actual_context
    default._actual_context = default.get_context("spawn")
    try:
        yield
    finally:
        default._actual_context = saved


@contextmanager
def spawning() -> Iterator[None]:
    """What starting a worker needs around ``Process.start``: see each part."""
    with _main_hidden(), _stops_ignored_in_child(), _spawn_replayable():
        yield
