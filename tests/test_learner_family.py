"""A learner family lives wholly in its plugin: a throwaway one, made here, with a library the core
has never heard of (a distribution ``automl-histboost`` wrapping scikit-learn's
HistGradientBoostingClassifier) and its own preprocessing family, runs through a budget comparison
and gets everything a built-in learner gets: its leaderboard row, its library in that row's
provenance, its preprocessing in its trials and in its saved model, and a saved model that reloads
in a fresh process and names its library among those checked on load. Nothing of the core changes:
the family is a plugin loaded from ``AUTOML_PLUGINS``. Without its library, naming the learner is
one line saying how to install it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState
from sklearn.datasets import make_classification

from automl.storage.records import STOPPED_BY_BUDGET
from automl.storage.urls import open_storage

pytestmark = pytest.mark.slow

# The library: a learner that takes only what its own preprocessing makes, and that preprocessing
# (non-numeric columns as integer codes, missing values kept for the learner's native handling).
LIBRARY = """
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.ensemble import HistGradientBoostingClassifier

SUFFIX = "__code"


class Codes(TransformerMixin, BaseEstimator):
    def fit(self, X, y=None):
        self.categories_ = {c: sorted(X[c].dropna().unique()) for c in X.columns
                            if not pd.api.types.is_numeric_dtype(X[c])}
        return self

    def transform(self, X):
        out = {}
        for c in X.columns:
            if c in self.categories_:
                index = {v: i for i, v in enumerate(self.categories_[c])}
                out[c + SUFFIX] = X[c].map(index).astype(float)
            else:
                out[c + SUFFIX] = X[c].astype(float)
        return pd.DataFrame(out, index=X.index)


class HistBoost(HistGradientBoostingClassifier):
    def fit(self, X, y, **kw):
        if not all(str(c).endswith(SUFFIX) for c in X.columns):
            raise ValueError(f"not encoded by Codes: {list(X.columns)}")
        return super().fit(X, y, **kw)
"""

PLUGIN = """
from automl import CLASSIFICATION, Float, Model, Preprocessing, hookimpl


def build(params, context):
    from histboost_lib import HistBoost

    return HistBoost(**params, random_state=context.seed)


def codes():
    from histboost_lib import Codes

    return Codes()


@hookimpl
def register_models(register):
    register(Model(
        "histboost", build, space={"learning_rate": Float(0.03, 0.3, log=True)},
        defaults={"max_iter": 50}, tasks=CLASSIFICATION, libraries=("automl-histboost",),
        preprocessing=Preprocessing("histboost-codes", codes), portfolio=({"learning_rate": 0.1},),
    ))
"""

# A fresh process: the saved model, the test file, the library importable; nothing else.
RELOAD = """
import json, sys, automl, pandas as pd
from automl.fitting import model_file
model = automl.load(sys.argv[1])
test = pd.read_csv(sys.argv[2])
y = test.pop("label")
first = model.estimators[0]
while hasattr(first, "estimators"):  # a bag: its fold models, each a model of its own
    first = first.estimators[0]
print(json.dumps({
    "accuracy": float((model.predict(test) == y).mean()),
    "steps": [type(s).__module__ + "." + type(s).__name__ for _, s in first.steps],
    "checked": model_file.header(sys.argv[1])["checked"],
}))
"""


def _installed(site: Path, library: bool = True) -> dict[str, str]:
    """An environment with the plugin on the path and, with ``library``, the library installed
    (its package and its distribution's metadata, as pip would leave them)."""
    (site / "histboost_plugin.py").write_text(textwrap.dedent(PLUGIN))
    if library:
        (site / "histboost_lib").mkdir()
        (site / "histboost_lib" / "__init__.py").write_text(textwrap.dedent(LIBRARY))
        info = site / "automl_histboost-0.0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            "Metadata-Version: 2.1\nName: automl-histboost\nVersion: 0.0.1\n"
        )
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path, "AUTOML_PLUGINS": "histboost_plugin"}


def _tables(tmp: Path) -> tuple[Path, Path]:
    X, y = make_classification(n_samples=500, n_features=4, n_informative=3, n_redundant=0,
                               random_state=1)  # fmt: skip
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(4)])
    frame["colour"] = np.where(X[:, 0] > 0, "red", np.where(X[:, 1] > 0, "green", "blue"))
    frame.loc[::11, "colour"] = None  # missing: kept missing by its own preprocessing
    frame["label"] = np.where(y == 1, "yes", "no")
    frame.iloc[:400].to_csv(tmp / "train.csv", index=False)
    frame.iloc[400:].to_csv(tmp / "test.csv", index=False)
    return tmp / "train.csv", tmp / "test.csv"


def _automl(tmp: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    command = [
        sys.executable, "-m", "automl.commands.cli", f"output_dir={tmp / 'results'}",
        f"leaderboard.dir={tmp / 'lb'}", "progress=false", "threads=1", *args,
    ]  # fmt: skip
    return subprocess.run(command, cwd=tmp, env=env, capture_output=True, text=True, timeout=600)


def test_a_new_learner_family_gets_its_row_provenance_preprocessing_and_model(tmp_path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    env = _installed(site)
    train, test = _tables(tmp_path)
    done = _automl(  # 6 trials each: the search ends inside the budget, the refits have time
        tmp_path, env, "budget=20", "search.n_trials=6", "dataset=csv", f"dataset.path={train}",
        f"dataset.test_path={test}", "dataset.target=label", "model=histboost,dummy",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    board = pd.read_csv(next((tmp_path / "lb").glob("*-accuracy.csv")))
    row = board[board["model"] == "histboost"].iloc[0]
    assert row["trials"] >= 1  # its trials took its own encoding (the learner refuses others),
    storage = open_storage(str(tmp_path / "results" / "automl.journal"))
    study = optuna.load_study(study_name=row["study"], storage=storage)
    failed = [t for t in study.trials if t.state == TrialState.FAIL]
    assert all(t.user_attrs.get(STOPPED_BY_BUDGET) for t in failed)  # none for want of it
    assert 0.6 < row["test_score"] <= 1.0
    assert "automl-histboost 0.0.1" in row["versions"]  # its provenance
    assert "automl-histboost" not in board[board["model"] == "dummy"].iloc[0]["versions"]
    reloaded = subprocess.run(
        [sys.executable, "-c", RELOAD, row["model_path"], str(test)],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    found = json.loads(reloaded.stdout)
    assert found["accuracy"] == row["test_score"]  # the model reloads and scores as reported
    assert found["steps"] == ["histboost_lib.Codes", "histboost_lib.HistBoost"]
    assert "automl-histboost" in found["checked"]


def test_without_its_library_the_learner_is_refused_with_how_to_install_it(tmp_path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    env = _installed(site, library=False)
    done = _automl(tmp_path, env, "dataset=iris", "model=histboost")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "automl: error: model 'histboost' needs automl-histboost, which is not installed: "
        "pip install automl-histboost"
    ]
