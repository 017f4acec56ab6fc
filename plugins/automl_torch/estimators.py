"""PyTorch learners with the scikit-learn estimator contract: ``TorchClassifier``, ``TorchRegressor``.

The training loop is written by hand rather than built on DataLoader because, for in-memory data,
the loader's per-batch Python work and host-to-device copies dominate small networks. Here the data
moves to the device once per process (``resident``), each epoch shuffles by index on the device, the
loss is summed on the device (one host sync per epoch), and CUDA runs use bf16 autocast and fused
optimizers. ``benchmarks/deep_epoch.py`` measures it against the plain DataLoader loop.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import Tags, assert_all_finite
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn

from automl_torch.networks import CNN, MLP, RNN
from automl_torch.steps import Steps, graphable

_RESIDENT: dict[tuple[int, str], tuple[weakref.ref, torch.Tensor, torch.Tensor | None]] = {}

# How X is validated, at fit and predict: 2-D tables, 3-D sequences and 4-D images, as float32 or
# float64 (other numbers become float32; a float array is passed through as the caller's object,
# so that ``resident`` finds it in its cache), dense only. Finiteness is checked afterwards, when
# the number of dimensions is known (see ``_finite``).
_ARRAYS: dict[str, Any] = {
    "dtype": (np.float32, np.float64),
    "allow_nd": True,
    "ensure_all_finite": False,
}


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("device=cuda, but torch sees no CUDA device; use device=auto or cpu")
    return torch.device(name)


def in_words(device: torch.device) -> str:
    """Where a network trained, as a leaderboard says it: ``cpu``, or the GPU and its name."""
    if device.type != "cuda":
        return "cpu"
    index = device.index or 0
    return f"{f'cuda:{index}' if index else 'cuda'} ({torch.cuda.get_device_name(index)})"


def resident(X: Any, device: torch.device) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``X`` on ``device`` as float32 with NaN padding zeroed, and sequence lengths.

    Cached per array object for as long as the array lives, so every trial and epoch of a study
    reuses one copy on the device instead of moving the data again.
    """
    if device.type == "cuda" and device.index is None:  # "cuda" and "cuda:0" are one device
        device = torch.device("cuda", torch.cuda.current_device())
    key = (id(X), str(device))
    hit = _RESIDENT.get(key)
    if hit is not None and hit[0]() is X:
        return hit[1], hit[2]
    array = np.asarray(X, dtype=np.float32)
    x = torch.from_numpy(np.ascontiguousarray(array)).to(device)
    lengths = None
    if x.ndim == 3:  # N×T×F sequences: the steps after the last one with a value are padding
        real = ~torch.isnan(x).all(dim=2)
        steps = torch.arange(1, x.shape[1] + 1, device=device)
        lengths = (real * steps).amax(dim=1).clamp(min=1)
    x = torch.nan_to_num(x, nan=0.0)
    if isinstance(X, np.ndarray):
        _RESIDENT[key] = (weakref.ref(X, lambda _, k=key: _RESIDENT.pop(k, None)), x, lengths)
    return x, lengths


def _mask(lengths: torch.Tensor, steps: int) -> torch.Tensor:
    """N×T×1: 1 for a sequence's real steps, 0 for its padding."""
    return (torch.arange(steps, device=lengths.device) < lengths[:, None]).unsqueeze(2)


class _Standardize(nn.Module):
    """Fixed per-feature (tabular) or per-channel (image, sequence) scaling, fitted on training
    rows; a sequence's padding is left out of the statistics and stays zero."""

    def __init__(self, x: torch.Tensor, lengths: torch.Tensor | None) -> None:
        super().__init__()
        dims = {2: (0,), 3: (0, 1), 4: (0, 2, 3)}[x.ndim]
        if lengths is None:
            mean = x.mean(dim=dims, keepdim=True)
            std = x.std(dim=dims, keepdim=True, correction=0)
        else:  # over real steps only
            weight = _mask(lengths, x.shape[1]).to(x.dtype)
            count = weight.sum()  # real steps, the same for every channel
            mean = (x * weight).sum(dim=dims, keepdim=True) / count
            std = ((((x - mean) * weight) ** 2).sum(dim=dims, keepdim=True) / count).sqrt()
        std = torch.where(std < 1e-8, torch.ones_like(std), std)  # constant: leave unscaled
        self.register_buffer("mean", mean[0])
        self.register_buffer("std", std[0])

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        x = (x - self.mean) / self.std
        return x * _mask(lengths, x.shape[1]) if lengths is not None else x


