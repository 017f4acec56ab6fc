"""Table files (CSV, Parquet, ARFF), the UCI and OpenML loaders, and each bad input of issue 4."""

from __future__ import annotations

import logging
import shutil

import numpy as np
import pandas as pd
import pytest
from automl_datasets.files import load_file
from automl_datasets.openml_data import load_openml
from automl_datasets.uci import load_adult, load_kddcup99

from automl.fitting.data import prepare
from automl.plugin.errors import UserError
from automl.plugin.task import Task
from automl.settings.split import SplitConfig


@pytest.mark.parametrize("suffix", ["csv", "arff"])
def test_kc2_reads_alike_from_csv_and_arff(data_dir, suffix) -> None:
    amlb = data_dir / "amlb"
    data = load_file(str(amlb / f"kc2_train.{suffix}"), target="problems",
                     test_path=str(amlb / f"kc2_test.{suffix}"))  # fmt: skip
    assert data.name == "kc2" and data.X.shape == (469, 21) and data.X_test.shape == (53, 21)
    assert sorted(set(data.y)) == ["no", "yes"]
    csv = load_file(str(amlb / "kc2_train.csv"), target="problems")
    np.testing.assert_allclose(data.X.to_numpy(float), csv.X.to_numpy(float))


def test_parquet_and_column_types(tmp_path) -> None:
    frame = pd.DataFrame({"zip": [1001, 1002, 1001, 1003] * 5, "x": np.arange(20.0),
                          "target": [0, 1] * 10})  # fmt: skip
    frame.to_parquet(tmp_path / "t.parquet")
    data = load_file(str(tmp_path / "t.parquet"), categorical=["zip"])
    assert data.X["zip"].dtype == object and data.X["x"].dtype == float
    with pytest.raises(UserError, match="no column 'nope'"):
        load_file(str(tmp_path / "t.parquet"), numeric=["nope"])


def test_adult_with_its_official_test_split(data_dir) -> None:
    data = load_adult(root=str(data_dir / "adult"))
    assert data.X.shape == (32561, 14) and data.X_test.shape == (16281, 14)
    assert set(data.y) == set(data.y_test) == {"<=50K", ">50K"}  # the test labels' "." is gone
    assert data.X["workclass"].isna().sum() == 1836  # "?" is missing
    assert data.X["age"].dtype.kind == "i" and data.X["workclass"].dtype == object


def test_kddcup99_with_its_labelled_test_set(data_dir, caplog) -> None:
    with caplog.at_level(logging.WARNING):
        data = load_kddcup99(root=str(data_dir / "kddcup99"))
    assert data.X.shape == (494021, 41) and len(set(data.y)) == 23
    assert set(data.y_test) <= set(data.y) and len(data.y_test) == 311029 - 18729
    assert "dropped 18729 test rows of 17 attack types" in caplog.text
    with pytest.raises(UserError, match="labels never seen in training"):
        load_kddcup99(root=str(data_dir / "kddcup99"), unseen="error")


def test_openml_dataset_from_a_cache(tmp_path, data_dir) -> None:
    cache = tmp_path / "openml"
    shutil.copytree(data_dir / "openml", cache)  # openml writes beside the cached files
    data = load_openml(dataset_id=2, cache=str(cache), server="https://test.openml.org/api/v1/xml")
    assert data.name == "anneal" and data.X.shape == (898, 38)
    prepared = prepare(data, "openml", SplitConfig())
    assert prepared.task is Task.MULTICLASS


def test_openml_needs_one_id() -> None:
    with pytest.raises(UserError, match="give one of dataset.dataset_id=N or dataset.task_id=N"):
        load_openml()


def _write(tmp_path, text: str, name: str = "bad.csv") -> str:
    (tmp_path / name).write_text(text)
    return str(tmp_path / name)


@pytest.mark.parametrize(
    ("text", "name", "message"),
    [
        ('a,target\n1,"x\n', "bad.csv", "cannot read CSV file"),  # malformed CSV
        ("", "empty.csv", "cannot read CSV file"),  # empty file
        ("@RELATION r\n@ATTRIBUTE a REAL\n@DATA\n1,2,3\n", "bad.arff", "cannot read ARFF file"),
        ("a,b\n1,2\n", "nocol.csv", "target column 'target' is not in nocol.csv"),
    ],
)
def test_unreadable_files_are_user_errors(tmp_path, text, name, message) -> None:
    with pytest.raises(UserError, match=message):
        load_file(_write(tmp_path, text, name))


def test_a_single_class_target_is_a_user_error(tmp_path) -> None:
    data = load_file(_write(tmp_path, "a,target\n1,x\n2,x\n3,x\n4,x\n"))
    with pytest.raises(UserError, match="at least 2 classes"):
        prepare(data, "x", SplitConfig(stratify=False))


def test_a_mixed_column_is_read_as_categories_and_logged(tmp_path, caplog) -> None:
    rows = "\n".join(f"{v},{i % 2}" for i, v in enumerate(["1", "2", "red", "blue"] * 5))
    with caplog.at_level(logging.WARNING):
        data = load_file(_write(tmp_path, "a,target\n" + rows + "\n"))
    assert data.X["a"].dtype == object and "mixes numbers and text" in caplog.text


def test_a_nearly_numeric_column_is_read_as_numbers(tmp_path, caplog) -> None:
    values = [str(v) for v in range(40)] + ["unknown"]
    rows = "\n".join(f"{v},{i % 2}" for i, v in enumerate(values))
    with caplog.at_level(logging.WARNING):
        data = load_file(_write(tmp_path, "a,target\n" + rows + "\n"))
    assert data.X["a"].dtype == float and data.X["a"].isna().sum() == 1
    assert "1 values that are not numbers read as missing" in caplog.text


def test_missing_and_infinite_targets_are_dropped_and_logged(tmp_path, caplog) -> None:
    text = "a,target\n1,1.5\n2,\n3,inf\n4,2.5\n5,3.5\n"
    with caplog.at_level(logging.WARNING):
        data = load_file(_write(tmp_path, text), task="regression")
    assert data.y.tolist() == [1.5, 2.5, 3.5]
    assert "dropped 2 rows whose target is missing or infinite" in caplog.text


def test_test_labels_never_seen_in_training_are_a_user_error(tmp_path) -> None:
    train = _write(
        tmp_path,
        "a,target\n" + "\n".join(f"{i},{'xy'[i % 2]}" for i in range(10)) + "\n",
        "t_train.csv",
    )
    test = _write(tmp_path, "a,target\n1,x\n2,z\n", "t_test.csv")
    data = load_file(train, test_path=test)
    with pytest.raises(UserError, match=r"test labels never seen in training: \['z'\]"):
        prepare(data, "t", SplitConfig())


def test_task_classification_means_binary_or_multiclass_from_the_labels(tmp_path) -> None:
    # 30 distinct integer labels would be inferred as regression; the user's word says otherwise.
    many = "a,target\n" + "\n".join(f"{i},{i % 30}" for i in range(300)) + "\n"
    assert load_file(_write(tmp_path, many)).task is None  # inferred later: regression
    data = load_file(_write(tmp_path, many), task="classification")
    assert data.task is Task.MULTICLASS
    assert prepare(data, "t", SplitConfig()).task is Task.MULTICLASS
    two = "a,target\n" + "\n".join(f"{i},{i % 2}" for i in range(20)) + "\n"
    assert load_file(_write(tmp_path, two, "two.csv"), task="classification").task is Task.BINARY
    with pytest.raises(UserError, match="available: auto, classification, binary"):
        load_file(_write(tmp_path, two, "two.csv"), task="classify")
