"""The incremental tally answers what the list-based counting answers over all trials (records'
``counted``, and the position and surplus rules over a list, below), after every change a study
goes through: trials asked, finished in each state, marked surplus or interrupted, retried (twice,
by racing workers), on each kind of storage whose reads it specialises."""

from __future__ import annotations

import random

import optuna
import pytest
from optuna.trial import TrialState

from automl.storage.records import INTERRUPTED, RETRY_OF, SURPLUS, counted, replaced, span
from automl.storage.tally import FINISHED, Tally, install, tally
from automl.storage.urls import open_storage


def _position(trials: list, number: int) -> int:
    """How many trials numbered before ``number`` count, over the list of all trials."""
    kept = {t.number for t in counted(trials)}
    return sum(1 for t in trials if t.number < number and t.number in kept)


def surplus(trials: list, number: int, n_trials: int) -> bool:
    """Beyond the trial budget, or a second retry of one trial, over the list of all trials."""
    (trial,) = [t for t in trials if t.number == number]
    retry_of = trial.user_attrs.get(RETRY_OF)
    earlier = [t for t in trials if t.number < number]
    if retry_of is not None and retry_of in replaced(earlier):
        return True
    return _position(trials, number) >= n_trials


def _expected(study: optuna.Study) -> dict:
    trials = study.get_trials(deepcopy=False)
    kept = counted(trials)
    done = [t for t in kept if t.state in FINISHED]
    values = [t.value for t in done if t.state == TrialState.COMPLETE]
    queued = {t.user_attrs.get(RETRY_OF) for t in trials}
    return {
        "done": len(done),
        "spent": sum(map(span, done)),
        "best": max(values) if values else None,
        "running": sorted(
            t.number
            for t in kept
            if t.state == TrialState.RUNNING and not t.user_attrs.get(SURPLUS)
        ),  # fmt: skip
        "positions": [_position(trials, t.number) for t in trials],
        "surplus": [[surplus(trials, t.number, b) for t in trials] for b in (2, 5, 9)],
        "unqueued": sorted(
            t.number for t in trials if t.user_attrs.get(INTERRUPTED) and t.number not in queued
        ),  # fmt: skip
        "waiting": [t.number for t in trials if t.state == TrialState.WAITING],
    }


def _tallied(study: optuna.Study) -> dict:
    counts = tally(study)
    numbers = sorted(counts.trials)
    return {
        "done": counts.done,
        "spent": pytest.approx(counts.spent),
        "best": counts.best("maximize"),
        "running": sorted(t.number for t in counts.running()),
        "positions": [counts.position(n) for n in numbers],
        "surplus": [[counts.surplus(n, b) for n in numbers] for b in (2, 5, 9)],
        "unqueued": [t.number for t in counts.unqueued()],
        "waiting": [t.number for t in counts.waiting()],
    }


@pytest.mark.parametrize("kind", ["journal", "sqlite", "memory"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_tally_equals_counting_over_all_trials(tmp_path, kind, seed) -> None:
    url = {"journal": str(tmp_path / "s.journal"), "sqlite": f"sqlite:///{tmp_path / 's.db'}",
           "memory": None}[kind]  # fmt: skip
    storage = optuna.storages.InMemoryStorage() if url is None else open_storage(url)
    study = optuna.create_study(storage=storage, direction="maximize")
    install(study)  # queued trials popped from the tally where the storage allows
    rng = random.Random(seed)
    running: list[optuna.Trial] = []
    for _ in range(60):
        action = rng.random()
        if action < 0.35 or not running:
            queued = [t.number for t in study.get_trials(states=(TrialState.WAITING,))]
            trial = study.ask()
            assert trial.number == (queued[0] if queued else len(study.trials) - 1)  # as Optuna
            trial.suggest_float("x", 0, 1)
            running.append(trial)
        else:
            trial = running.pop(rng.randrange(len(running)))
            what = rng.choice(["complete", "complete", "pruned", "fail", "surplus", "interrupt"])
            if what == "complete":
                study.tell(trial, rng.random())
            elif what == "pruned":
                study.tell(trial, state=TrialState.PRUNED)
            else:
                if what == "surplus":
                    trial.set_user_attr(SURPLUS, True)
                if what == "interrupt":
                    trial.set_user_attr(INTERRUPTED, True)
                study.tell(trial, state=TrialState.FAIL)
                if what in ("fail", "interrupt") and rng.random() < 0.5:  # a retry; maybe two
                    for _ in range(rng.choice([1, 1, 2])):
                        study.enqueue_trial(trial.params, user_attrs={RETRY_OF: trial.number})
        assert _tallied(study) == _expected(study)


def test_a_look_reads_only_what_changed(tmp_path) -> None:
    storage = open_storage(f"sqlite:///{tmp_path / 's.db'}")
    study = optuna.create_study(storage=storage)
    for _ in range(30):
        study.tell(study.ask(), 1.0)
    running = study.ask()
    counts = Tally(study).look()
    assert counts.done == 30 and [t.number for t in counts.running()] == [30]
    reads: list[int] = []
    original = storage._get_trials

    def counting(*args, **kw):
        out = original(*args, **kw)
        reads.append(len(out))
        return out

    study.tell(study.ask(), 2.0)
    storage._get_trials = counting
    counts.look()
    storage._get_trials = original
    assert reads == [2]  # one query: the one that was running, and the new one
    assert counts.done == 31 and [t.number for t in counts.running()] == [30]
    study.tell(running, 3.0)
    counts.look()
    assert counts.done == 32 and counts.best("minimize") == 1.0 and not counts.running()
