"""The PyTorch learners against scikit-learn's own estimator checks, one test per check, and the
input validation they share with the population trainer: NaN as sequence padding, the caller's
array kept for the device cache."""

from __future__ import annotations

import numpy as np
import pytest
from automl_torch import TorchClassifier, TorchRegressor
from automl_torch import estimators as torch_estimators
from sklearn.utils.estimator_checks import parametrize_with_checks

# The default training settings, as a user gets them (check_regressors_train wants R² > 0.5), on
# one CPU thread: every check together takes a few seconds. On the CPU wherever the tests run:
# some checks compare predictions made in batches of different sizes at a tolerance of 1e-7,
# closer than a GPU's kernels (chosen by batch size) need agree.
ESTIMATORS = [TorchClassifier(device="cpu", threads=1), TorchRegressor(device="cpu", threads=1)]
QUICK = {"max_epochs": 2, "random_state": 0, "device": "cpu", "threads": 1}


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_estimator_checks(estimator, check) -> None:
    check(estimator)


def _sequences() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 6, 2)).astype(np.float32)
    for i in range(0, 40, 3):
        X[i, 4:] = np.nan  # a shorter series, padded after its last step
    return X, np.arange(40) % 2


@pytest.mark.parametrize("network", ["mlp", "cnn", "rnn"])
def test_nan_padding_in_sequences_is_accepted(network) -> None:
    X, y = _sequences()
    model = TorchClassifier(network, **QUICK).fit(X, y)
    assert model.n_features_in_ == 6 and model.predict(X).shape == (40,)


@pytest.mark.parametrize(
    ("shape", "value", "message"),
    [((20, 3), np.nan, "contains NaN"), ((20, 1, 4, 4), np.nan, "contains NaN"),
     ((20, 3), np.inf, "infinity"), ((20, 6, 2), np.inf, "infinity")],
)  # fmt: skip
def test_nan_outside_sequences_and_inf_anywhere_are_refused(shape, value, message) -> None:
    X = np.zeros(shape)
    y = np.arange(20) % 2
    X.flat[5] = value
    for model in (TorchClassifier(**QUICK), TorchRegressor(**QUICK)):
        with pytest.raises(ValueError, match=message):
            model.fit(X, y)
    fitted = TorchClassifier(**QUICK).fit(np.zeros(shape), y)
    with pytest.raises(ValueError, match=message):
        fitted.predict(X)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_callers_float_array_reaches_the_device_cache(monkeypatch, dtype) -> None:
    X, y = _sequences()
    X = X.astype(dtype)
    seen = []
    real = torch_estimators.resident

    def spy(array, device):
        seen.append(array)
        return real(array, device)

    monkeypatch.setattr(torch_estimators, "resident", spy)
    model = TorchClassifier(**QUICK)
    assert model._checked(X, y)[0] is X
    model.fit(X, y).predict(X)
    assert len(seen) == 2 and all(array is X for array in seen)


def test_other_numbers_are_trained_on_as_float32() -> None:
    X = np.arange(60).reshape(20, 3)  # integers
    checked, _ = TorchRegressor(**QUICK)._checked(X, np.arange(20.0))
    assert checked.dtype == np.float32
