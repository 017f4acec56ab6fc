"""Preprocessing per learner family: fitted on training rows only, part of the final model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from automl.fitting.data import prepare
from automl.fitting.preprocess import FAMILIES, NativeCategories, encode_folds, preprocessor
from automl.plugin.errors import UserError
from automl.plugin.types import PREPROCESSING, Data, Model, Preprocessing
from automl.search.study import run
from automl.settings.experiment import Experiment
from automl.settings.split import SplitConfig


def _table(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    colour = rng.choice(["red", "green", "blue"], n)
    size = rng.normal(size=n)
    size[rng.random(n) < 0.1] = np.nan  # missing numbers
    target = np.where((colour == "red") | (np.nan_to_num(size) > 1), "yes", "no")
    return pd.DataFrame({"colour": colour, "size": size, "target": target})


def test_statistics_come_from_training_rows_only() -> None:
    train = pd.DataFrame({"x": [1.0, 2.0, np.nan], "c": ["a", "a", None]})
    test = pd.DataFrame({"x": [np.nan, 100.0], "c": [None, "zzz"]})
    step = preprocessor("onehot").fit(train)
    out = step.transform(test)
    assert out[0, 0] == 1.5  # the training median, not the test rows'
    assert out[1].tolist() == [100.0, 0.0]  # a category never seen in training: all zeros
    ordinal = preprocessor("ordinal").fit(train).transform(test)
    assert ordinal[1, 1] == -1


def test_native_categories_keep_training_categories_and_missing_values() -> None:
    step = NativeCategories().fit(pd.DataFrame({"c": ["a", "b", None], "x": [1, 2, 3]}))
    out = step.transform(pd.DataFrame({"c": ["b", "new", None], "x": [4, 5, 6]}))
    assert list(out["c"].cat.categories) == ["a", "b"]
    assert out["c"].isna().tolist() == [False, True, True]
    assert out["x"].tolist() == [4, 5, 6]


def test_each_fold_is_encoded_once_and_shared() -> None:
    frame = _table()
    data = Data(X=frame.drop(columns="target"), y=frame["target"].to_numpy())
    prepared = prepare(data, "t", SplitConfig(validation="cv", folds=3))
    first = encode_folds(prepared, "onehot")
    again = encode_folds(prepared, "onehot")
    assert first.folds[0].X_train is again.folds[0].X_train  # cached, not recomputed
    assert first.folds[0].X_train.shape[1] == 1 + 3  # size + three colours
    assert not np.isnan(first.folds[0].X_train).any()


@pytest.mark.parametrize("model", ["linear", "random_forest", "lightgbm", "mlp"])
def test_the_final_model_predicts_on_raw_rows(tmp_path, model) -> None:
    train, test = _table(300, 0), _table(100, 1)
    train.to_csv(tmp_path / "t_train.csv", index=False)
    test.to_csv(tmp_path / "t_test.csv", index=False)
    summary = run(
        Experiment(
            dataset="file",
            dataset_options={"path": str(tmp_path / "t_train.csv"),
                             "test_path": str(tmp_path / "t_test.csv")},
            model=model, storage=str(tmp_path / "s.journal"), n_trials=2, progress=False,
            threads=1, params={"max_epochs": 5} if model == "mlp" else {},
        )
    )  # fmt: skip
    assert summary.dataset == "t" and summary.test_score is not None and summary.test_score > 0.7


def test_the_families_the_core_makes_are_the_names_a_model_may_give() -> None:
    assert set(FAMILIES) == set(PREPROCESSING)


def test_a_learner_brings_its_own_preprocessing_under_a_name_of_its_own() -> None:
    from sklearn.preprocessing import StandardScaler

    def build(params, context):  # never called here
        raise AssertionError

    own = Preprocessing("scaled", StandardScaler)
    assert Model("m", build, preprocessing=own).preprocessing is own
    assert isinstance(preprocessor(own), StandardScaler)
    with pytest.raises(UserError, match="named 'onehot', the name of one the harness makes"):
        Model("m", build, preprocessing=Preprocessing("onehot", StandardScaler))
    with pytest.raises(UserError, match="accepted: onehot, ordinal, native, or its own"):
        Model("m", build, preprocessing="scaled")
