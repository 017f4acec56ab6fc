"""The deep learners' seed systems through the ``automl`` command, on the real data in tests/data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes

from tests.test_cli import automl

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("experiment", "model", "floor"),
    [("seed_mlp_mnist", "mlp", 0.91), ("seed_cnn_mnist", "cnn", 0.94)],
)
def test_mnist_seeds_reach_their_accuracy(tmp_path, data_dir, experiment, model, floor) -> None:
    result = automl(tmp_path, f"+experiment={experiment}", f"dataset.root={data_dir / 'mnist'}")
    assert result.returncode == 0, result.stderr
    (row,) = pd.read_csv(tmp_path / "lb" / "mnist_5k-accuracy.csv").to_dict("records")
    assert row["model"] == model and row["trials"] == 1
    assert row["test_score"] >= floor  # trained on the 5k subset, tested on the official 10k


def test_rnn_seed_on_a_ucr_problem(tmp_path, data_dir) -> None:
    result = automl(tmp_path, "+experiment=seed_rnn_ucr", f"dataset.root={data_dir / 'ucr'}")
    assert result.returncode == 0, result.stderr
    (row,) = pd.read_csv(tmp_path / "lb" / "JapaneseVowels-accuracy.csv").to_dict("records")
    assert row["model"] == "rnn" and row["test_score"] > 0.9


def test_regression_mlp_seed_on_a_price_column(tmp_path) -> None:
    X, y = load_diabetes(return_X_y=True)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])]).assign(price=y * 1000)
    frame.to_csv(tmp_path / "houses.csv", index=False)
    result = automl(
        tmp_path, "+experiment=seed_mlp_price", f"dataset.path={tmp_path / 'houses.csv'}"
    )
    assert result.returncode == 0, result.stderr
    (row,) = pd.read_csv(tmp_path / "lb" / "houses-rmse.csv").to_dict("records")
    assert row["model"] == "mlp" and row["test_score"] < np.std(y) * 1000  # beats the mean


def test_deep_and_classical_learners_share_a_leaderboard(tmp_path) -> None:
    result = automl(tmp_path, "-m", "dataset=digits_images", "model=knn,mlp,cnn",
                    "search.n_trials=2", "device=cpu")  # fmt: skip
    assert result.returncode == 0, result.stderr
    board = pd.read_csv(tmp_path / "lb" / "digits_images-accuracy.csv")
    assert sorted(board["model"]) == ["cnn", "knn", "mlp"]  # knn saw the images flattened
    assert (board["test_score"] > 0.5).all()
