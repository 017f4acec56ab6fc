"""Population training: model-epochs per second of K trials trained together as one program,
against the same K trials trained one after another, on MNIST-shaped samples.

Members differ in learning rate and weight decay (log-spaced, as a search would draw them) and
share the seed architectures of ``benchmarks/deep_epoch.py`` (MLP 128-128-10, CNN conv32-pool-
dense10), batch 512, Adam. Each side's second epoch is timed (the first includes start-up work):
the population's from its program, the sequential side's as the sum of its members' second
epochs (of at most ``--sequential-max`` members: one model after another runs at a rate that does
not depend on K), so the ratio compares model-epochs per second either way; the median of
``--repeats`` interleaved runs of each side. Prints a table, and writes
benchmarks/out/population.json.

    python benchmarks/population.py [--samples 60000] [--devices cpu,cuda]
        [--k-cpu 8] [--k-cuda 1,8,64,256] [--networks mlp,cnn] [--cnn-samples-cpu 10000]
"""

from __future__ import annotations

import argparse
import json
import platform
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from automl_torch import TorchClassifier
from automl_torch.population import fit_population

ARCH = {
    "mlp": {"depth": 2, "width": 128},
    "cnn": {"depth": 1, "channels": 32, "kernel_size": 3, "pooling": "max"},
}


def _members(name: str, k: int, device: str) -> list[TorchClassifier]:
    lrs = np.geomspace(3e-4, 3e-3, k) if k > 1 else [1e-3]
    return [
        TorchClassifier(
            name,
            **ARCH[name],
            lr=float(lr),
            weight_decay=1e-5 * (i % 3),
            batch_size=512,
            max_epochs=2,
            validation_fraction=0.0,
            standardize=True,  # the harness default: members share one scaled input
            device=device,
        )  # fmt: skip
        for i, lr in enumerate(lrs)
    ]


def population_epoch(name: str, k: int, X: np.ndarray, y: np.ndarray, device: str) -> float:
    """The program's second epoch, stacked even where the harness would not stack (the CNN on
    the CPU: this is how that choice was measured)."""
    members = _members(name, k, device)
    errors = fit_population(members, X, y, stack=True)
    assert not any(errors), errors
    return members[0].history_[1]["seconds"]  # the program's epoch, every member's at once


def sequential_epochs(name: str, k: int, X: np.ndarray, y: np.ndarray, device: str) -> float:
    """The summed second epochs of the first ``k`` of the population's members, trained alone."""
    seconds = 0.0
    for member in _members(name, k, device):
        member.fit(X, y)
        seconds += member.history_[1]["seconds"]
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=60_000)
    parser.add_argument("--cnn-samples-cpu", type=int, default=10_000,
                        help="the CPU's CNN rows use fewer samples: an epoch of 60,000 takes 25 s")  # fmt: skip
    parser.add_argument("--devices", default="cpu,cuda")
    parser.add_argument("--networks", default="mlp,cnn")
    parser.add_argument("--k-cpu", default="8")
    parser.add_argument("--k-cuda", default="1,8,64,256")
    parser.add_argument("--sequential-max", type=int, default=8,
                        help="members trained alone for the sequential rate, which does not "
                             "depend on K (one model's epoch after another)")  # fmt: skip
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/out/population.json")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    X_all = rng.random((args.samples, 1, 28, 28), dtype=np.float32)
    y_all = rng.integers(0, 10, args.samples)
    rows = []
    header = (f"{'device':6s} {'network':7s} {'samples':>7s} {'K':>4s} {'population':>12s} "
              f"{'sequential':>12s} {'pop. m-ep/s':>12s} {'seq. m-ep/s':>12s} {'ratio':>6s}")  # fmt: skip
    print(header)
    for device in args.devices.split(","):
        if device == "cuda" and not torch.cuda.is_available():
            print("cuda: no GPU here, skipped")
            continue
        ks = [int(k) for k in (args.k_cuda if device == "cuda" else args.k_cpu).split(",")]
        for name in args.networks.split(","):
            n = args.cnn_samples_cpu if (device == "cpu" and name == "cnn") else args.samples
            X, y = X_all[:n], y_all[:n]
            for k in ks:
                alone = min(k, args.sequential_max)
                runs = [  # interleaved, so that both sides see the same machine; medians
                    (population_epoch(name, k, X, y, device) if k > 1 else None,
                     sequential_epochs(name, alone, X, y, device))
                    for _ in range(args.repeats)
                ]  # fmt: skip
                together = None if k == 1 else float(np.median([r[0] for r in runs]))
                apart = float(np.median([r[1] for r in runs]))
                pop_rate = None if together is None else k / together
                seq_rate = alone / apart
                ratio = None if pop_rate is None else pop_rate / seq_rate
                rows.append({"device": device, "network": name, "samples": n, "k": k,
                             "population_s": together, "sequential_s": apart,
                             "sequential_members": alone,
                             "population_model_epochs_per_s": pop_rate,
                             "sequential_model_epochs_per_s": seq_rate, "ratio": ratio})  # fmt: skip
                shown = "-" if together is None else f"{together:10.3f} s"
                print(f"{device:6s} {name:7s} {n:7d} {k:4d} {shown:>12s} {apart / alone * k:10.3f} s "
                      f"{'-' if pop_rate is None else f'{pop_rate:12.1f}':>12s} {seq_rate:12.1f} "
                      f"{'-' if ratio is None else f'{ratio:5.2f}x':>6s}", flush=True)  # fmt: skip
    record = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.processor() or platform.machine()}",
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "rows": rows,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
