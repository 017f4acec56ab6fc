"""One GPU per concurrent job: with several GPUs, each study that asks for ``device=auto`` claims a
free one for as long as it runs.

The claim is an exclusive ``flock`` on one lock file per GPU, so it holds across every way jobs run
side by side on one machine (Hydra's joblib launcher, submitit's local executor, several shells)
and the kernel releases it when the process ends, however it ends. GPUs are counted without
importing torch (1 to 4 s), from ``CUDA_VISIBLE_DEVICES`` or the NVIDIA driver's list.
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import tempfile
from pathlib import Path
from typing import IO

from automl.plugin.errors import UserError

DRIVER_LIST = Path("/proc/driver/nvidia/gpus")
_HELD: dict[int, IO[str]] = {}  # GPU index -> its open, locked file, kept while the process runs


def visible_gpus() -> int:
    """How many GPUs this process may use."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return len([d for d in visible.split(",") if d.strip() and d.strip() != "-1"])
    try:
        return len(list(DRIVER_LIST.iterdir()))
    except OSError:
        return 0


def _folder() -> Path:
    folder = Path(tempfile.gettempdir()) / f"automl-gpus-{os.getuid()}"
    folder.mkdir(exist_ok=True)
    return folder


def claim(count: int) -> int | None:
    """The index of a GPU no other process of this machine has claimed, now held by this one; the
    one already held if any; None when all are taken."""
    if _HELD:
        return next(iter(_HELD))
    for index in range(count):
        handle = open(_folder() / f"gpu-{index}.lock", "w")  # noqa: SIM115 - held open on purpose
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        _HELD[index] = handle
        return index
    return None


def release() -> None:
    """Give back the GPU this process holds."""
    for handle in _HELD.values():
        handle.close()
    _HELD.clear()


def check(requested: str) -> None:
    """Refuse a device that is not a known name, or a GPU this machine does not have."""
    accepted = "auto, cpu, cuda or cuda:N"
    kind, colon, index = requested.partition(":")
    if kind not in ("auto", "cpu", "cuda") or (colon and (kind != "cuda" or not index.isdigit())):
        raise UserError(f"unknown device '{requested}'; available: {accepted}")
    if kind != "cuda":
        return
    count = visible_gpus()
    if count and importlib.util.find_spec("torch") is not None:
        import torch  # only for an explicit cuda: its import costs seconds

        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count == 0:
        raise UserError(
            f"device={requested}, but this machine has no GPU that torch can use; "
            "accepted here: auto, cpu"
        )
    if index and int(index) >= count:
        raise UserError(
            f"device={requested}, but this machine has {count} GPU(s); "
            f"accepted here: auto, cpu, cuda, cuda:0 to cuda:{count - 1}"
        )


def for_study(requested: str) -> str:
    """The device a study runs on: ``auto`` with several GPUs becomes ``cuda:K`` for a free K (with
    none free, jobs share as torch's default would); anything else is kept."""
    count = visible_gpus() if requested == "auto" else 0
    if count < 2:
        return requested
    index = claim(count)
    return requested if index is None else f"cuda:{index}"
