from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits, load_iris
from sklearn.model_selection import train_test_split

from automl import Data, Task
from automl.fitting.data import prepare
from automl.plugin.errors import UserError
from automl.plugin.task import infer_task
from automl.settings.split import SplitConfig


def test_task_inference() -> None:
    assert infer_task(np.array(["a", "b", "a"])) is Task.BINARY
    assert infer_task(np.array([0, 1, 2, 1])) is Task.MULTICLASS
    assert infer_task(np.array([0.5, 1.25, 3.0])) is Task.REGRESSION
    assert infer_task(np.arange(100)) is Task.REGRESSION  # many distinct integers: a quantity


def test_test_split_matches_train_test_split_exactly() -> None:
    X, y = load_digits(return_X_y=True)
    prepared = prepare(Data(X, y), "digits", SplitConfig(test_size=0.2, stratify=False, seed=42))
    _, X_test, _, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
    np.testing.assert_array_equal(prepared.X_test, X_test)
    np.testing.assert_array_equal(prepared.classes[prepared.y_test], y_test)


def test_classification_splits_are_stratified() -> None:
    X, y = load_iris(return_X_y=True)
    prepared = prepare(Data(X, y), "iris", SplitConfig(test_size=0.2, seed=0))
    assert np.bincount(prepared.y_test).tolist() == [10, 10, 10]
    (fold,) = prepared.folds
    assert len(fold.y_train) + len(fold.y_valid) == len(prepared.y_dev) == 120


def test_cross_validation_folds_cover_the_development_rows() -> None:
    X, y = load_iris(return_X_y=True)
    prepared = prepare(Data(X, y), "iris", SplitConfig(validation="cv", folds=4))
    assert len(prepared.folds) == 4
    assert sum(len(f.y_valid) for f in prepared.folds) == len(prepared.y_dev)


def test_repeated_k_fold_cuts_the_folds_again_and_averages_each_rows_predictions() -> None:
    X, y = load_iris(return_X_y=True)
    once = prepare(Data(X, y), "iris", SplitConfig(validation="cv", folds=4))
    twice = prepare(Data(X, y), "iris", SplitConfig(validation="cv", folds=4, repeats=3))
    assert len(twice.folds) == 12 and twice.repeats == 3 and twice.first == twice.folds[:4]
    for a, b in zip(once.folds, twice.first, strict=True):  # the first repeat: plain k-fold's
        np.testing.assert_array_equal(a.rows, b.rows)
    rows = len(twice.y_dev)
    for repeat in range(3):  # each repeat validates every row once, each with another shuffle
        cut = twice.folds[4 * repeat : 4 * repeat + 4]
        assert sorted(np.concatenate([f.rows for f in cut])) == list(range(rows))
    assert not np.array_equal(twice.folds[0].rows, twice.folds[4].rows)
    # A prediction per fold row equal to the row's position, plus its repeat: the mean over
    # repeats is the position + 1, in the first repeat's order, beside its labels.
    stacked = np.concatenate([f.rows + i // 4 for i, f in enumerate(twice.folds)]).astype(
        np.float32
    )
    order = np.concatenate([f.rows for f in twice.first])
    np.testing.assert_array_equal(twice.per_row(stacked), (order + 1).astype(np.float32))
    np.testing.assert_array_equal(
        np.concatenate([f.y_valid for f in twice.first]), twice.y_dev[order]
    )
    assert "repeated 3 times" in twice.validation
    assert once.per_row(stacked[:rows]) is not None


def test_a_repeat_count_of_one_leaves_a_study_its_name() -> None:
    from automl.settings.experiment import Experiment

    base = Experiment(dataset="iris", model="svm", storage="x", split=SplitConfig(validation="cv"))
    assert "repeats" not in base.identity()["split"]
    again = Experiment(dataset="iris", model="svm", storage="x",
                       split=SplitConfig(validation="cv", repeats=2))  # fmt: skip
    assert again.identity()["split"]["repeats"] == 2


def test_a_dataset_test_split_is_used_as_given() -> None:
    X, y = load_iris(return_X_y=True)
    rows = np.random.default_rng(0).permutation(np.flatnonzero(y < 2))  # two species
    dev, test = rows[:70], rows[70:]
    data = Data(X[dev], y[dev].astype(str), X_test=X[test], y_test=y[test].astype(str))
    prepared = prepare(data, "iris", SplitConfig(test_size=0.5))
    assert len(prepared.y_test) == 30 and len(prepared.y_dev) == 70
    assert prepared.task is Task.BINARY


def test_labels_are_encoded_and_remembered() -> None:
    y = np.array(["no", "yes"] * 20)
    prepared = prepare(Data(np.zeros((40, 1)), y), "x", SplitConfig())
    assert prepared.classes.tolist() == ["no", "yes"]
    assert set(prepared.y_dev) == {0, 1}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (Data(np.zeros((4, 1)), np.zeros(4)), "at least 2 classes"),
        (Data(np.zeros((4, 1)), np.zeros(3)), "4 feature rows but 3 target values"),
        (
            Data(
                np.zeros((4, 1)),
                np.array([0, 1, 0, 1]),
                X_test=np.zeros((2, 1)),
                y_test=np.array([0, 2]),
            ),
            "test labels never seen in training: \\[2\\]",
        ),
    ],
)
def test_bad_targets_are_user_errors(data, message) -> None:
    with pytest.raises(UserError, match=message):
        prepare(data, "x", SplitConfig(stratify=False, test_size=0.5))


def test_split_fractions_are_checked() -> None:
    X, y = load_iris(return_X_y=True)
    with pytest.raises(UserError, match="split.test_size must be a fraction"):
        prepare(Data(X, y), "iris", SplitConfig(test_size=1.5))


def test_a_class_too_small_to_stratify_is_a_user_error() -> None:
    y = np.array([0] * 10 + [1] * 10 + [2])
    with pytest.raises(UserError, match="class 2 has 1 row\\(s\\), too few to stratify"):
        prepare(Data(np.zeros((21, 1)), y), "x", SplitConfig())


def test_validation_auto_cross_validates_small_data_and_holds_out_large() -> None:
    from automl.settings.split import SplitConfig

    auto = SplitConfig(validation="auto", seconds=60.0)
    # 60 s of budget: k-fold up to 10 million cells per hour × 60/3600, rows × features / 0.9.
    assert auto.chosen(1_700, 20).validation == "cv"  # 37,778 cells
    assert auto.chosen(32_561, 14).validation == "holdout"  # Adult: 506,504 cells
    assert SplitConfig(validation="auto", seconds=3600.0).chosen(32_561, 14).validation == "cv"
    assert SplitConfig(validation="auto").chosen(150_000, 2).validation == "holdout"  # rows
    assert SplitConfig(validation="holdout").chosen(10, 2).validation == "holdout"
    assert auto.chosen(100, 4).describe(auto=True) == "5-fold cross-validation (validation=auto)"
