"""Population training (search.population=K): trials trained together as one program give each
trial the scores it gets alone; a pruned member stops while the others finish; a study asks,
trains and tells K trials at once, and a population killed mid-way resumes with the same trials."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
import optuna
import pytest
from automl_datasets.mnist import load_digits_images
from automl_torch import TorchClassifier, TorchRegressor
from automl_torch.population import fit_population
from optuna.trial import TrialState
from sklearn.datasets import load_diabetes, load_digits

from automl.fitting.fitter import Fitter
from automl.fitting.isolation import Limits, runner
from automl.fitting.protocol import (
    FitPopulation,
    FitTrial,
    Kind,
    Member,
    Open,
    RemoteError,
    TrialResult,
)
from automl.search.study import run
from automl.settings.experiment import Experiment
from automl.storage.records import POPULATION, span
from automl.storage.urls import open_storage
from tests.conftest import ROOT

QUICK = {"max_epochs": 5, "batch_size": 64, "random_state": 0, "threads": 1, "device": "cpu"}
# Learning rates up to 3e-3: beyond, rounding differences of the batched products (1e-8 after the
# first epoch) grow with the step size, and the comparison below would need a looser tolerance.
SETTINGS = [(1e-3, 0.0), (3e-3, 1e-4), (3e-4, 1e-3), (2e-3, 0.0)]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X.astype(np.float32), y


def _losses(model) -> list[float]:
    return [h["loss"] for h in model.history_]


@pytest.mark.parametrize(
    ("network", "extra", "tolerance"),
    [("mlp", {}, 1e-5), ("mlp", {"optimizer": "adamw", "norm": "layer", "depth": 3}, 1e-5),
     ("cnn", {"channels": 8}, 1e-3)],
)  # fmt: skip
def test_a_population_gives_each_member_what_it_gets_alone(
    digits, network, extra, tolerance
) -> None:
    """Without dropout the arithmetic is the same as alone, batched: equal to float tolerance (a
    grouped convolution sums in another order than K separate ones, hence the CNN's looser one)."""
    if network == "cnn":
        data = load_digits_images()
        X, y = data.X, data.y
    else:
        X, y = digits

    def member(lr: float, wd: float) -> TorchClassifier:
        return TorchClassifier(network, lr=lr, weight_decay=wd, **QUICK, **extra)

    alone = [member(*s).fit(X, y) for s in SETTINGS]
    together = [member(*s) for s in SETTINGS]
    assert fit_population(together, X, y, stack=True) == [None] * 4  # the CNN too, on the CPU
    for a, b in zip(alone, together, strict=True):
        assert b.n_epochs_ == a.n_epochs_
        np.testing.assert_allclose(_losses(b), _losses(a), rtol=tolerance, atol=tolerance)
        np.testing.assert_allclose(b.predict_proba(X), a.predict_proba(X), atol=10 * tolerance)
    assert len({round(_losses(m)[-1], 6) for m in together}) == 4  # they did differ


def test_each_member_keeps_its_own_dropout_and_regression_works_too() -> None:
    X, y = load_diabetes(return_X_y=True)
    X = X.astype(np.float32)
    rates = [0.0, 0.5, 0.2]
    alone = TorchRegressor("mlp", dropout=0.0, **QUICK).fit(X, y)
    together = [TorchRegressor("mlp", dropout=rate, **QUICK) for rate in rates]
    assert fit_population(together, X, y) == [None] * 3
    # The member without dropout is the model trained alone: the others' masks did not touch it.
    np.testing.assert_allclose(_losses(together[0]), _losses(alone), atol=1e-5)
    assert _losses(together[1]) != _losses(together[0])  # dropping half the units changes it
    assert np.corrcoef(together[1].predict(X), y)[0, 1] > 0.5  # and it still learns


def test_a_pruned_member_stops_while_the_others_finish(digits) -> None:
    X, y = digits
    pruned_at = 1

    def prune(epoch: int, loss: float) -> None:
        if epoch == pruned_at:
            raise optuna.TrialPruned(f"pruned after epoch {epoch}")

    members = [
        TorchClassifier("mlp", lr=lr, **{**QUICK, "patience": 50}, on_epoch=hook)
        for lr, hook in ((1e-3, None), (2e-3, prune), (3e-3, None))
    ]
    errors = fit_population(members, X, y)
    assert errors[0] is None and errors[2] is None
    assert isinstance(errors[1], optuna.TrialPruned)
    assert len(members[1].history_) == pruned_at + 1
    assert [m.n_epochs_ for m in (members[0], members[2])] == [QUICK["max_epochs"]] * 2
    alone = TorchClassifier("mlp", lr=3e-3, **{**QUICK, "patience": 50}).fit(X, y)
    np.testing.assert_allclose(_losses(members[2]), _losses(alone), atol=1e-5)


def test_members_that_cannot_share_a_program_train_apart(digits) -> None:
    X, y = digits
    members = [TorchClassifier("mlp", width=w, **QUICK) for w in (32, 64)]
    members.append(TorchClassifier("mlp", norm="batch", **QUICK))
    assert fit_population(members, X, y) == [None] * 3
    for m in members:  # each the model it would be alone
        alone = TorchClassifier("mlp", width=m.width, norm=m.norm, **QUICK).fit(X, y)
        np.testing.assert_allclose(_losses(m), _losses(alone), atol=1e-6)


def _experiment(storage: str, **kw) -> Experiment:
    base = dict(
        dataset="digits", model="mlp", storage=storage, n_trials=4, population=4, threads=1,
        progress=False, device="cpu",
        params={"max_epochs": 4, "dropout": 0.0, "batch_size": 64},
        space={"lr": {"low": 3e-4, "high": 3e-3}},
        sampler={"_target_": "optuna.samplers.TPESampler", "seed": 0},
    )  # fmt: skip
    return Experiment(**{**base, **kw})


@pytest.mark.parametrize("isolation", ["inprocess", "subprocess"])
def test_a_study_trains_its_trials_together_with_the_scores_they_get_alone(
    storage_url, isolation
) -> None:
    exp = _experiment(storage_url, isolation=isolation)
    began = time.monotonic()
    summary = run(exp)
    wall = time.monotonic() - began
    study = optuna.load_study(study_name=summary.study, storage=open_storage(storage_url))
    trials = study.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 4
    shared = [{k: v for k, v in t.params.items() if k not in ("lr", "weight_decay")}
              for t in trials]  # fmt: skip
    assert all(s == shared[0] for s in shared)  # one architecture: drawn with the first member
    assert len({t.params["lr"] for t in trials}) == 4
    assert summary.test_score is not None and summary.test_score > 0.5
    assert sum(map(span, trials)) < wall  # search time counts the population once, not 4 times
    fitter = Fitter()
    desc = fitter.open(Open(exp))
    for t in trials:  # each trial again, alone
        alone = fitter.trial(FitTrial(t.number, desc.space.complete(t.params)))
        assert alone.score == pytest.approx(t.value, abs=1e-9)


def test_a_pruner_stops_one_member_through_the_worker(storage_url) -> None:
    exp = _experiment(storage_url, isolation="subprocess", params={"max_epochs": 6,
                      "dropout": 0.0, "batch_size": 64, "patience": 50, "depth": 1,
                      "width": 32, "activation": "relu", "norm": "none", "shrink": 1.0})  # fmt: skip
    fit = runner("subprocess", Limits(), None)
    desc = fit.call(Open(exp))
    steps: dict[int, list[int]] = {0: [], 1: [], 2: []}

    def judge_of(member: int):
        def judge(step: int, value: float) -> bool:
            steps[member].append(step)
            return member == 1 and step == 2

        return judge

    members = tuple(
        Member(i, desc.space.complete({"lr": lr, "weight_decay": 1e-6}))
        for i, lr in enumerate((1e-3, 2e-3, 3e-3))
    )
    result = fit.call(FitPopulation(members), tuple(judge_of(i) for i in range(3)))
    assert isinstance(result.members[0], TrialResult) and isinstance(result.members[2], TrialResult)
    assert isinstance(result.members[1], RemoteError) and result.members[1].kind is Kind.PRUNED
    assert steps == {0: list(range(6)), 1: [0, 1, 2], 2: list(range(6))}


def test_a_learner_without_populations_runs_its_trials_one_at_a_time(storage_url) -> None:
    exp = Experiment(dataset="iris", model="decision_tree", storage=storage_url, n_trials=3,
                     population=3, progress=False)  # fmt: skip
    summary = run(exp)
    assert summary.complete == 3 and summary.failed == 0
    study = optuna.load_study(study_name=summary.study, storage=open_storage(storage_url))
    assert not any(POPULATION in t.user_attrs for t in study.trials)


def test_members_with_nothing_to_differ_in_run_one_at_a_time(storage_url) -> None:
    fixed = {"max_epochs": 2, "lr": 1e-3, "weight_decay": 0.0, "dropout": 0.0, "batch_size": 64}
    summary = run(_experiment(storage_url, n_trials=2, params=fixed, space={}))
    study = optuna.load_study(study_name=summary.study, storage=open_storage(storage_url))
    assert summary.complete == 2 and not any(POPULATION in t.user_attrs for t in study.trials)


def test_a_member_out_of_time_leaves_while_the_others_go_on(digits) -> None:
    X, y = digits
    slow = {**QUICK, "max_epochs": 200, "patience": 200}
    members = [TorchClassifier("mlp", lr=1e-3, **{**QUICK, "max_epochs": 3}),
               TorchClassifier("mlp", lr=2e-3, time_limit=0.5, **slow)]  # fmt: skip
    assert fit_population(members, X, y) == [None, None]
    assert not members[0].stopped_by_time_ and members[0].n_epochs_ == 3
    assert members[1].stopped_by_time_ and 3 < members[1].n_epochs_ < 200


PLUGIN = {"AUTOML_PLUGINS": "tests.faults", "PYTHONPATH": str(ROOT)}
SLOW_POPULATION = [
    "dataset=iris", "model=faulty_population", "model.params.fault=sleep", "model.params.on=4",
    "model.params.seconds=3", "search.n_trials=6", "search.population=3",
    "sampler.n_startup_trials=2",
]  # fmt: skip


def _cli(tmp, *args: str) -> list[str]:
    return [sys.executable, "-m", "automl.commands.cli", f"output_dir={tmp / 'results'}",
            f"leaderboard.dir={tmp / 'lb'}", "progress=false", "threads=1", *args]  # fmt: skip


def _study(tmp) -> optuna.Study:
    storage = open_storage(str(tmp / "results" / "automl.journal"))
    (name,) = [s.study_name for s in storage.get_all_studies()]
    return optuna.load_study(study_name=name, storage=storage)


def _completed(study: optuna.Study) -> list[tuple]:
    return sorted(
        (sorted(t.params.items()), t.value) for t in study.trials if t.state == TrialState.COMPLETE
    )


@pytest.mark.slow
def test_a_population_killed_midway_resumes_with_the_same_trials(tmp_path) -> None:
    env = {**os.environ, **PLUGIN}
    killed, whole = tmp_path / "killed", tmp_path / "whole"
    killed.mkdir(), whole.mkdir()
    process = subprocess.Popen(_cli(killed, *SLOW_POPULATION), cwd=killed, env=env,
                               start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # the second population (trials 3-5) is training
        journal = killed / "results" / "automl.journal"
        if journal.is_file() and open_storage(str(journal)).get_all_studies():
            states = [t.state for t in _study(killed).trials]
            if states.count(TrialState.COMPLETE) == 3 and states.count(TrialState.RUNNING) == 3:
                break
        time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("the second population never started")
    time.sleep(0.5)  # inside trial 4's three seconds
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    for folder in (killed, whole):
        done = subprocess.run(_cli(folder, *SLOW_POPULATION), cwd=folder, env=env,
                              capture_output=True, text=True)  # fmt: skip
        assert done.returncode == 0, done.stderr
    resumed, reference = _study(killed), _study(whole)
    marked = [t.number for t in resumed.trials if t.user_attrs.get("interrupted")]
    assert marked == [3, 4, 5]
    retried = {t.user_attrs.get("retry_of"): t for t in resumed.trials}
    for number in marked:
        assert retried[number].params == resumed.trials[number].params  # the same trials
    assert _completed(resumed) == _completed(reference)  # nothing lost, nothing run twice
    assert len(_completed(resumed)) == 6


def test_a_population_may_take_a_trials_hard_limit_per_member(storage_url, monkeypatch) -> None:
    """A population of K may take K times a trial's hard limit; past that, all its members fail."""
    for key, value in PLUGIN.items():
        monkeypatch.setenv(key, value)
    exp = Experiment(dataset="iris", model="faulty_population", storage=storage_url, n_trials=2,
                     population=2, isolation="subprocess", trial_timeout=1.0, progress=False,
                     params={"fault": "sleep", "on": "0", "seconds": 1.5},
                     sampler={"_target_": "optuna.samplers.TPESampler", "seed": 0})  # fmt: skip
    assert run(exp).complete == 2  # trial 0 sleeps 1.5 s: within the population's 2 s
    slow = replace(exp, params={"fault": "sleep", "on": "all", "seconds": 1.5}, seed=1)
    summary = run(slow)  # both sleep: 3 s, past 2 s
    study = optuna.load_study(study_name=summary.study, storage=open_storage(storage_url))
    assert [t.state for t in study.trials] == [TrialState.FAIL] * 2
    assert "× 2 members of a population" in study.trials[0].user_attrs["error"]
