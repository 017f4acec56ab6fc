"""Issue 4 end to end: table files through the command, suites, presets."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.test_cli import automl

pytestmark = pytest.mark.slow


def test_kc2_as_csv_and_as_arff_gives_the_same_leaderboard(tmp_path, data_dir) -> None:
    amlb = data_dir / "amlb"
    boards = []
    for suffix in ("csv", "arff"):
        folder = tmp_path / suffix
        folder.mkdir()
        result = automl(
            folder, "-m", "dataset=file", f"dataset.path={amlb / f'kc2_train.{suffix}'}",
            f"dataset.test_path={amlb / f'kc2_test.{suffix}'}", "dataset.target=problems",
            "model=linear,random_forest,lightgbm", "search.n_trials=3",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        board = pd.read_csv(folder / "lb" / "kc2-accuracy.csv")
        boards.append(board[["rank", "pick", "model", "test_score", "val_score", "best_params"]])
    pd.testing.assert_frame_equal(*boards)


def test_a_suite_runs_what_applies_and_skips_the_rest(tmp_path, data_dir) -> None:
    result = automl(tmp_path, "+suite=small", "model=dummy,rnn", "search=quick",
                    f"data_dir={data_dir}")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "5 of 10 jobs skipped (the model does not apply)" in result.stdout
    for board in ("iris-accuracy", "wine-accuracy", "diabetes-rmse", "digits-accuracy"):
        assert pd.read_csv(tmp_path / "lb" / f"{board}.csv")["model"].tolist() == ["dummy"]


def test_a_preset_dataset(tmp_path, data_dir) -> None:
    result = automl(tmp_path, "dataset=cholesterol", "model=linear", "search=quick",
                    f"data_dir={data_dir}")  # fmt: skip
    assert result.returncode == 0, result.stderr
    (row,) = pd.read_csv(tmp_path / "lb" / "cholesterol-rmse.csv").to_dict("records")
    assert 30 < row["test_score"] < 80  # cholesterol in mg/dl; the mean alone gives about 55


def test_an_inapplicable_model_asked_for_directly_is_an_error(tmp_path) -> None:
    result = automl(tmp_path, "dataset=iris", "model=cnn")
    assert result.returncode == 2
    assert (
        "automl: error: model 'cnn' takes image, sequence data; dataset iris is tabular"
        in result.stderr
    )
