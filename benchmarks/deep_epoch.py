"""One training epoch over 60,000 MNIST-shaped samples: the harness's loop against a plain loop.

The plain loop is what most PyTorch code does: a DataLoader over a TensorDataset at batch size 32
(the Keras default of the seed code), each batch copied to the device. The harness's loop
(``automl_torch.TorchClassifier``) keeps the data on the device and shuffles by index; it runs at
batch size 512 (the comparison the targets are about) and at 32 (the loop alone, same batches). Both train the seed architectures (MLP 128-128-10, CNN conv32-pool-dense10) with Adam.
Each side's second epoch is timed (the first includes start-up work). On CUDA the harness's loop
replays each step from a CUDA graph (automl_torch.steps); its eager loop is timed beside it. Prints a table and ratios,
on the CPU and on CUDA when there is a GPU, and writes benchmarks/out/deep_epoch.json.

    python benchmarks/deep_epoch.py [--samples 60000] [--devices cpu,cuda]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from automl_torch import TorchClassifier
from automl_torch.networks import CNN, MLP
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

ARCH = {
    "mlp": {"depth": 2, "width": 128},
    "cnn": {"depth": 1, "channels": 32, "kernel_size": 3, "pooling": "max"},
}


def _network(name: str) -> nn.Module:
    if name == "mlp":
        return MLP((1, 28, 28), 10, shrink=1.0, activation="relu", dropout=0.0, norm="none",
                   **ARCH["mlp"])  # fmt: skip
    return CNN((1, 28, 28), 10, activation="relu", dropout=0.0, sequence=False, **ARCH["cnn"])


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def plain_epoch(name: str, X: np.ndarray, y: np.ndarray, device: torch.device) -> float:
    """The second epoch of a DataLoader loop at batch 32."""
    torch.manual_seed(0)
    model = _network(name).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    loader = DataLoader(TensorDataset(torch.from_numpy(X), torch.from_numpy(y)), batch_size=32,
                        shuffle=True)  # fmt: skip
    seconds = 0.0
    for _ in range(2):
        _sync(device)
        start = time.perf_counter()
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            optimizer.zero_grad()
            loss_fn(model(xb), yb).backward()
            optimizer.step()
        _sync(device)
        seconds = time.perf_counter() - start
    return seconds


def harness_epoch(
    name: str,
    X: np.ndarray,
    y: np.ndarray,
    device: torch.device,
    batch_size: int = 512,
    graphs: bool = True,
) -> float:
    """The second epoch of the harness's own loop (on CUDA: its steps replayed from a CUDA graph,
    or with ``graphs=False`` eager)."""
    clf = TorchClassifier(name, **ARCH[name], batch_size=batch_size, max_epochs=2,
                          validation_fraction=0.0, standardize=False, device=str(device),
                          cuda_graphs=graphs)  # fmt: skip
    clf.fit(X, y)
    return clf.history_[1]["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=60_000)
    parser.add_argument("--devices", default="cpu,cuda")
    parser.add_argument("--out", default="benchmarks/out/deep_epoch.json")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    X = rng.random((args.samples, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, args.samples)
    rows = []
    for device_name in args.devices.split(","):
        if device_name == "cuda" and not torch.cuda.is_available():
            print("cuda: no GPU here, skipped")
            continue
        device = torch.device(device_name)
        for name in ("mlp", "cnn"):
            plain = plain_epoch(name, X, y, device)
            same = harness_epoch(name, X, y, device, batch_size=32)  # the loop alone
            ours = harness_epoch(name, X, y, device)
            # CUDA graphs apply on a GPU only: there the eager loop is the comparison.
            eager = (
                harness_epoch(name, X, y, device, graphs=False) if device.type == "cuda" else None
            )
            rows.append({"device": device_name, "network": name, "plain_s": plain,
                         "harness_32_s": same, "harness_s": ours, "harness_eager_s": eager,
                         "speedup": plain / ours})  # fmt: skip
            graphs = "" if eager is None else f"   eager (batch 512) {eager:8.3f} s"
            print(f"{device_name:5s} {name}: plain loop (batch 32) {plain:8.3f} s   "
                  f"harness (batch 32) {same:8.3f} s   harness (batch 512) {ours:8.3f} s{graphs}   "
                  f"speedup {plain / ours:6.1f}x", flush=True)  # fmt: skip
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    record = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.processor() or platform.machine()}",
        "gpu": gpu,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "samples": args.samples,
        "rows": rows,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
