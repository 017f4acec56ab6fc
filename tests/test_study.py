"""Studies through the runner: storage, resume, budgets, failures, refit, the seed system."""

from __future__ import annotations

import importlib.util

import numpy as np
import optuna
import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier

from automl import Float, Model, hookimpl
from automl.plugin.errors import UserError
from automl.plugin.manager import plugin_manager
from automl.plugin.registry import collect
from automl.plugin.task import CLASSIFICATION
from automl.search.study import run
from automl.settings.experiment import Experiment
from automl.settings.split import SplitConfig
from automl.storage.records import RESULT
from automl.storage.urls import open_storage

TPE = {"_target_": "optuna.samplers.TPESampler", "seed": 0}


def _experiment(storage_url: str, **kw) -> Experiment:
    base = dict(
        dataset="iris",
        model="knn",
        storage=storage_url,
        n_trials=4,
        sampler=TPE,
        progress=False,
        threads=1,
    )
    return Experiment(**{**base, **kw})


def _trials(storage_url: str, study: str) -> list:
    return optuna.load_study(study_name=study, storage=open_storage(storage_url)).trials


def test_a_study_lands_in_the_storage_with_its_result(storage_url) -> None:
    summary = run(_experiment(storage_url))
    assert summary.complete == 4 and summary.failed == 0
    study = optuna.load_study(study_name=summary.study, storage=open_storage(storage_url))
    result = study.user_attrs[RESULT]
    assert result["test_score"] == summary.test_score > 0.8
    assert result["val_score"] == study.best_value
    for trial in study.trials:
        assert trial.user_attrs["fit_time"] >= 0 and trial.user_attrs["predict_time"] >= 0


def test_running_again_resumes_and_a_larger_budget_extends(storage_url) -> None:
    first = run(_experiment(storage_url))
    again = run(_experiment(storage_url))
    assert again.study == first.study and again.complete == 4
    more = run(_experiment(storage_url, n_trials=6))
    assert more.study == first.study and more.complete == 6


def test_a_different_problem_is_a_different_study(storage_url) -> None:
    a = run(_experiment(storage_url))
    b = run(_experiment(storage_url, seed=1))
    c = run(_experiment(storage_url, space={"n_neighbors": {"low": 1, "high": 3}}))
    assert len({a.study, b.study, c.study}) == 3


def test_the_time_budget_counts_time_already_spent(storage_url) -> None:
    exp = _experiment(storage_url, n_trials=1000, timeout=1.0)
    first = run(exp)
    assert 0 < first.complete < 1000
    assert run(exp).complete == first.complete  # the budget is spent: nothing more runs


def test_all_params_fixed_is_a_single_fit(storage_url) -> None:
    summary = run(
        _experiment(
            storage_url,
            params={"n_neighbors": 5, "weights": "uniform", "p": 2, "scaler": "standard"},
        )
    )
    assert summary.complete == 1


def test_seed_svm_on_digits_reproduces_scikit_learn(storage_url) -> None:
    summary = run(
        _experiment(
            storage_url,
            dataset="digits",
            model="svm",
            seed=42,
            params={"kernel": "linear", "C": 1.0, "gamma": "search", "scaler": "none"},
            split=SplitConfig(test_size=0.2, stratify=False, seed=42),
        )
    )
    assert summary.complete == 1
    assert round(summary.test_score, 4) == 0.9778


class _Flaky(DummyClassifier):
    """Fails for large values of its ``x`` parameter, like a learner that breaks on some settings."""

    def __init__(self, x: float = 0.0) -> None:
        super().__init__()
        self.x = x

    def fit(self, X, y):
        if self.x > 0.5:
            raise RuntimeError(f"x={self.x} is too large")
        return super().fit(X, y)


class FlakyPlugin:
    @hookimpl
    def register_models(self, register):
        register(
            Model(
                "flaky",
                lambda params, context: _Flaky(**params),
                space={"x": Float(0.0, 1.0)},
                tasks=CLASSIFICATION,
            )
        )


def test_a_failing_trial_is_recorded_and_the_study_goes_on(storage_url) -> None:
    pm = plugin_manager()
    pm.register(FlakyPlugin(), name="flaky")
    registry = collect(pm)
    summary = run(_experiment(storage_url, model="flaky", n_trials=12), registry)
    trials = _trials(storage_url, summary.study)
    failed = [t for t in trials if t.state == optuna.trial.TrialState.FAIL]
    assert len(trials) == 12 and failed and summary.complete == 12 - len(failed)
    assert all("RuntimeError: x=" in t.user_attrs["error"] for t in failed)
    assert summary.test_score is not None  # the best working configuration was refit and tested


