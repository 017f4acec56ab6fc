"""The single-model loop's steps: eager on the CPU; on a GPU, replayed from a captured CUDA graph
with the results of eager steps (to bf16 tolerance). The GPU tests run where torch sees one."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from automl_torch import TorchClassifier
from automl_torch.population import fit_population
from sklearn.datasets import load_digits

GPU = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
QUICK = {"max_epochs": 4, "batch_size": 64, "random_state": 0, "threads": 1}


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X.astype(np.float32), y


def test_on_the_cpu_every_step_is_eager(digits) -> None:
    X, y = digits
    graphs = TorchClassifier("mlp", device="cpu", **QUICK).fit(X, y)
    eager = TorchClassifier("mlp", device="cpu", cuda_graphs=False, **QUICK).fit(X, y)
    assert graphs.graph_steps_ == 0 == eager.graph_steps_
    assert [h["loss"] for h in graphs.history_] == [h["loss"] for h in eager.history_]


@GPU
@pytest.mark.parametrize(("network", "extra"), [
    ("mlp", {"dropout": 0.0}), ("mlp", {"norm": "batch"}), ("mlp", {"dropout": 0.3}),
    ("mlp", {"optimizer": "adamw", "weight_decay": 1e-3}), ("cnn", {"channels": 8}),
])  # fmt: skip
def test_on_a_gpu_graph_replays_train_as_eager_steps_do(digits, network, extra) -> None:
    X, y = digits
    if network == "cnn":
        X = X.reshape(-1, 1, 8, 8)
    graphed = TorchClassifier(network, device="cuda", **QUICK, **extra).fit(X, y)
    eager = TorchClassifier(network, device="cuda", cuda_graphs=False, **QUICK, **extra).fit(X, y)
    steps = len(X) * 0.9 // QUICK["batch_size"] * QUICK["max_epochs"]
    assert graphed.graph_steps_ >= steps - 5 and eager.graph_steps_ == 0
    np.testing.assert_allclose([h["loss"] for h in graphed.history_],
                               [h["loss"] for h in eager.history_], rtol=2e-2)  # fmt: skip
    assert (graphed.predict(X) == y).mean() > 0.8


@GPU
def test_on_a_gpu_the_rnn_steps_eagerly(digits) -> None:
    X, y = digits
    rnn = TorchClassifier("rnn", device="cuda", **QUICK).fit(X.reshape(-1, 1, 8, 8), y)
    assert rnn.graph_steps_ == 0


@GPU
def test_on_a_gpu_a_population_matches_its_members_alone(digits) -> None:
    X, y = digits
    lrs = (1e-3, 2e-3, 3e-3)
    alone = [TorchClassifier("mlp", lr=lr, device="cuda", **QUICK).fit(X, y) for lr in lrs]
    together = [TorchClassifier("mlp", lr=lr, device="cuda", **QUICK) for lr in lrs]
    assert fit_population(together, X, y) == [None] * 3
    for a, b in zip(alone, together, strict=True):  # bf16 products: within seed-noise-like bounds
        assert abs(a.history_[-1]["loss"] - b.history_[-1]["loss"]) < 0.1
        assert abs((a.predict(X) == y).mean() - (b.predict(X) == y).mean()) < 0.05