class _Model(nn.Module):
    def __init__(self, scale: _Standardize | None, net: nn.Module) -> None:
        super().__init__()
        self.scale, self.net = scale, net

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
        if self.scale is not None:
            x = self.scale(x, lengths)
        return self.net(x, lengths)


class _TorchEstimator(BaseEstimator):
    """Shared by the classifier and the regressor: ``network`` picks mlp, cnn or rnn, and only
    that network's architecture parameters matter."""

    def __init__(
        self,
        network: str = "mlp",
        *,
        depth: int = 2,
        width: int = 128,
        shrink: float = 1.0,
        activation: str = "relu",
        dropout: float = 0.0,
        norm: str = "none",
        channels: int = 32,
        kernel_size: int = 3,
        pooling: str = "max",
        cell: str = "gru",
        hidden: int = 64,
        layers: int = 1,
        bidirectional: bool = False,
        optimizer: str = "adam",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        batch_size: int = 64,
        max_epochs: int = 30,
        patience: int = 5,
        validation_fraction: float = 0.1,
        standardize: bool = True,
        device: str = "auto",
        random_state: int = 0,
        threads: int = 0,
        time_limit: float | None = None,
        cuda_graphs: bool = True,
        on_epoch: Callable[[int, float], None] | None = None,
    ) -> None:
        self.network = network
        self.depth = depth
        self.width = width
        self.shrink = shrink
        self.activation = activation
        self.dropout = dropout
        self.norm = norm
        self.channels = channels
        self.kernel_size = kernel_size
        self.pooling = pooling
        self.cell = cell
        self.hidden = hidden
        self.layers = layers
        self.bidirectional = bidirectional
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.standardize = standardize
        self.device = device
        self.random_state = random_state
        self.threads = threads
        self.time_limit = time_limit
        self.cuda_graphs = cuda_graphs
        self.on_epoch = on_epoch

    # What the subclasses define.
    def _targets(self, y: np.ndarray, device: torch.device) -> tuple[torch.Tensor, int]:
        raise NotImplementedError

    def _loss(self) -> nn.Module:
        raise NotImplementedError

    def _network(self, in_shape: tuple[int, ...], outputs: int) -> nn.Module:
        if self.network == "mlp":
            return MLP(in_shape, outputs, depth=self.depth, width=self.width, shrink=self.shrink,
                       activation=self.activation, dropout=self.dropout, norm=self.norm)  # fmt: skip
        if self.network == "cnn":
            if len(in_shape) == 1:
                raise ValueError("a CNN needs images (N×C×H×W) or sequences (N×T×F)")
            return CNN(in_shape, outputs, depth=self.depth, channels=self.channels,
                       kernel_size=self.kernel_size, pooling=self.pooling,
                       activation=self.activation, dropout=self.dropout,
                       sequence=len(in_shape) == 2)  # fmt: skip
        if self.network == "rnn":
            if len(in_shape) == 1:
                raise ValueError("an RNN needs sequences (N×T×F) or images (N×C×H×W)")
            return RNN(in_shape, outputs, cell=self.cell, hidden=self.hidden, layers=self.layers,
                       bidirectional=self.bidirectional, dropout=self.dropout)  # fmt: skip
        raise ValueError(f"unknown network '{self.network}'; available: mlp, cnn, rnn")

    def _optimizer(
        self, params: Any, device: torch.device, graphed: bool = False
    ) -> torch.optim.Optimizer:
        kinds = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}
        if self.optimizer not in kinds:
            raise ValueError(f"unknown optimizer '{self.optimizer}'; available: adam, adamw")
        fused = device.type == "cuda"  # one kernel per step instead of one per parameter
        extra = {"capturable": True} if graphed else {}  # its step may be captured (steps.py)
        optimizer = kinds[self.optimizer](
            params, lr=self.lr, weight_decay=self.weight_decay, fused=fused, **extra
        )
        # The warm-up steps before capture run uncaptured, by design: not worth a warning a fit.
        optimizer._warned_capturable_if_run_uncaptured = True
        return optimizer

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        # Sequences (N×T×F) too, where NaN marks padding; images (N×C×H×W) have no tag of their own.
        # allow_nan stays False: the tag speaks of 2-D input, where NaN and inf are refused.
        tags.input_tags.three_d_array = True
        return tags

    def _checked(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """``X`` and ``y`` validated for fitting (``n_features_in_`` set), as arrays to train on.

        ``X`` comes back as the caller's own object when it is already a float32 or float64 array,
        which keeps ``resident``'s per-array device cache working from one trial to the next.
        """
        X, y = validate_data(self, X, y, **_ARRAYS)
        return self._finite(X), y

    def _checked_predict(self, X: Any) -> np.ndarray:
        """``X`` validated against what ``fit`` saw, for predicting; refused before ``fit``."""
        check_is_fitted(self)
        return self._finite(validate_data(self, X, reset=False, **_ARRAYS))

    def _finite(self, X: np.ndarray) -> np.ndarray:
        # NaN in a sequence marks padding after its last step (or a missing step); in a table or an
        # image it is refused, as inf is everywhere, with scikit-learn's own message.
        name = type(self).__name__
        assert_all_finite(X, allow_nan=X.ndim == 3, estimator_name=name, input_name="X")
        return X

    def fit(self, X: Any, y: Any) -> _TorchEstimator:
        start = time.monotonic()
        X, y = self._checked(X, y)
        device = resolve_device(self.device)
        if self.threads > 0:
            torch.set_num_threads(self.threads)
        x, lengths = resident(X, device)
        targets, outputs = self._targets(y, device)
        devices = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            generator, train, valid, scale = self._split(x, lengths, device)
            self.model_ = _Model(scale, self._network(tuple(x.shape[1:]), outputs)).to(device)
            self._train(x, lengths, targets, train, valid, generator, device, start)
        self.device_ = in_words(device)  # where it trained, for the row that reports it
        return self

    def _split(self, x: torch.Tensor, lengths: torch.Tensor | None, device: torch.device) -> Any:
        """Seed torch, then draw the early-stopping rows and fit the scaling on the others: the
        epochs' shuffles come from the returned generator (automl_torch.population shares it)."""
        torch.manual_seed(self.random_state)
        generator = torch.Generator(device=device).manual_seed(self.random_state)
        order = torch.randperm(len(x), device=device, generator=generator)
        n_valid = int(round(len(x) * self.validation_fraction))
        valid, train = order[:n_valid], order[n_valid:]
        scale = (
            _Standardize(x[train], None if lengths is None else lengths[train])
            if self.standardize
            else None
        )
        return generator, train, valid, scale

    def _batches(self, rows: torch.Tensor, size: int) -> Any:
        for i in range(0, len(rows), size):
            yield rows[i : i + size]

    def _epoch_loss(self, x, lengths, targets, rows, loss_fn, device) -> float:  # type: ignore[no-untyped-def]
        self.model_.eval()
        total = torch.zeros((), device=device)
        with torch.no_grad():  # float32: scores must not depend on the device's precision
            for b in self._batches(rows, 4096):
                out = self.model_(x[b], None if lengths is None else lengths[b]).float()
                total += loss_fn(out, targets[b]) * len(b)
        return float(total / len(rows))

    def _train(self, x, lengths, targets, train, valid, generator, device, start) -> None:  # type: ignore[no-untyped-def]
        loss_fn = self._loss()
        graphed = graphable(device, lengths, self.cuda_graphs, self.network)
        optimizer = self._optimizer(self.model_.parameters(), device, graphed)
        step = Steps(self.model_, loss_fn, optimizer, x, lengths, targets, self.batch_size,
                     graphed, lambda cache: _autocast(device, cache))  # fmt: skip
        best, best_state, stale = float("inf"), None, 0
        self.history_: list[dict[str, float]] = []
        self.stopped_by_time_ = False
        for epoch in range(self.max_epochs):
            began = time.perf_counter()
            self.model_.train()
            total = torch.zeros((), device=device)
            seen = 0
            shuffled = train[torch.randperm(len(train), device=device, generator=generator)]
            for b in self._batches(shuffled, self.batch_size):
                if len(b) < 2:  # batch normalisation cannot use a batch of one
                    continue
                total += step(b)  # stays on the device: no sync per batch
                seen += len(b)
                if self.time_limit is not None and time.monotonic() - start > self.time_limit:
                    self.stopped_by_time_ = True
                    break
            train_loss = float(total / max(1, seen))  # the epoch's one host sync
            seconds = time.perf_counter() - began
            watched = (
                self._epoch_loss(x, lengths, targets, valid, loss_fn, device)
                if len(valid)
                else train_loss
            )
            self.history_.append(  # seconds: the epoch's training, measured after its one sync
                {"epoch": epoch, "train_loss": train_loss, "loss": watched, "seconds": seconds}
            )
            if watched < best - 1e-7:
                best, stale = watched, 0
                if len(valid):
                    best_state = {
                        k: v.detach().clone() for k, v in self.model_.state_dict().items()
                    }
            else:
                stale += 1
            if self.on_epoch is not None:
                self.on_epoch(epoch, watched)  # may raise optuna.TrialPruned
            if self.stopped_by_time_ or (len(valid) and stale >= self.patience):
                break
        if best_state is not None:  # early stopping keeps the best epoch's weights
            self.model_.load_state_dict(best_state)
        optimizer.zero_grad(set_to_none=True)  # the fitted model keeps no gradients (nor graph)
        self.n_epochs_ = len(self.history_)
        self.graph_steps_ = step.replays  # steps replayed from a CUDA graph; 0 on the CPU

    def _forward(self, X: Any) -> torch.Tensor:
        X = self._checked_predict(X)
        device = next(self.model_.parameters()).device
        x, lengths = resident(X, device)
        self.model_.eval()
        outputs = []
        with torch.no_grad():  # float32, as above
            for i in range(0, len(x), 4096):
                batch_lengths = None if lengths is None else lengths[i : i + 4096]
                outputs.append(self.model_(x[i : i + 4096], batch_lengths).float())
        return torch.cat(outputs)


def _autocast(device: torch.device, cache: bool = True) -> Any:
    # ``cache``: False inside a CUDA graph capture, where autocast's cast cache cannot live on.
    enabled = device.type == "cuda"
    return torch.autocast("cuda", dtype=torch.bfloat16, enabled=enabled, cache_enabled=cache)


class TorchClassifier(ClassifierMixin, _TorchEstimator):
    """A PyTorch classifier (cross-entropy); ``predict_proba`` gives softmax probabilities."""

    def _checked(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        X, y = super()._checked(X, y)
        check_classification_targets(y)  # refuses continuous and multilabel targets
        return X, y

    def _targets(self, y: np.ndarray, device: torch.device) -> tuple[torch.Tensor, int]:
        self.classes_ = np.unique(y)
        index = np.searchsorted(self.classes_, y)
        return torch.as_tensor(index, dtype=torch.long, device=device), len(self.classes_)

    def _loss(self) -> nn.Module:
        return nn.CrossEntropyLoss()

    def predict_proba(self, X: Any) -> np.ndarray:
        return torch.softmax(self._forward(X), dim=1).cpu().numpy()

    def predict(self, X: Any) -> np.ndarray:
        index = self._forward(X).argmax(dim=1).cpu().numpy()  # refuses first when unfitted
        return self.classes_[index]


class TorchRegressor(RegressorMixin, _TorchEstimator):
    """A PyTorch regressor (mean squared error on the standardised target)."""

    def _targets(self, y: np.ndarray, device: torch.device) -> tuple[torch.Tensor, int]:
        y = y.astype(np.float64)
        self.y_mean_, self.y_std_ = float(y.mean()), float(y.std() or 1.0)
        scaled = (y - self.y_mean_) / self.y_std_
        return torch.as_tensor(scaled, dtype=torch.float32, device=device).view(-1, 1), 1

    def _loss(self) -> nn.Module:
        return nn.MSELoss()

    def predict(self, X: Any) -> np.ndarray:
        out = self._forward(X).view(-1).cpu().numpy().astype(np.float64)
        return out * self.y_std_ + self.y_mean_
