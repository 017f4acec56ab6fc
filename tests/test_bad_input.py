"""The bad-input suite: each bad file (tests/bad_inputs/) and each bad setting gets one clear line
saying what was wrong and what is accepted, a non-zero exit and no traceback, through ``automl``
exactly as a user runs it. Data files go through one sweep: a bad job loses nothing else."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow
FILES = ROOT / "tests" / "bad_inputs"

FILE_ERRORS = {
    "malformed.csv": "cannot read CSV file",
    "empty.csv": "cannot read CSV file",
    "bad.arff": "cannot read ARFF file",
    "single_class.csv": "at least 2 classes",
    "no_target.csv": "target column 'target' is not in no_target.csv; its columns: a, label",
}


def _automl(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    flags = [a for a in args if a.startswith("-")]  # Hydra wants -m before the overrides
    args = tuple(a for a in args if not a.startswith("-"))
    command = [
        sys.executable, "-m", "automl.cli", *flags, f"output_dir={tmp / 'results'}",
        f"leaderboard.dir={tmp / 'lb'}", "progress=false", "threads=1", *args,
    ]  # fmt: skip
    return subprocess.run(command, cwd=FILES, capture_output=True, text=True, timeout=600)


def _clean(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_every_bad_file_is_one_clear_error_and_the_sweep_goes_on(tmp_path) -> None:
    paths = ",".join([*FILE_ERRORS, "labels_train.csv"])
    result = _automl(tmp_path, "-m", "dataset=csv", f"dataset.path={paths}", "model=dummy")
    _clean(result)
    for name, message in FILE_ERRORS.items():
        assert message in result.stderr, name
    assert f"automl: {len(FILE_ERRORS)} of {len(FILE_ERRORS) + 1} jobs failed" in result.stderr
    assert (tmp_path / "lb" / "labels-accuracy.csv").is_file()  # the good file's job still ran


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["dataset.path=labels_train.csv", "dataset.test_path=labels_test.csv"],
            "test labels never seen in training",
        ),
        (["dataset.path=nowhere.csv"], "dataset.path: no such file 'nowhere.csv'"),
        (
            ["dataset.path=labels_train.csv", "trial.isolation=threads"],
            "unknown trial.isolation 'threads'; available: subprocess, inprocess",
        ),
        (
            ["dataset.path=labels_train.csv", "metric=rmse"],
            "metric 'rmse' does not apply to binary tasks",
        ),
        (
            ["dataset.path=labels_train.csv", "storage=nosuch://x"],
            "cannot open storage nosuch://x",
        ),
    ],
)
def test_each_bad_setting_is_one_clear_error(tmp_path, args, message) -> None:
    result = _automl(tmp_path, "dataset=csv", "model=dummy", *args)
    _clean(result)
    assert "automl: error: " in result.stderr and message in result.stderr
