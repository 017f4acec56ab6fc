"""The example plugin package (examples/automl-plugin-example), installed with pip as a user would
install any third-party plugin, then used end to end: listed, searched, on a leaderboard."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow
EXAMPLE = ROOT / "examples" / "automl-plugin-example"


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict[str, str]:
    """The environment of a Python that has the example package installed (into its own folder,
    so the test leaves this environment as it found it)."""
    site = tmp_path_factory.mktemp("site")
    source = shutil.copytree(EXAMPLE, tmp_path_factory.mktemp("src") / EXAMPLE.name)  # builds in it
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(site), str(source)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return {**os.environ, "PYTHONPATH": str(site)}


def test_the_plugin_list_shows_the_package_and_what_it_registers(installed) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from automl.commands.plugins import main; main()"],
        env=installed, capture_output=True, text=True, check=True,
    )  # fmt: skip
    (row,) = [line for line in done.stdout.splitlines() if line.startswith("| example ")]
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells == [
        "example", "automl-plugin-example", "0.1.0", "two_moons", "nearest_centroid", "cohen_kappa"
    ]  # fmt: skip
    assert "| classical " in done.stdout  # the built-ins, listed the same way


def test_its_model_dataset_and_metric_reach_a_leaderboard(installed, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "automl.commands.cli", "dataset=two_moons",
         "model=nearest_centroid,knn",
         "metric=cohen_kappa", "search.n_trials=3", "progress=false", "threads=1",
         f"output_dir={tmp_path / 'out'}", f"leaderboard.dir={tmp_path / 'lb'}"],
        cwd=tmp_path, env=installed, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    board = pd.read_csv(tmp_path / "lb" / "two_moons-cohen_kappa.csv")
    assert set(board["model"]) == {"nearest_centroid", "knn"}
    centroid = board[board["model"] == "nearest_centroid"].iloc[0]
    assert centroid["trials"] == 3 and 0.4 < centroid["test_score"] <= 1.0
    assert "automl-plugin-example 0.1.0" in centroid["versions"]
