"""The bad-input suite: each bad file (tests/bad_inputs/) and each bad setting gets one clear line
saying what was wrong and what is accepted, a non-zero exit and no traceback, through ``automl``
exactly as a user runs it. Settings are checked before any job starts, so a mistake leaves nothing
behind; data files go through one sweep, where a bad job loses nothing else."""

from __future__ import annotations

import os
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
        sys.executable, "-m", "automl.commands.cli", *flags, f"output_dir={tmp / 'results'}",
        f"leaderboard.dir={tmp / 'lb'}", "progress=false", "threads=1", *args,
    ]  # fmt: skip
    return subprocess.run(command, cwd=FILES, capture_output=True, text=True, timeout=600)


def _clean(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def _one_line(result: subprocess.CompletedProcess, message: str) -> None:
    _clean(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) <= 2, result.stderr
    assert lines[0].startswith("automl: error: ") and message in result.stderr, result.stderr


# Each mistake as a user types it, and what its one line must say: the setting, and what is accepted.
# "{tmp}" is the test's own folder, where "file" is a file.
SETTINGS = [
    # budgets
    (
        ["search.n_trials=0"],
        "search.n_trials=0 is not accepted: search.n_trials takes an integer >= 1",
    ),
    (["search.n_trials=-5"], "search.n_trials takes an integer >= 1"),
    (
        ["search.population=0"],
        "search.population=0 is not accepted: search.population takes an integer >= 1",
    ),
    (["search.n_trials=2.5"], "search.n_trials takes an integer"),
    (["search.timeout=0"], "search.timeout takes a number > 0 (or null for no limit)"),
    (["search.timeout=-10"], "search.timeout takes a number > 0"),
    (["search.timeout=soon"], "search.timeout takes a number"),
    (["search=fast"], "unknown search 'fast'; available: budget, default, quick, thorough"),
    # threads, workers, limits
    (["threads=-1"], "threads=-1 is not accepted: threads takes an integer >= 0"),
    (["worker=-1"], "worker takes an integer >= 0"),
    (["trial.timeout=0"], "trial.timeout takes a number > 0 (or null for no limit)"),
    (["trial.timeout=-3"], "trial.timeout takes a number > 0"),
    (["trial.memory=0"], "trial.memory takes a number > 0 (or null for no limit)"),
    (["trial.memory=-100"], "trial.memory takes a number > 0"),
    (["trial.heartbeat=0"], "trial.heartbeat takes an integer >= 1"),
    (
        ["trial.isolation=threads"],
        "unknown trial.isolation 'threads'; available: inprocess, subprocess",
    ),
    # fractions and counts
    (["split.test_size=0"], "split.test_size takes a number > 0 and < 1"),
    (["split.test_size=1.5"], "split.test_size takes a number > 0 and < 1"),
    (["split.stratify=sometimes"], "split.stratify takes true or false"),
    (["validation.size=1"], "validation.size takes a number > 0 and < 1"),
    (
        ["validation.folds=1"],
        "validation.folds=1 is not accepted: validation.folds takes an integer >= 2",
    ),
    (
        ["validation.repeats=0"],
        "validation.repeats=0 is not accepted: validation.repeats takes an integer >= 1",
    ),
    (
        ["validation=holdout", "validation.repeats=3"],
        "validation.repeats=3 repeats the folds of cross-validation; validation=holdout has none",
    ),
    (["final=average"], "unknown final 'average'; available: auto, bag, refit"),
    (["validation=kfold"], "unknown validation 'kfold'; available: auto, cv, holdout"),
    (["validation.method=loo"], "unknown validation.method 'loo'; available: auto, cv, holdout"),
    # device
    (["device=tpu"], "unknown device 'tpu'; available: auto, cpu, cuda or cuda:N"),
    (["device=cuda:99"], "accepted here: auto, cpu"),
    (["device=cuda:x"], "unknown device 'cuda:x'; available: auto, cpu, cuda or cuda:N"),
    # seed and other types
    (["seed=-1"], "seed=-1 is not accepted: seed takes an integer >= 0"),
    (["seed=abc"], "seed=abc is not accepted: seed takes an integer"),
    (["seed=null"], "seed=null is not accepted: seed takes a value, not null"),
    (["progress=maybe"], "progress=maybe is not accepted: progress takes true or false"),
    (
        ["split=3"],
        "split takes no value: it is a group of settings (split.test_size, split.stratify)",
    ),
    # paths and storages
    (
        ["output_dir={tmp}/file/out"],
        "output_dir={tmp}/file/out: {tmp}/file is a file, not a folder",
    ),
    (["leaderboard.dir={tmp}/file/lb"], "leaderboard.dir={tmp}/file/lb: {tmp}/file is a file"),
    (["storage={tmp}/file/x.journal"], "storage={tmp}/file: {tmp}/file is a file, not a folder"),
    (["storage=nosuch://x"], "cannot open storage nosuch://x"),
    (["storage=trials.txt"], "is not a storage URL; use a journal file path ending in .journal"),
    (
        ["storage=${oc.env:AUTOML_TEST_UNSET_VARIABLE}"],
        "storage: the environment variable AUTOML_TEST_UNSET_VARIABLE is not set; set it, or give storage=VALUE",
    ),
    # fixed hyperparameters against their model's domain, and ranges
    (
        ["model=svm", "model.params.C=-1"],
        "model.params.C=-1 is not accepted: svm's C takes a number > 0",
    ),
    (
        ["model=svm", "model.params.kernel=cubic"],
        "svm's kernel takes one of linear, poly, rbf, sigmoid",
    ),
    (
        ["model=lightgbm", "model.params.num_leaves=1"],
        "lightgbm's num_leaves takes an integer >= 2",
    ),
    (
        ["model=random_forest", "model.params.n_estimators=0"],
        "random_forest's n_estimators takes an integer >= 1",
    ),
    (["model=knn", "model.params.n_neighbors=2.5"], "knn's n_neighbors takes an integer >= 1"),
    (["model=mlp", "model.params.dropout=1.5"], "mlp's dropout takes a number >= 0 and < 1"),
    (["model=mlp", "model.params.batch_size=big"], "mlp's batch_size takes an integer >= 1"),
    (["model=mlp", "model.params.optimizer=sgd"], "mlp's optimizer takes one of adam, adamw"),
    (["model=svm", "model.space.C.low=-1"], "model.space.C: a log-scale range needs low > 0"),
    (
        ["model=svm", "model.space.C.low=10", "model.space.C.high=1"],
        "model.space.C: low 10.0 is above high 1.0",
    ),
    (
        ["model=mlp", "model.space.dropout.high=2"],
        "model.space.dropout reaches 2.0, which is not accepted: mlp's dropout takes a number >= 0 and < 1",
    ),
    (
        ["model=dummy", "model.params.strategy=search"],
        "model.params.strategy=search, but the model has no range for strategy",
    ),
    # keys that do not exist
    (["serach.n_trials=3"], "unknown setting 'serach.n_trials'; did you mean search.n_trials?"),
    (["search.trials=3"], "unknown setting 'search.trials'; did you mean search.n_trials?"),
    (
        ["trial.timout=1"],
        "did you mean trial.timeout? trial has: isolation, timeout, memory, heartbeat",
    ),
    (["model=svm", "model.params.gama=1"], "did you mean model.params.gamma?"),
    (["colour=red"], "unknown setting 'colour'; the settings are: dataset, model, search"),
    # options of config groups, and names
    (["sampler=bogus"], "unknown sampler 'bogus'; available: cmaes, gp, qmc, random, tpe"),
    (["sampler=tpee"], "did you mean tpe?"),
    (
        ["pruner=mean"],
        "unknown pruner 'mean'; available: hyperband, median, none, successive_halving",
    ),
    (["+experiment=nope"], "unknown experiment 'nope'; available: seed_cnn_mnist"),
    (["+suite=huge"], "unknown suite 'huge'; available: realistic, small"),
    (["model=svn"], "unknown model 'svn'; available: catboost, cnn, decision_tree"),
    (["dataset=digit"], "did you mean digits?"),
    (["metric=acuracy"], "unknown metric 'acuracy'; available: accuracy"),
    # budget mode
    (["budget=5"], "budget=5 is not accepted: budget takes a number >= 10"),
    (
        ["budget=60", "trial.isolation=inprocess"],
        "budget=... stops a fit that runs past the time left, which only the worker can do",
    ),
    (
        ["budget=60", "model=svm", "model.params.C=1"],
        "model.params.C=1: with budget=..., each learner searches its own space",
    ),
    (["budget=60", "model=svm,nope"], "unknown model 'nope'"),
    (
        ["budget=60", "search.population=4"],
        "search.population=4 trains trials of one study together, which a budget's",
    ),
    (["validation.method=outo"], "unknown validation.method 'outo'"),
    # syntax, and Optuna's own checks of a sampler's or a pruner's arguments
    (["seed=["], "cannot read the setting 'seed=['"),
    (["pruner.n_startup_trials=-1"], "cannot create the pruner optuna.pruners.MedianPruner"),
]


@pytest.mark.parametrize(("args", "message"), SETTINGS, ids=[" ".join(a) for a, _ in SETTINGS])
def test_each_bad_setting_is_one_line_before_anything_runs(tmp_path, args, message) -> None:
    (tmp_path / "file").write_text("a file where a folder should be")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if not any(a.startswith("model=") for a in args):
        args.insert(0, "model=dummy")
    result = _automl(tmp_path, *args)
    _one_line(result, message.replace("{tmp}", str(tmp_path)))
    assert not (tmp_path / "results").exists() and not (tmp_path / "lb").exists()  # nothing ran


def test_a_mistake_in_one_job_of_a_sweep_stops_the_sweep_before_any_job(tmp_path) -> None:
    result = _automl(tmp_path, "-m", "model=dummy", "search.n_trials=3,0")
    _one_line(result, "search.n_trials=0 is not accepted")
    assert not (tmp_path / "results").exists()


def test_a_study_where_no_trial_succeeds_fails_the_command_with_the_reason(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "automl.commands.cli", f"output_dir={tmp_path / 'results'}",
         f"leaderboard.dir={tmp_path / 'lb'}", "progress=false", "threads=1", "dataset=iris",
         "model=faulty", "model.params.fault=raise", "model.params.on=all", "search.n_trials=3",
         "trial.isolation=inprocess"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "AUTOML_PLUGINS": "tests.faults"},
    )  # fmt: skip
    _one_line(result, "iris · faulty: all 3 trials failed; most common reason (1 of 3): ")
    assert "RuntimeError: injected failure on trial" in result.stderr
    assert (tmp_path / "lb" / "iris-accuracy.csv").is_file()  # what it has is still written


def test_a_corrected_command_resumes_what_an_earlier_run_stored(tmp_path) -> None:
    first = _automl(tmp_path, "dataset=iris", "model=decision_tree", "search.n_trials=2")
    assert first.returncode == 0, first.stderr
    mistake = _automl(tmp_path, "dataset=iris", "model=decision_tree", "search.n_trials=0")
    _one_line(mistake, "search.n_trials takes an integer >= 1")
    again = _automl(tmp_path, "dataset=iris", "model=decision_tree", "search.n_trials=3")
    assert again.returncode == 0, again.stderr
    board = (tmp_path / "lb" / "iris-accuracy.csv").read_text()
    assert ",3," in board.splitlines()[1]  # 2 stored trials kept, 1 more run: 3 in the study


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
            "unknown trial.isolation 'threads'; available: inprocess, subprocess",
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