def test_cross_validation_reports_each_fold_so_a_pruner_can_stop_trials(storage_url) -> None:
    exp = _experiment(
        storage_url,
        model="decision_tree",
        n_trials=15,
        split=SplitConfig(validation="cv", folds=5),
        space={"max_depth": {"low": 1, "high": 8}},
        pruner={
            "_target_": "optuna.pruners.MedianPruner",
            "n_startup_trials": 2,
            "n_warmup_steps": 0,
        },
    )
    summary = run(exp)
    trials = _trials(storage_url, summary.study)
    assert all(len(t.intermediate_values) >= 1 for t in trials)
    pruned = [t for t in trials if t.state == optuna.trial.TrialState.PRUNED]
    assert pruned, "the median pruner should stop at least one shallow tree early"
    assert all(len(t.intermediate_values) < 5 for t in pruned)


def test_a_model_for_the_wrong_task_is_a_user_error(storage_url) -> None:
    pm = plugin_manager()
    pm.register(FlakyPlugin(), name="flaky")
    with pytest.raises(UserError, match="model 'flaky' does not handle regression tasks"):
        run(_experiment(storage_url, dataset="diabetes", model="flaky"), collect(pm))


def test_a_sampler_that_cannot_be_created_is_a_user_error(storage_url) -> None:
    with pytest.raises(UserError, match="cannot create the sampler optuna.samplers.Nope"):
        run(_experiment(storage_url, sampler={"_target_": "optuna.samplers.Nope"}))


def test_regression_runs_with_its_default_metric(storage_url) -> None:
    summary = run(_experiment(storage_url, dataset="diabetes", model="linear"))
    assert summary.metric == "rmse" and 30 < summary.test_score < 80
    assert np.isfinite(summary.val_score)


def test_a_resumed_study_does_not_repeat_the_first_runs_configurations(storage_url) -> None:
    random = {"_target_": "optuna.samplers.RandomSampler", "seed": 0}
    first = run(_experiment(storage_url, n_trials=3, sampler=random))
    run(_experiment(storage_url, n_trials=6, sampler=random))
    trials = _trials(storage_url, first.study)
    seen = [tuple(sorted(t.params.items())) for t in trials]
    assert len(trials) == 6 and not set(seen[:3]) & set(seen[3:])


def test_a_sampler_without_a_seed_takes_the_experiments(tmp_path) -> None:
    # Experiment built in code with the default sampler: the same seed proposes the same trials.
    def params(name: str, seed: int) -> list:
        url = str(tmp_path / f"{name}.journal")
        summary = run(
            _experiment(url, sampler={"_target_": "optuna.samplers.TPESampler"}, seed=seed)
        )
        return [t.params for t in _trials(url, summary.study)]

    assert params("a", 0) == params("b", 0) != params("c", 1)


def test_a_small_finite_space_is_searched_exhaustively(storage_url) -> None:
    summary = run(_experiment(storage_url, n_trials=20, params={"n_neighbors": 5}))
    trials = _trials(storage_url, summary.study)
    assert len({tuple(sorted(t.params.items())) for t in trials}) == len(trials) == 4


def test_edited_data_is_a_new_study(tmp_path, storage_url) -> None:
    path = tmp_path / "d.csv"
    rng = np.random.default_rng(0)
    frame = {"a": rng.normal(size=60), "target": [0, 1, 2] * 20}
    pd.DataFrame(frame).to_csv(path, index=False)
    exp = _experiment(storage_url, dataset="csv", dataset_options={"path": str(path)}, n_trials=2)
    first = run(exp)
    pd.DataFrame({**frame, "a": frame["a"] + 1}).to_csv(path, index=False)
    assert run(exp).study != first.study


@pytest.mark.skipif(importlib.util.find_spec("cmaes") is not None, reason="cmaes is installed")
def test_a_sampler_missing_its_package_is_a_user_error(storage_url) -> None:
    with pytest.raises(UserError, match="needs the 'cmaes' package: pip install cmaes"):
        run(_experiment(storage_url, sampler={"_target_": "optuna.samplers.CmaEsSampler"}))
