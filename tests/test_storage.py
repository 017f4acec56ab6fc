"""The storage module's own writes leave each storage as Optuna's calls would: several user
attributes of a trial in one write, and a finished trial refused as Optuna refuses it, with nothing
left over to fail a later read."""

from __future__ import annotations

import optuna
import pytest
from optuna.exceptions import UpdateFinishedTrialError

from automl.storage.urls import open_storage, set_trial_user_attrs, trials_since

ATTRS = {"fit_time": 0.25, "predict_time": 0.01, "pid": 1234, "note": {"a": [1, 2]}}


KINDS = ["journal", "sqlite", "memory", "postgresql"]


def _storage(kind: str, tmp_path, request) -> optuna.storages.BaseStorage:
    if kind == "memory":
        return optuna.storages.InMemoryStorage()
    if kind == "postgresql":  # each test's study is a fresh one on the shared server
        return open_storage(request.getfixturevalue("postgres"))
    return open_storage({"journal": str(tmp_path / "s.journal"),
                         "sqlite": f"sqlite:///{tmp_path / 's.db'}"}[kind])  # fmt: skip


@pytest.mark.parametrize("kind", KINDS)
def test_several_attributes_in_one_write_equal_one_call_each(tmp_path, kind, request) -> None:
    storage = _storage(kind, tmp_path, request)
    study = optuna.create_study(storage=storage)
    batched, single = study.ask(), study.ask()
    set_trial_user_attrs(study._storage, batched._trial_id, ATTRS)
    set_trial_user_attrs(study._storage, batched._trial_id, {"pid": 99})  # a key written again
    for key, value in {**ATTRS, "pid": 99}.items():
        single.set_user_attr(key, value)
    study.tell(batched, 1.0)
    study.tell(single, 1.0)
    again = optuna.load_study(study_name=study.study_name, storage=storage)  # read afresh
    first, second = again.get_trials(deepcopy=False)
    assert first.user_attrs == second.user_attrs == {**ATTRS, "pid": 99}


@pytest.mark.parametrize("kind", KINDS)
def test_a_finished_trial_is_refused_and_nothing_is_left_to_fail_later(
    tmp_path, kind, request
) -> None:
    storage = _storage(kind, tmp_path, request)
    study = optuna.create_study(storage=storage)
    trial = study.ask()
    study.tell(trial, 1.0)
    with pytest.raises(UpdateFinishedTrialError):
        set_trial_user_attrs(study._storage, trial._trial_id, ATTRS)
    study.tell(study.ask(), 2.0)  # later writes and reads of this process go on
    trials = study.get_trials(deepcopy=False)
    assert [t.value for t in trials] == [1.0, 2.0] and trials[0].user_attrs == {}


@pytest.mark.parametrize("kind", KINDS)
def test_trials_since_gives_the_new_and_the_unfinished(tmp_path, kind, request) -> None:
    storage = _storage(kind, tmp_path, request)
    study = optuna.create_study(storage=storage)
    for _ in range(5):
        study.tell(study.ask(), 1.0)
    running = study.ask()
    seen = study.get_trials(deepcopy=False)
    after = max(t._trial_id for t in seen)
    study.tell(running, 3.0)
    study.tell(study.ask(), 4.0)
    study.ask()
    since = trials_since(study._storage, study._study_id, after, {running._trial_id})
    assert [(t.number, t.state.name) for t in since] == [
        (5, "COMPLETE"), (6, "COMPLETE"), (7, "RUNNING"),
    ]  # fmt: skip
