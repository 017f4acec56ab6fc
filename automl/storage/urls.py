"""Optuna storages from URLs, with the journal file as the embedded default.

The default is Optuna's journal file storage: an append-only log that replays into memory. Measured
on the development machine it costs about 4 ms per trial where SQLite costs about 36 ms
(benchmarks/RESULTS.md), and it is safe for several processes on one machine.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages._cached_storage import _CachedStorage
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
        return JournalStorage(JournalFileBackend(str(path)))
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


def study_names(storage: BaseStorage) -> list[str]:
    return [s.study_name for s in storage.get_all_studies()]


def load_study(storage: BaseStorage, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=storage)


def trials_since(
    storage: BaseStorage, study_id: int, after_id: int, unfinished: set[int]
) -> list[FrozenTrial]:
    """The trials of a study whose id is above ``after_id`` or in ``unfinished``: what may have
    changed since a reader last saw every trial up to ``after_id`` (a finished trial never changes
    again), so that each look costs what changed, not the whole study.

    Optuna's public API reads every trial; its storages can do better, through their own
    internals: a database's query for new and unfinished trials (``RDBStorage._get_trials``), which
    the cached storage that Optuna puts in front of a database (``_CachedStorage``) runs for its
    own reads, so that this look and Optuna's next one share it; the journal's replayed trials.
    Other storages read them all.
    """
    if isinstance(storage, _CachedStorage):
        storage._read_trials_from_remote_storage(study_id)  # that query, into Optuna's cache
        with storage._lock:
            by_number = storage._studies[study_id].trials
            numbers = storage._trial_id_to_study_id_and_number
            fresh = [by_number[numbers[i][1]] for i in unfinished if i <= after_id]
            return fresh + _newest(by_number, after_id)
    if isinstance(storage, RDBStorage):
        return storage._get_trials(study_id, None, set(unfinished), after_id)
    if isinstance(storage, JournalStorage):
        with storage._thread_lock:
            storage._sync_with_backend()  # reads only the log's new lines
            replay = storage._replay_result
            ids = replay._study_id_to_trial_ids[study_id]
            fresh = [i for i in unfinished if i <= after_id]
            start = len(ids)  # ids are appended in creation order: scan back to after_id
            while start > 0 and ids[start - 1] > after_id:
                start -= 1
            return [replay._trials[i] for i in (*fresh, *ids[start:])]
    return [
        t
        for t in storage.get_all_trials(study_id, deepcopy=False)
        if t._trial_id > after_id or t._trial_id in unfinished
    ]


def _newest(by_number: Mapping[int, FrozenTrial], after_id: int) -> list[FrozenTrial]:
    """The trials whose id is above ``after_id``, of a study's trials kept by number. A trial's
    number is its rank by id within its study (the database numbers a trial by counting those
    before it), so they are the last few: scanned back from the end, not over the study."""
    out = []
    number = len(by_number) - 1
    while number in by_number and by_number[number]._trial_id > after_id:
        out.append(by_number[number])
        number -= 1
    return out[::-1]


def set_trial_user_attrs(storage: BaseStorage, trial_id: int, attrs: Mapping[str, Any]) -> None:
    """Set several user attributes of a trial in one write where the storage allows: one
    transaction of a database (each of Optuna's ``set_trial_user_attr`` is a transaction of two
    statements, and on PostgreSQL statements are most of what a trial costs), one append to the
    journal (the lines Optuna's own calls would write, one per attribute). Elsewhere one call each."""
    backend = storage._backend if isinstance(storage, _CachedStorage) else storage
    if isinstance(backend, RDBStorage):
        _set_rdb_user_attrs(backend, trial_id, attrs)
        return
    if isinstance(backend, JournalStorage):
        from optuna.storages.journal._storage import JournalOperation

        with backend._thread_lock:
            worker = backend._replay_result.worker_id
            backend._backend.append_logs([
                {"op_code": JournalOperation.SET_TRIAL_USER_ATTR, "worker_id": worker,
                 "trial_id": trial_id, "user_attr": {key: value}}
                for key, value in attrs.items()
            ])  # fmt: skip
            _read_own_lines(backend)
        return
    for key, value in attrs.items():
        storage.set_trial_user_attr(trial_id, key, value)


def _set_rdb_user_attrs(storage: RDBStorage, trial_id: int, attrs: Mapping[str, Any]) -> None:
    """One transaction: the trial looked up and checked once, then, on PostgreSQL and SQLite, one
    multi-row upsert of the statement Optuna's ``_set_trial_attr_without_commit`` runs per key (it
    looks the trial up again for each: on PostgreSQL each statement is a round trip, about a
    millisecond, and SQLAlchemy's work around it as much again). Other databases: Optuna's, per key."""
    import json
    import sqlite3

    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session

    model = models.TrialUserAttributeModel
    dialect = storage.engine.name
    with _create_scoped_session(storage.scoped_session, True) as session:
        if dialect == "postgresql" or (
            dialect == "sqlite" and sqlite3.sqlite_version_info >= (3, 24)
        ):
            if dialect == "postgresql":
                from sqlalchemy.dialects.postgresql import insert
            else:
                from sqlalchemy.dialects.sqlite import insert
            trial = models.TrialModel.find_or_raise_by_id(trial_id, session)
            storage.check_trial_is_updatable(trial_id, trial.state)
            rows = [{"trial_id": trial_id, "key": k, "value_json": json.dumps(v)}
                    for k, v in attrs.items()]  # fmt: skip
            upsert = insert(model).values(rows)
            session.execute(upsert.on_conflict_do_update(
                index_elements=[model.trial_id, model.key],
                set_={"value_json": upsert.excluded.value_json},
            ))  # fmt: skip
            return
        for key, value in attrs.items():
            storage._set_trial_attr_without_commit(session, model, trial_id, key, value)


def _read_own_lines(journal: JournalStorage) -> None:
    """Replay the journal up to the lines just written. If the trial had finished meanwhile (a
    racing worker closed it), replaying each of them raises, one line at a time: read them all,
    so that none is left to raise in a later, unrelated read, then raise that error once."""
    error: UpdateFinishedTrialError | None = None
    while True:
        try:
            journal._sync_with_backend()
            break
        except UpdateFinishedTrialError as raised:  # each raise has read one more line
            error = error or raised
    if error is not None:
        raise error
