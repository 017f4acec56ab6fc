"""Built-in deep learners: PyTorch MLP, CNN and RNN, on a GPU when there is one.

Each registers as a model with its search space (learning rate on a log scale, weight decay, batch
size, architecture). The MLP takes every modality (images and sequences flattened); the CNN takes
images (2-D convolution) and sequences (1-D); the RNN takes sequences and images as rows.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from automl import Categorical, FitContext, Float, Int, Interval, Model, OneOf, hookimpl

__all__ = ["MODELS", "TorchClassifier", "TorchRegressor", "register_models"]


def __getattr__(name: str) -> Any:
    # torch is imported when a deep learner is first built, not when the plugin loads: importing it
    # takes 1-4 s, which every `automl` start and every worker would otherwise pay.
    if name in ("TorchClassifier", "TorchRegressor"):
        from automl_torch import estimators

        return getattr(estimators, name)
    raise AttributeError(name)


TRAINING = {
    "lr": Float(1e-4, 3e-2, log=True),
    "weight_decay": Float(1e-7, 1e-2, log=True),
    "batch_size": Categorical((32, 64, 128, 256, 512)),
    "dropout": Float(0.0, 0.5),
}
FIXED = {  # fixed defaults of every deep learner; any can be changed with model.params.<name>
    "max_epochs": 30,
    "patience": 5,
    "validation_fraction": 0.1,
    "optimizer": "adam",
    "standardize": True,
    "time_limit": 300.0,  # seconds of training per trial (all folds), then the best epoch is kept
}

COUNT = Interval(1, integer=True)
# What each parameter accepts at all: a fixed value outside is refused before any trial runs.
DOMAINS = {
    "lr": Interval(0, low_open=True),
    "weight_decay": Interval(0),
    "batch_size": COUNT,
    "dropout": Interval(0, 1, high_open=True),
    "max_epochs": COUNT,
    "patience": COUNT,
    "validation_fraction": Interval(0, 1, high_open=True),  # 0: no early stopping
    "optimizer": OneOf("adam", "adamw"),
    "standardize": OneOf(True, False),
    "time_limit": (Interval(0, low_open=True), OneOf(None)),
    "depth": COUNT,
    "width": COUNT,
    "shrink": Interval(0, 1, low_open=True),
    "channels": COUNT,
    "kernel_size": COUNT,
    "hidden": COUNT,
    "layers": COUNT,
    "bidirectional": OneOf(True, False),
    "cuda_graphs": OneOf(True, False),  # on a GPU, replay each training step as a CUDA graph
}


def _fit_population(estimators: Any, X: Any, y: Any) -> Any:
    from automl_torch.population import fit_population

    return fit_population(estimators, X, y)


# What members of a population may differ in: each member of a program has its own (see
# automl_torch.population; declared here, where loading the plugin imports no torch).
POPULATION_VARIES = frozenset({"lr", "weight_decay", "dropout"})


def _builder(network: str) -> Any:
    def build(params: Mapping[str, Any], context: FitContext) -> Any:
        from automl_torch.estimators import TorchClassifier, TorchRegressor

        kind = TorchClassifier if context.task.is_classification else TorchRegressor
        params = dict(params)
        if params.get("time_limit") is not None and context.started is not None:
            # The limit is the trial's: a later fold of cross-validation gets what is left.
            elapsed = time.monotonic() - context.started
            params["time_limit"] = max(0.0, params["time_limit"] - elapsed)
        return kind(
            network,
            **params,
            device=context.device,
            random_state=context.seed,
            threads=context.threads,
            on_epoch=context.report,
        )

    return build


MODELS = (
    Model(
        "mlp",
        _builder("mlp"),
        libraries=("torch",),
        space={
            "depth": Int(1, 4),
            "width": Int(32, 1024, log=True),
            "shrink": Float(0.25, 1.0),
            "activation": Categorical(("relu", "gelu", "tanh")),
            "norm": Categorical(("none", "batch", "layer")),
            **TRAINING,
        },
        defaults=FIXED,
        domains=DOMAINS,
        modalities=frozenset({"tabular", "image", "sequence"}),
        description="PyTorch multilayer perceptron (images and sequences flattened)",
        fit_population=_fit_population,
        population_varies=POPULATION_VARIES,
    ),
    Model(
        "cnn",
        _builder("cnn"),
        libraries=("torch",),
        space={
            "depth": Int(1, 3),
            "channels": Int(8, 64, log=True),
            "kernel_size": Categorical((3, 5)),
            "pooling": Categorical(("max", "avg")),
            **TRAINING,
        },
        defaults={**FIXED, "activation": "relu"},
        domains=DOMAINS,
        modalities=frozenset({"image", "sequence"}),
        description="PyTorch convolutional network: 2-D on images, 1-D on sequences",
        fit_population=_fit_population,
        population_varies=POPULATION_VARIES,
    ),
    Model(
        "rnn",
        _builder("rnn"),
        libraries=("torch",),
        space={
            "cell": Categorical(("gru", "lstm")),
            "hidden": Int(16, 256, log=True),
            "layers": Int(1, 3),
            "bidirectional": Categorical((False, True)),
            **TRAINING,
        },
        defaults=FIXED,
        domains=DOMAINS,
        modalities=frozenset({"sequence", "image"}),
        description="PyTorch GRU/LSTM over sequences, or over an image's rows",
    ),
)


@hookimpl
def register_models(register: Any) -> None:
    for model in MODELS:
        register(model)
