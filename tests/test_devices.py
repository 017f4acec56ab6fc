"""One GPU per concurrent job, claimed through lock files that other processes see."""

from __future__ import annotations

import subprocess
import sys

import pytest

from automl.fitting import devices


@pytest.fixture(autouse=True)
def _own_lock_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(devices.tempfile, "gettempdir", lambda: str(tmp_path))
    yield
    devices.release()


def test_visible_gpus_follow_cuda_visible_devices(monkeypatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,2,3")
    assert devices.visible_gpus() == 3
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert devices.visible_gpus() == 0


def test_concurrent_studies_each_get_their_own_gpu(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    holder = (  # another job of this machine holds GPU 0 while it runs
        "import sys, time; from automl.fitting import devices; "
        "devices.tempfile.gettempdir = lambda: "
        f"{str(tmp_path)!r}; print(devices.for_study('auto'), flush=True); time.sleep(60)"
    )
    other = subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline().strip() == "cuda:0"
        assert devices.for_study("auto") == "cuda:1"
        assert devices.for_study("auto") == "cuda:1"  # a process keeps the GPU it holds
        assert devices.for_study("cpu") == "cpu" and devices.for_study("cuda:0") == "cuda:0"
    finally:
        other.kill()
        other.wait()
    devices.release()
    assert devices.for_study("auto") == "cuda:0"  # freed when its holder died


def test_with_every_gpu_taken_jobs_share(monkeypatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    others = []  # locks kept, but no longer this process's own: as if other jobs held them
    for expected in (0, 1):
        assert devices.claim(2) == expected
        others.append(devices._HELD.pop(expected))
    assert devices.claim(2) is None and devices.for_study("auto") == "auto"
    for handle in others:
        handle.close()


def test_one_gpu_or_none_changes_nothing(monkeypatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    assert devices.for_study("auto") == "auto"
