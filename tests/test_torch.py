"""The PyTorch learners on the CPU: shapes and modalities, convergence, pruning, time limits,
the estimator contract, seeding."""

from __future__ import annotations

import time

import numpy as np
import optuna
import pytest
import torch
from automl_datasets.mnist import load_digits_images
from automl_datasets.ucr import load_ucr
from automl_torch import TorchClassifier, TorchRegressor
from automl_torch.estimators import _Standardize, resident
from sklearn.base import clone
from sklearn.datasets import load_diabetes, load_digits
from sklearn.model_selection import train_test_split

from automl import FitContext, Task
from automl.fitting.resolved import epoch_reporter
from automl.search.study import run
from automl.settings.experiment import Experiment

QUICK = {"max_epochs": 3, "batch_size": 64, "random_state": 0, "threads": 1}


@pytest.fixture(scope="module")
def images():
    data = load_digits_images()
    return data.X, data.y


@pytest.fixture(scope="module")
def vowels(data_dir):
    return load_ucr("JapaneseVowels", root=str(data_dir / "ucr"))


@pytest.mark.parametrize(
    ("network", "modality"),
    [("mlp", "tabular"), ("mlp", "image"), ("cnn", "image"), ("rnn", "image"),
     ("mlp", "sequence"), ("cnn", "sequence"), ("rnn", "sequence")],
)  # fmt: skip
def test_each_network_takes_its_modalities(images, vowels, network, modality) -> None:
    X, y = {
        "tabular": (images[0].reshape(len(images[0]), -1), images[1]),
        "image": images,
        "sequence": (vowels.X, vowels.y),
    }[modality]
    model = TorchClassifier(network, **QUICK).fit(X[:300], y[:300])
    proba = model.predict_proba(X[:50])
    assert proba.shape == (50, len(np.unique(y[:300])))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert set(model.predict(X[:50])) <= set(y)


def test_a_tabular_network_refuses_what_it_cannot_read() -> None:
    with pytest.raises(ValueError, match="a CNN needs images"):
        TorchClassifier("cnn", **QUICK).fit(np.zeros((20, 4)), np.arange(20) % 2)


def test_variable_length_sequences_keep_their_lengths(vowels) -> None:
    _, lengths = resident(vowels.X, torch.device("cpu"))
    expected = (~np.isnan(vowels.X).all(axis=2)).sum(axis=1)
    assert lengths.tolist() == expected.tolist() and expected.min() < expected.max()


def test_cpu_training_converges_on_real_data() -> None:
    X, y = load_digits(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    clf = TorchClassifier("mlp", max_epochs=30, random_state=0, threads=1).fit(X_tr, y_tr)
    assert clf.score(X_te, y_te) > 0.93
    losses = [h["train_loss"] for h in clf.history_]
    assert losses[-1] < losses[0] / 5
    X, y = load_diabetes(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=0)
    reg = TorchRegressor("mlp", width=32, shrink=0.5, max_epochs=200, patience=10,
                         random_state=0, threads=1).fit(X_tr, y_tr)  # fmt: skip
    assert reg.score(X_te, y_te) > 0.3  # R², against about 0.45 for a tuned linear model


def test_a_pruner_stops_a_hopeless_trial(images) -> None:
    X, y = images
    study = optuna.create_study(
        direction="maximize",
        pruner=optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0),
    )

    def objective(trial: optuna.Trial) -> float:
        lr = 1e-2 if trial.number == 0 else 1e-7  # the second cannot learn anything in time
        clf = TorchClassifier("mlp", lr=lr, max_epochs=5, random_state=0, threads=1,
                              on_epoch=epoch_reporter(_judge(trial), "maximize"))  # fmt: skip
        return clf.fit(X, y).score(X, y)

    study.optimize(objective, n_trials=2)
    states = [t.state for t in study.trials]
    assert states == [optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED]
    assert len(study.trials[1].intermediate_values) < 5


def _judge(trial: optuna.Trial):
    def report(step: int, value: float) -> bool:
        trial.report(value, step)
        return trial.should_prune()

    return report


def test_the_time_limit_stops_training(images) -> None:
    clf = TorchClassifier("cnn", max_epochs=10_000, time_limit=0.5, threads=1).fit(*images)
    assert clf.stopped_by_time_ and clf.n_epochs_ < 10_000
    assert clf.predict(images[0][:5]).shape == (5,)  # the model trained so far is kept


@pytest.mark.parametrize("name", ["mlp", "cnn", "rnn"])
def test_clone_and_get_params_work_on_every_torch_learner(registry, name) -> None:
    model = registry.model(name)
    params = {k: v for k, v in model.initial_params().items() if v != "search"}
    for task in (Task.MULTICLASS, Task.REGRESSION):
        estimator = model.build(params, FitContext(task=task, seed=3, threads=1))
        copy = clone(estimator)
        assert copy.get_params() == estimator.get_params()
        assert copy.get_params()["network"] == name and copy.random_state == 3
        copy.set_params(lr=0.5)
        assert copy.lr == 0.5 and estimator.lr != 0.5


def test_the_same_seed_gives_the_same_leaderboard_row(tmp_path) -> None:
    def once(folder: str):
        return run(
            Experiment(
                dataset="digits_images",
                model="cnn",
                storage=str(tmp_path / folder / "s.journal"),
                n_trials=2,
                progress=False,
                threads=1,
                sampler={"_target_": "optuna.samplers.TPESampler", "seed": 0},
                params={"max_epochs": 3, "depth": 1, "channels": 8},
            )  # fmt: skip
        )

    a, b = once("a"), once("b")
    assert (a.val_score, a.test_score) == (b.val_score, b.test_score)
    assert a.test_score > 0.5  # far above chance (0.1), after only 3 epochs


def test_classical_learners_compete_on_images_flattened(storage_url) -> None:
    summary = run(Experiment(dataset="digits_images", model="knn", storage=storage_url,
                             n_trials=2, progress=False, threads=1))  # fmt: skip
    assert summary.test_score > 0.9


def test_a_missing_value_inside_a_series_does_not_shorten_it() -> None:
    X = np.array([[[1.0], [np.nan], [2.0], [np.nan]]], dtype=np.float32)
    _, lengths = resident(X, torch.device("cpu"))
    assert lengths.tolist() == [3]


def test_sequence_scaling_ignores_padding_and_keeps_it_zero(vowels) -> None:
    x, lengths = resident(vowels.X, torch.device("cpu"))
    scale = _Standardize(x, lengths)
    assert float(scale.mean[0, 0]) == pytest.approx(float(np.nanmean(vowels.X[:, :, 0])), rel=1e-5)
    assert float(scale.std[0, 0]) == pytest.approx(float(np.nanstd(vowels.X[:, :, 0])), rel=1e-5)
    padding = torch.from_numpy(np.isnan(vowels.X).all(axis=2))
    assert bool((scale(x, lengths)[padding] == 0).all())


def test_a_constant_feature_is_left_unscaled() -> None:
    x = torch.tensor([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0]])
    scale = _Standardize(x, None)
    assert scale.std[1] == 1.0
    assert float(scale(torch.tensor([[2.0, 9.0]]))[0, 1]) == 4.0


def test_the_time_limit_is_the_trials_across_folds(registry) -> None:
    model = registry.model("mlp")
    started = time.monotonic() - 250  # a trial whose earlier folds took 250 s
    context = FitContext(task=Task.MULTICLASS, seed=0, started=started)
    estimator = model.build({"time_limit": 300.0}, context)
    assert 0 < estimator.time_limit <= 50
