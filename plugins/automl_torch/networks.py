"""The three architectures. Each takes a batch ``x`` (tabular N×F, image N×C×H×W or sequence
N×T×F with padding already zeroed) and the true ``lengths`` of sequences, and returns N×outputs."""

from __future__ import annotations

import torch
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "silu": nn.SiLU}


class Dropout(nn.Module):
    """``nn.Dropout``, whose rate is also a buffer, so that the members of a population
    (automl_torch.population) stacked into one program each keep their own. Always in the network,
    an identity at rate 0, so that networks that differ only in their rate have the same
    parameters and buffers. Alone it is ``nn.Dropout`` exactly (its fused kernel, its random
    stream); ``stacked`` (set on a population's shared structure, where ``rate`` is the largest
    of the members') draws each member's mask against its own buffer."""

    def __init__(self, rate: float) -> None:
        super().__init__()
        self.rate = float(rate)
        self.stacked = False
        self.register_buffer("p", torch.tensor(float(rate)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rate == 0:
            return x
        if not self.stacked:
            return nn.functional.dropout(x, self.rate, training=True)
        keep = (torch.rand_like(x) >= self.p).to(x.dtype)
        return x * keep / (1 - self.p)


def _activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation '{name}'; available: {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


class MLP(nn.Module):
    """Dense layers of ``width`` units, each ``shrink`` times the one before (32 → 16: 0.5)."""

    def __init__(self, in_shape: tuple[int, ...], outputs: int, *, depth: int, width: int,
                 shrink: float, activation: str, dropout: float, norm: str) -> None:  # fmt: skip
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        size = int(torch.tensor(in_shape).prod())
        for i in range(depth):
            units = max(1, round(width * shrink**i))
            layers.append(nn.Linear(size, units))
            if norm == "batch":
                layers.append(nn.BatchNorm1d(units))
            elif norm == "layer":
                layers.append(nn.LayerNorm(units))
            layers.append(_activation(activation))
            layers.append(Dropout(dropout))
            size = units
        layers.append(nn.Linear(size, outputs))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.layers(x)


class CNN(nn.Module):
    """Blocks of convolution, activation and pooling (channels double per block), then a dense
    layer. 2-D convolution for images; 1-D convolution over time for sequences."""

    def __init__(self, in_shape: tuple[int, ...], outputs: int, *, depth: int, channels: int,
                 kernel_size: int, pooling: str, activation: str, dropout: float,
                 sequence: bool) -> None:  # fmt: skip
        super().__init__()
        self.sequence = sequence
        conv, pool = (nn.Conv1d, nn.MaxPool1d) if sequence else (nn.Conv2d, nn.MaxPool2d)
        if pooling == "avg":
            pool = nn.AvgPool1d if sequence else nn.AvgPool2d
        in_channels = in_shape[-1] if sequence else in_shape[0]
        layers: list[nn.Module] = []
        for i in range(depth):
            out = channels * 2**i
            layers += [conv(in_channels, out, kernel_size, padding=kernel_size // 2),
                       _activation(activation), pool(2)]  # fmt: skip
            in_channels = out
        layers.append(nn.Flatten())
        layers.append(Dropout(dropout))
        self.features = nn.Sequential(*layers)
        with torch.no_grad():
            probe = torch.zeros(1, *in_shape)
            size = self.features(self._channels_first(probe)).shape[1]
        self.head = nn.Linear(size, outputs)

    def _channels_first(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(1, 2) if self.sequence else x

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.features(self._channels_first(x)))


class RNN(nn.Module):
    """A GRU or LSTM over time steps (an image's rows, for images); the last valid step's state,
    from both directions when bidirectional, feeds a dense layer."""

    def __init__(self, in_shape: tuple[int, ...], outputs: int, *, cell: str, hidden: int,
                 layers: int, bidirectional: bool, dropout: float) -> None:  # fmt: skip
        super().__init__()
        kinds = {"gru": nn.GRU, "lstm": nn.LSTM}
        if cell not in kinds:
            raise ValueError(f"unknown cell '{cell}'; available: gru, lstm")
        self.image = len(in_shape) == 3  # C×H×W; a sequence's shape is T×F
        features = in_shape[0] * in_shape[2] if self.image else in_shape[-1]
        self.rnn = kinds[cell](features, hidden, num_layers=layers, batch_first=True,
                               bidirectional=bidirectional, dropout=dropout if layers > 1 else 0.0)  # fmt: skip
        self.head = nn.Linear(hidden * (2 if bidirectional else 1), outputs)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        # cuDNN's RNNs under autocast run in fp16 whatever dtype was asked, with no loss scaling:
        # keep the recurrence in float32.
        with torch.autocast(x.device.type, enabled=False):
            return self._forward(x.float(), lengths)

    def _forward(self, x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
        if self.image:  # N×C×H×W: H steps of C·W features
            x = x.permute(0, 2, 1, 3).flatten(2)
        if lengths is not None and bool((lengths < x.shape[1]).any()):
            packed = nn.utils.rnn.pack_padded_sequence(
                x, lengths.cpu(), batch_first=True, enforce_sorted=False
            )
            _, state = self.rnn(packed)
        else:
            _, state = self.rnn(x)
        h = state[0] if isinstance(state, tuple) else state  # LSTM returns (h, c)
        last = h.view(self.rnn.num_layers, 2 if self.rnn.bidirectional else 1, x.shape[0], -1)[-1]
        return self.head(last.transpose(0, 1).flatten(1))
