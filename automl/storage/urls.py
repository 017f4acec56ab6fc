"""Optuna storages from URLs, with the journal file as the embedded default.

The default is Optuna's journal file storage: an append-only log that replays into memory. Measured
on the development machine it costs about 4 ms per trial where SQLite costs about 36 ms
(benchmarks/RESULTS.md), and it is safe for several processes on one machine.
"""

from __future__ import annotations

import fcntl
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import IO

import optuna
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend, JournalRedisBackend
from optuna.trial import FrozenTrial

from automl.plugin.errors import UserError

DEFAULT_FILE = "automl.journal"
JOURNAL_SUFFIXES = (".journal", ".log")


# user:password@ in a URL anywhere in a text, also as Hydra escapes it (postgresql\://u\:pw@host).
# The password runs to the last @ before the path: an unencoded @ in it is still masked whole.
_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*\\?://[^\s/@:]*\\?:)[^\s/]+(?=@)", re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` (a URL, a log line, a saved config) with the password of every URL in it replaced,
    safe for logs, files and leaderboards."""
    return _PASSWORD.sub(lambda m: m["head"] + "***", text)


def default_url(output_dir: str | Path) -> str:
    return str(Path(output_dir) / DEFAULT_FILE)


def journal_folder(url: str) -> Path | None:
    """The folder of a journal file storage's file, or None for a storage of another kind."""
    if url.startswith("journal:") or url.endswith(JOURNAL_SUFFIXES):
        return Path(url.removeprefix("journal:")).parent
    return None


def _not_a_url(url: str) -> UserError:
    return UserError(
        f"storage '{url}' is not a storage URL; use a journal file path ending in "
        f"{' or '.join(JOURNAL_SUFFIXES)}, redis://..., or a database URL such as "
        "sqlite:///automl.db or postgresql://user@host/db"
    )


def check_url(url: str) -> None:
    """Refuse a database or Redis URL whose form or kind is unknown, without connecting to it."""
    if url.startswith(("redis://", "rediss://")):
        return
    if "://" not in url:
        raise _not_a_url(url)
    from sqlalchemy.engine import make_url

    try:
        make_url(url).get_dialect()  # loads the dialect and its driver; connects to nothing
    except Exception as error:  # SQLAlchemy raises many types; all mean "cannot use this URL"
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise UserError(f"cannot open storage {redact(url)}: {redact(message)}") from None


class KernelLock:
    """The journal file's write lock as ``flock(2)`` on a file beside it, which the kernel releases
    when its process ends, however it ends. Optuna's default, a symbolic link it deletes on
    release, outlives a process killed while writing (SIGKILL, the OOM killer): its next writer
    waits for a grace period, or, the link pointing to a relative path that ``stat`` cannot follow
    from the link's folder, spins forever (Optuna 5.1). Given to ``JournalFileBackend`` as its
    ``lock_obj``, whose ``acquire``/``release`` it implements. For journals on one machine's disk,
    as the journal is meant to be (a database serves several machines)."""

    SUFFIX = ".flock"

    def __init__(self, journal: str) -> None:
        self.path = journal + self.SUFFIX
        self._held: IO[str] | None = None

    def acquire(self) -> bool:
        handle = open(self.path, "a")  # noqa: SIM115 - held open while locked, closed in release
        fcntl.flock(handle, fcntl.LOCK_EX)
        self._held = handle
        return True

    def release(self) -> None:
        handle, self._held = self._held, None
        if handle is not None:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()


def open_storage(
    url: str,
    *,
    heartbeat: int | None = None,
    on_stale: Callable[[optuna.Study, FrozenTrial], None] | None = None,
) -> BaseStorage:
    """A storage for ``url``: a journal file path (``*.journal``, ``*.log`` or ``journal:PATH``),
    ``redis://`` for a journal in Redis, or any SQLAlchemy URL for Optuna's RDB storage.

    With ``heartbeat`` (seconds), a database storage records each running trial's heartbeat; a trial
    silent for twice that long is failed and handed to ``on_stale``. Journal storages are for one
    machine, where a dead worker is found by its process id instead (automl.search.recovery).
    """
    if journal_folder(url) is not None:
        path = Path(url.removeprefix("journal:"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(str(path), lock_obj=KernelLock(str(path))))
    if url.startswith(("redis://", "rediss://")):
        return JournalStorage(JournalRedisBackend(url))
    if "://" not in url:
        raise _not_a_url(url)
    try:
        if heartbeat is None:
            return RDBStorage(url)
        with warnings.catch_warnings():  # heartbeats are experimental in Optuna 5, and the tool
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return RDBStorage(
                url,
                heartbeat_interval=int(heartbeat),
                grace_period=2 * int(heartbeat),
                heartbeat_stale_trial_callback=on_stale,
            )
    except Exception as error:  # SQLAlchemy raises many types; all mean "cannot use this URL"
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise UserError(f"cannot open storage {redact(url)}: {redact(message)}") from None
