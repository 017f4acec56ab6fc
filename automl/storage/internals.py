"""Optuna's private parts, in one room: every use of an attribute or module that Optuna does not
publish is here, behind functions of studies and trials, each tested on every kind of storage
(tests/test_storage.py), so that an Optuna release that moves one breaks one module.

Why each is needed: Optuna's public API reads every trial of a study to answer anything, and
writes one attribute per transaction; the harness reads only what changed (``trials_since``),
writes a trial's attributes at once (``set_trial_user_attrs``), closes and claims trials that
other processes left (``close_running``, ``claim_waiting``, for crash recovery), finds queued
trials from its own reads (``serve_waiting``), and beats for trials it asks by hand
(``heartbeat``).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.storages import JournalStorage, RDBStorage
from optuna.storages._cached_storage import _CachedStorage
from optuna.trial import FrozenTrial, TrialState

Trial = FrozenTrial | optuna.Trial


def study_key(study: optuna.Study) -> tuple[int, int]:
    """A study's identity in this process: its storage object and its id there."""
    return id(study._storage), study._study_id


def same_storage(one: optuna.Study, other: optuna.Study) -> bool:
    return one._storage is other._storage


def trial_id_of(trial: Trial) -> int:
    """A trial's id in its storage (unique across studies, unlike its number)."""
    return trial._trial_id


def trials_since(study: optuna.Study, after_id: int, unfinished: set[int]) -> list[FrozenTrial]:
    """The trials of ``study`` whose id is above ``after_id`` or in ``unfinished``: what may have
    changed since a reader last saw every trial up to ``after_id`` (a finished trial never changes
    again), so that each look costs what changed, not the whole study.

    Optuna's public API reads every trial; its storages can do better, through their own
    internals: a database's query for new and unfinished trials (``RDBStorage._get_trials``), which
    the cached storage that Optuna puts in front of a database (``_CachedStorage``) runs for its
    own reads, so that this look and Optuna's next one share it; the journal's replayed trials.
    Other storages read them all.
    """
    storage, study_id = study._storage, study._study_id
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


def set_trial_user_attrs(study: optuna.Study, trial: Trial, attrs: Mapping[str, Any]) -> None:
    """Set several user attributes of ``trial`` (running, or being created) in one write where the
    storage allows: one transaction of a database (each of Optuna's ``set_trial_user_attr`` is a
    transaction of two statements, and on PostgreSQL statements are most of what a trial costs),
    one append to the journal (the lines Optuna's own calls would write, one per attribute).
    Elsewhere one call each."""
    storage, trial_id = study._storage, trial_id_of(trial)
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


def close_running(study: optuna.Study, trial: FrozenTrial, attrs: Mapping[str, Any]) -> bool:
    """Mark a RUNNING trial of another process with ``attrs`` and fail it (Optuna's public API
    cannot touch another's trial); True for the one process that closes it, False when another
    closed it first (workers may race here)."""
    try:
        set_trial_user_attrs(study, trial, attrs)
        return study._storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)
    except UpdateFinishedTrialError:
        return False


def claim_waiting(study: optuna.Study, trial: FrozenTrial) -> bool:
    """Move a queued (WAITING) trial to RUNNING for this process; False when another process ran
    it meanwhile."""
    try:
        return study._storage.set_trial_state_values(trial._trial_id, state=TrialState.RUNNING)
    except UpdateFinishedTrialError:
        return False


def serve_waiting(study: optuna.Study, pop: Callable[[], FrozenTrial | None]) -> None:
    """Let ``study.ask`` take its queued trial from ``pop`` (one claimed with ``claim_waiting``)
    instead of Optuna's ``Study._pop_waiting_trial_id``, which reads every trial of the study,
    where a look is what Optuna's own read costs (the journal, a database); elsewhere (memory)
    Optuna's own stays. If a later Optuna no longer calls it, this attribute is simply unused."""
    if not isinstance(study._storage, JournalStorage | _CachedStorage):
        return

    def popped() -> int | None:
        trial = pop()
        return None if trial is None else trial._trial_id

    study._pop_waiting_trial_id = popped  # type: ignore[method-assign]


_STALE_LOOKS: dict[tuple[int, int], float] = {}  # study_key: when this process last looked


def fail_stale(study: optuna.Study) -> None:
    """Optuna's ``fail_stale_trials``, at most once per heartbeat interval per study: a trial is
    stale only after two intervals without a beat, so looking more often finds nothing sooner,
    and each look is a query and a commit. (``optimize`` makes its own before every trial.)"""
    beats = getattr(study._storage, "get_heartbeat_interval", None)  # a database's storage
    interval = beats() if beats is not None else None
    if interval is None:
        return  # no heartbeats: fail_stale_trials would do nothing
    key, now = study_key(study), time.monotonic()
    last = _STALE_LOOKS.get(key)
    if last is not None and now - last < interval:
        return
    _STALE_LOOKS[key] = now
    with warnings.catch_warnings():  # experimental, and the tool for this
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


def heartbeat(study: optuna.Study, trial: optuna.Trial) -> AbstractContextManager[Any]:
    """The heartbeat that ``optimize`` gives a trial, for one asked and told by hand: Optuna 5.1
    has no public one for ask-and-tell, so this uses optimize's own helper while it exists."""
    try:
        from optuna.storages._heartbeat import get_heartbeat_thread
    except ImportError:  # a later Optuna: such trials then beat not at all
        return nullcontext()
    return get_heartbeat_thread(trial._trial_id, study._storage)
