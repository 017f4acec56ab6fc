"""The winner leaves the harness: every row's model is saved, reloads in a fresh process without
the storage and predicts exactly the test score its leaderboard reported; ``automl-predict`` and
``automl.load`` work on it, and say in one line what is wrong with bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from automl.fitting import explain, model_file
from automl.fitting.winner import Winner
from automl.plugin.errors import UserError
from automl.plugin.types import Metric
from tests.test_cli import automl

# A fresh process: the saved model, the test file, and the harness installed; nothing else.
SCORE = """
import sys, automl, pandas as pd
from sklearn.metrics import accuracy_score
model = automl.load(sys.argv[1])
test = pd.read_csv(sys.argv[2])
print(repr(float(accuracy_score(test.pop("label"), model.predict(test)))))
"""


def _tables(tmp: Path) -> tuple[Path, Path]:
    X, y = make_classification(n_samples=400, n_features=5, n_informative=3, random_state=0)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(5)])
    frame["colour"] = np.where(X[:, 0] > 0, "red", np.where(X[:, 1] > 0, "green", "blue"))
    frame.loc[::17, "colour"] = None  # missing categories, imputed by the pipeline
    frame.loc[::13, "f3"] = np.nan
    frame["label"] = np.where(y == 1, "yes", "no")
    frame.iloc[:300].to_csv(tmp / "train.csv", index=False)
    frame.iloc[300:].to_csv(tmp / "test.csv", index=False)
    return tmp / "train.csv", tmp / "test.csv"


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("winner")
    train, test = _tables(tmp)
    # Each learner stops at 8 trials, so the search ends well inside the budget and every refit
    # has the time to be saved and explained: without it, what a refit had left depended on where
    # the last trial of the search ended, and in about one run in ten no row was explained.
    result = automl(
        tmp, "budget=20", "search.n_trials=8", "dataset=csv", f"dataset.path={train}",
        f"dataset.test_path={test}", "dataset.target=label", "model=linear,decision_tree,lightgbm",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return tmp


@pytest.mark.slow
def test_each_saved_model_predicts_its_reported_test_score_in_a_fresh_process(made) -> None:
    board = pd.read_csv(next((made / "lb").glob("*-accuracy.csv")))
    saved = board[board["model_path"].notna()]
    assert {"linear", "decision_tree", "lightgbm"} <= set(saved["model"])
    assert saved["pick"].eq("*").sum() == 1
    assert (saved["final"] == "bag").all(), saved["final"]  # fold models, reloaded as scored
    why = saved.loc[saved["pick"].eq("*"), "why"].iloc[0]  # chosen on validation evidence kept
    assert "validation" in why and "no validation predictions" not in why, why
    for row in saved.itertuples():
        out = subprocess.run([sys.executable, "-c", SCORE, row.model_path, str(made / "test.csv")],
                             cwd=made, capture_output=True, text=True, check=True)  # fmt: skip
        assert float(out.stdout) == row.test_score, row.model  # to the last digit
        assert row.test_low <= row.test_score <= row.test_high


@pytest.mark.slow
def test_automl_predict_writes_predictions_and_explains(made) -> None:
    board = pd.read_csv(next((made / "lb").glob("*-accuracy.csv")))
    pick = board[board["pick"] == "*"].iloc[0]
    new = pd.read_csv(made / "test.csv").drop(columns="label").head(7)
    new.to_csv(made / "new.csv", index=False)
    out = subprocess.run(
        ["automl-predict", "--model", pick.model_path, "--data", str(made / "new.csv"),
         "--out", str(made / "p.csv"), "--proba", "--explain"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    written = pd.read_csv(made / "p.csv")
    assert list(written.columns) == ["prediction", "proba_no", "proba_yes"] and len(written) == 7
    assert set(written["prediction"]) <= {"yes", "no"}
    assert np.allclose(written[["proba_no", "proba_yes"]].sum(axis=1), 1.0)
    importance = json.loads(pick.importance)
    if "permutation" in importance:
        assert "permutation importance" in out.stdout and "colour" in out.stdout
    else:  # a budget's explanation may not fit in what its refit had left: it says so
        assert importance["skipped"] in out.stdout
    explained = [json.loads(i) for i in board["importance"].dropna()]
    found = [i["permutation"] for i in explained if "permutation" in i]
    assert found and all(set(f) == {"f0", "f1", "f2", "f3", "f4", "colour"} for f in found)


def _predict(made: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["automl-predict", *args], cwd=made, capture_output=True, text=True)


@pytest.mark.slow
@pytest.mark.parametrize(
    "change, message",
    [
        (lambda f: f.drop(columns="f2"), "missing columns: f2 (the model takes: f0, f1, f2"),
        (lambda f: f.assign(extra=1), "unexpected columns: extra (the model takes: f0"),
        (
            lambda f: f.assign(f1="tall"),
            "column 'f1' must be numeric (float64), got 'tall' in row 1",
        ),
    ],
)
def test_automl_predict_rejects_bad_rows_in_one_line(made, change, message) -> None:
    board = pd.read_csv(next((made / "lb").glob("*-accuracy.csv")))
    path = board[board["pick"] == "*"].iloc[0].model_path
    change(pd.read_csv(made / "test.csv").drop(columns="label")).to_csv(
        made / "bad.csv", index=False
    )
    result = _predict(made, "--model", path, "--data", "bad.csv")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith(f"automl-predict: error: {message}"), result.stderr


@pytest.mark.slow
def test_automl_predict_rejects_files_that_are_not_models_or_are_newer(made) -> None:
    result = _predict(made, "--model", "test.csv", "--data", "test.csv")
    assert result.returncode == 2 and result.stderr.strip() == (
        "automl-predict: error: test.csv is not an automl model file (automl saves them as *.model)"
    )
    board = pd.read_csv(next((made / "lb").glob("*-accuracy.csv")))
    data = Path(board[board["pick"] == "*"].iloc[0].model_path).read_bytes()
    head, _, body = data[len(model_file.MAGIC) :].partition(b"\n")
    about = {**json.loads(head), "automl": "99.0.0", "format": 2}
    (made / "newer.model").write_bytes(model_file.MAGIC + json.dumps(about).encode() + b"\n" + body)
    result = _predict(made, "--model", "newer.model", "--data", "test.csv")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "was saved by automl 99.0.0 (file format 2); this is automl 0.1.0" in result.stderr
    (made / "damaged.model").write_bytes(data[:-10] + b"0123456789")
    result = _predict(made, "--model", "damaged.model", "--data", "new.csv")
    assert result.returncode == 2 and "the checksum does not match" in result.stderr


def test_an_ensemble_predicts_as_its_members_blended_in_float32(tmp_path) -> None:
    X, y = make_classification(n_samples=300, n_features=4, random_state=1)
    frame = pd.DataFrame(X, columns=list("abcd"))
    members = [Winner.of(LogisticRegression().fit(frame, y), np.array(["n", "y"]), frame),
               Winner.of(RandomForestClassifier(n_estimators=20, random_state=0).fit(frame, y),
                         np.array(["n", "y"]), frame)]  # fmt: skip
    blended = Winner.ensemble(members, [0.6, 0.4])
    by_hand = sum(
        w * m.estimators[0].predict_proba(frame).astype(np.float32).astype(np.float64)
        for m, w in zip(members, [0.6, 0.4], strict=True)
    )
    np.testing.assert_array_equal(blended.predict_proba(frame), by_hand)
    assert list(blended.predict(frame)) == list(np.array(["n", "y"])[by_hand.argmax(axis=1)])
    model_file.save(blended, tmp_path / "e.model", {"model": "ensemble"})
    again = model_file.load(tmp_path / "e.model")
    np.testing.assert_array_equal(again.predict_proba(frame), by_hand)
    with pytest.raises(UserError, match="missing columns: d"):
        again.predict(frame.drop(columns="d"))


def test_permutation_importance_is_on_the_original_columns(tmp_path) -> None:
    from automl.fitting.preprocess import wrap

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"signal": rng.normal(size=400), "noise": rng.normal(size=400),
                          "kind": rng.choice(["a", "b", "c"], 400)})  # fmt: skip
    y = (frame["signal"] > 0).astype(int).to_numpy()
    pipeline = wrap(RandomForestClassifier(n_estimators=30, random_state=0), "onehot", frame)
    winner = Winner.of(pipeline.fit(frame, y), np.array([0, 1]), frame)
    from sklearn.metrics import accuracy_score

    metric = Metric("accuracy", accuracy_score, "maximize", frozenset())
    found = explain.explain(winner, frame, y, metric, seed=0)
    assert set(found["permutation"]) == set(found["native"]) == {"signal", "noise", "kind"}
    assert found["permutation"]["signal"][0] > 0.3 > abs(found["permutation"]["noise"][0])
    assert sum(found["native"].values()) == pytest.approx(1.0)
    assert max(found["native"], key=found["native"].get) == "signal"
    assert "skipped" in explain.explain(winner, frame, y, metric, seed=0, within=0.0)


@pytest.mark.slow
def test_a_moved_storage_folder_keeps_its_intervals_and_models(made, tmp_path) -> None:
    import shutil

    from automl.views.publish import rebuild

    moved = tmp_path / "kept"
    shutil.copytree(made / "results", moved, ignore=shutil.ignore_patterns("runs"))
    for folder in ("artifacts", "models"):  # gone from where the rows say they were written
        shutil.rmtree(made / "results" / folder)
    try:
        rebuild(str(moved / "automl.journal"), str(tmp_path / "lb"), None, show=False)
    finally:
        for folder in ("artifacts", "models"):
            shutil.copytree(moved / folder, made / "results" / folder)
    board = pd.read_csv(next((tmp_path / "lb").glob("*-accuracy.csv")))
    assert board["test_low"].notna().sum() >= 3
    assert board[board["pick"] == "*"]["model_path"].iloc[0].startswith(str(moved))


def test_models_saved_before_the_core_moved_into_layers_still_load() -> None:
    """The models kept in the repository were saved by automl 0.1.0, which named the harness's
    classes by their old modules (automl.winner, automl.preprocess): they load, and predict."""
    from sklearn.datasets import load_digits

    from tests.conftest import ROOT

    saved = sorted((ROOT / "leaderboards").rglob("*.model"))
    assert saved
    for path in saved:
        assert isinstance(model_file.load(path), Winner), path
    digits = next(p for p in saved if p.name.startswith("digits_ensemble"))
    X, y = load_digits(return_X_y=True)
    assert np.mean(model_file.load(digits).predict(X) == y) > 0.95
