"""A learner's final model as its best trial's fold models averaged (a bag): made without a refit,
saved as one model that reloads and predicts its leaderboard test score exactly, refitted
instead where the fitting process does not hold it, and measured beside a refit when one is
asked for."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import LinearRegression, LogisticRegression

from automl.fitting import bag, model_file
from automl.fitting.fitter import Fitter
from automl.fitting.protocol import Blend, FitTrial, Open, Refit
from automl.fitting.winner import Winner
from automl.plugin.manager import load_registry
from automl.plugin.task import Task
from automl.settings.experiment import Experiment
from automl.settings.split import SplitConfig


def _tables(tmp: Path, task: str) -> dict[str, str]:
    """A table with a categorical column and missing values, as train and test files."""
    make = make_classification if task == "classification" else make_regression
    X, y = make(n_samples=260, n_features=5, n_informative=3, random_state=0)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(5)])
    frame["colour"] = np.where(X[:, 0] > 0, "red", np.where(X[:, 1] > 0, "green", "blue"))
    frame.loc[::17, "colour"] = None
    frame.loc[::13, "f3"] = np.nan
    frame["target"] = np.where(y == 1, "yes", "no") if task == "classification" else y
    frame.iloc[:200].to_csv(tmp / "train.csv", index=False)
    frame.iloc[200:].to_csv(tmp / "test.csv", index=False)
    return {"path": str(tmp / "train.csv"), "test_path": str(tmp / "test.csv"), "target": "target"}


def _experiment(tmp: Path, model: str, task: str, validation: str, **kw) -> Experiment:
    return Experiment(
        dataset="csv", model=model, storage=str(tmp / "s.journal"), progress=False, threads=1,
        dataset_options=_tables(tmp, task), keep_predictions=True,
        split=SplitConfig(validation=validation, folds=3), **kw,
    )  # fmt: skip


def _score(path: Path, tmp: Path, metric: str, task: Task) -> float:
    """The saved model's score on the test file, in this process's terms: raw rows in, raw
    labels or values out, scored by the registered metric."""
    test = pd.read_csv(tmp / "test.csv")
    truth = test.pop("target")
    predicted = model_file.load(path).predict(test)
    return float(load_registry().metric_for(metric, task).score(np.asarray(truth), predicted))


CASES = [  # (model, task, validation, metric, two configurations)
    ("linear", "classification", "cv", "accuracy", ({"C": 0.01}, {"C": 10.0})),
    ("lightgbm", "regression", "cv", "rmse", ({"n_estimators": 20}, {"n_estimators": 60})),
    ("knn", "classification", "holdout", "accuracy", ({"n_neighbors": 3}, {"n_neighbors": 15})),
]


@pytest.mark.parametrize(("model", "task", "validation", "metric", "configurations"), CASES)
def test_a_bag_reloads_from_its_file_and_predicts_its_test_score_exactly(
    tmp_path, model, task, validation, metric, configurations
) -> None:
    fitter = Fitter()
    desc = fitter.open(Open(_experiment(tmp_path, model, task, validation, final="bag")))
    assert desc.final == "bag"
    results = [
        fitter.trial(FitTrial(n, desc.space.complete(params)))
        for n, params in enumerate(configurations)
    ]
    sign = 1 if desc.direction == "maximize" else -1
    best = max(range(len(results)), key=lambda n: (sign * results[n].score, -n))
    params = desc.space.complete(configurations[best])
    saved = tmp_path / "bag.model"
    made = fitter.refit(Refit(params, str(saved), trial=best))
    assert made.final == "bag" and made.fit_time == 0.0  # nothing refitted
    assert len(model_file.load(saved).estimators) == (3 if validation == "cv" else 1)
    kind = Task.BINARY if task == "classification" else Task.REGRESSION
    assert _score(saved, tmp_path, metric, kind) == made.test_score  # to the last digit
    # What the ensemble blends is what the saved model gives as a member, float32 as stored.
    test = pd.read_csv(tmp_path / "test.csv").drop(columns="target")
    np.testing.assert_array_equal(model_file.load(saved).member(test), made.predictions)

    # The other trial's folds were not kept (only the best is): it is refitted.
    other = fitter.refit(Refit(desc.space.complete(configurations[1 - best]), trial=1 - best))
    assert other.final == "refit" and other.bag_score is None


def test_a_refit_where_the_bag_is_at_hand_reports_both(tmp_path) -> None:
    exp = _experiment(tmp_path, "linear", "classification", "cv", final="refit")
    fitter = Fitter()
    desc = fitter.open(Open(exp))
    params = desc.space.complete({"C": 1.0})
    fitter.trial(FitTrial(0, params))
    refit = fitter.refit(Refit(params, trial=0))
    assert refit.final == "refit" and refit.fit_time > 0
    bagged = Fitter()
    bagged.open(Open(_experiment(tmp_path, "linear", "classification", "cv")))
    bagged.trial(FitTrial(0, params))
    alone = bagged.refit(Refit(params, trial=0))
    assert alone.final == "bag" and refit.bag_score == alone.test_score


def test_a_bag_kept_only_in_its_file_is_not_loaded_to_be_scored_beside_a_refit(tmp_path) -> None:
    """A worker started after the trial (a stopped one replaced) finds the bag in its file: a refit
    does not load it to score it beside (a large forest's bag loads slower than it refits), and
    its file goes once the final model is made; asked for the bag, it loads it."""
    artifacts = tmp_path / "artifacts"
    exp = _experiment(tmp_path, "linear", "classification", "cv", final="refit",
                      artifacts=str(artifacts))  # fmt: skip
    fitter = Fitter()
    desc = fitter.open(Open(exp))
    configurations = [desc.space.complete({"C": 1.0}), desc.space.complete({"C": 0.01})]
    for number, params in enumerate(configurations):
        fitter.trial(FitTrial(number, params))
    (kept,) = (artifacts / "bags").iterdir()  # the best trial's bag, in its file
    number = int(kept.stem.rsplit("-", 1)[1])
    copy = kept.read_bytes()
    fresh = Fitter()  # the replaced worker
    fresh.open(Open(exp))
    refit = fresh.refit(Refit(configurations[number], trial=number))
    assert refit.final == "refit" and refit.fit_time > 0 and refit.bag_score is None
    assert not kept.exists()
    kept.write_bytes(copy)
    again = Fitter()
    again.open(Open(exp))
    bagged = again.refit(Refit(configurations[number], trial=number, bag=True))
    assert bagged.final == "bag" and bagged.fit_time == 0.0 and not kept.exists()


def test_auto_is_the_bag_under_cross_validation_and_the_refit_under_a_holdout(tmp_path) -> None:
    """A holdout's bag is one model of 80% of the rows, which measured worse than a refit on all
    of them (benchmarks/RESULTS.md); k fold models averaged measured better. Under a holdout the
    bag is still made where a budget has no time left for a refit (Refit.bag)."""
    params = {"C": 1.0}
    for validation, final in (("cv", "bag"), ("holdout", "refit")):
        fitter = Fitter()
        desc = fitter.open(Open(_experiment(tmp_path, "linear", "classification", validation)))
        assert desc.final == final
        fitter.trial(FitTrial(0, desc.space.complete(params)))
        assert fitter.refit(Refit(desc.space.complete(params), trial=0)).final == final
    fitter.trial(FitTrial(1, desc.space.complete(params)))
    assert fitter.refit(Refit(desc.space.complete(params), trial=1, bag=True)).final == "bag"


def test_a_process_without_the_trials_folds_refits(tmp_path) -> None:
    """A resumed run (or a replaced worker) fitted none of the stored trials: a refit."""
    fitter = Fitter()
    desc = fitter.open(Open(_experiment(tmp_path, "linear", "classification", "cv")))
    params = desc.space.complete({"C": 1.0})
    made = fitter.refit(Refit(params, trial=0))
    assert made.final == "refit" and made.fit_time > 0


def test_a_bag_kept_in_the_artifacts_folder_outlives_its_process(tmp_path) -> None:
    """A worker the budget stopped mid-trial, or a run killed and resumed: the best trial's bag
    is in its file, and the next process's final model is that bag, not a refit."""
    exp = _experiment(tmp_path, "linear", "classification", "cv", artifacts=str(tmp_path / "a"))
    first = Fitter()
    desc = first.open(Open(exp))
    weak, strong = desc.space.complete({"C": 1e-4}), desc.space.complete({"C": 1.0})
    assert first.trial(FitTrial(0, weak)).score < first.trial(FitTrial(1, strong)).score
    key = bag.key(exp.identity())
    assert not bag.kept(exp.artifacts, key, 0)  # displaced by the better trial: removed
    assert bag.kept(exp.artifacts, key, 1)
    expected = first.refit(Refit(strong, trial=1)).test_score
    assert not bag.kept(exp.artifacts, key, 1)  # served: the saved model holds it
    first.trial(FitTrial(2, strong))  # kept again, then the process is gone

    second = Fitter()
    second.open(Open(exp))
    made = second.refit(Refit(strong, str(tmp_path / "bag.model"), trial=2))
    assert made.final == "bag" and made.fit_time == 0.0 and made.test_score == expected
    assert not bag.kept(exp.artifacts, key, 2)


def test_only_each_studys_best_trial_is_kept_and_another_dataset_frees_them() -> None:
    bags = bag.Bags()
    bags.on("data-a")
    bags.offer("s", bag.Kept(0, 0.8, ("m0",)), maximize=True)
    bags.offer("s", bag.Kept(1, 0.8, ("m1",)), maximize=True)  # equal: the first stays
    bags.offer("s", bag.Kept(2, 0.7, ("m2",)), maximize=True)
    bags.offer("t", bag.Kept(0, 2.0, ("r0",)), maximize=False)
    bags.offer("t", bag.Kept(1, 1.0, ("r1",)), maximize=False)
    assert bags.take("s", 0).models == ("m0",)
    assert bags.take("s", 1) is None and bags.take("s", 2) is None and bags.take("s", None) is None
    assert bags.take("t", 1).models == ("r1",) and bags.take("t", 0) is None
    bags.on("data-a")
    assert bags.take("s", 0) is not None  # the same dataset: kept
    bags.on("data-b")
    assert bags.take("s", 0) is None and bags.take("t", 1) is None


def test_an_ensemble_of_bags_blends_each_bags_own_average() -> None:
    X, y = make_classification(n_samples=120, n_features=4, random_state=2)
    frame = pd.DataFrame(X, columns=list("abcd"))
    classes = np.array(["n", "y"])
    halves = (slice(0, 60), slice(60, 120))

    def bagged(make) -> Winner:
        models = tuple(make().fit(frame.iloc[h], y[h]) for h in halves)
        return bag.winner(bag.Kept(0, 0.0, models), classes, frame)

    first = bagged(lambda: LogisticRegression(C=0.1))
    second = bagged(lambda: LogisticRegression(C=10.0))
    each = [
        np.mean([m.predict_proba(frame).astype(np.float32).astype(np.float64)
                 for m in (w.estimators[0] for w in one.estimators)], axis=0).astype(np.float32)
        for one in (first, second)
    ]  # fmt: skip
    np.testing.assert_array_equal(first.member(frame), each[0])
    both = Winner.ensemble([first, second], [0.25, 0.75])
    np.testing.assert_allclose(both.predict_proba(frame), 0.25 * each[0] + 0.75 * each[1])


def test_a_regression_bag_averages_its_fold_models_values() -> None:
    X, y = make_regression(n_samples=80, n_features=3, random_state=0)
    models = (LinearRegression().fit(X[:40], y[:40]), LinearRegression().fit(X[40:], y[40:]))
    made = bag.winner(bag.Kept(0, 0.0, models), None, X)
    by_hand = np.mean([m.predict(X).astype(np.float32).astype(np.float64) for m in models], axis=0)
    np.testing.assert_allclose(made.predict(X), by_hand, rtol=1e-12)


def test_under_repeated_k_fold_a_trial_keeps_one_prediction_per_row_and_its_bag_every_model(
    tmp_path,
) -> None:
    exp = _experiment(tmp_path, "linear", "classification", "cv")
    exp = Experiment(**{**exp.__dict__, "split": SplitConfig(validation="cv", folds=3, repeats=2)})
    fitter = Fitter()
    desc = fitter.open(Open(exp))
    assert desc.folds == 6 and desc.repeats == 2
    params = desc.space.complete({"C": 1.0})
    trial = fitter.trial(FitTrial(0, params))
    assert len(trial.predictions) == 200  # every development row once, averaged over repeats
    np.testing.assert_allclose(trial.predictions.sum(axis=1), 1.0, rtol=1e-5)
    saved = tmp_path / "bag.model"
    made = fitter.refit(Refit(params, str(saved), trial=0))
    assert made.final == "bag" and len(made.val_truth) == 200
    assert len(model_file.load(saved).estimators) == 6
    assert _score(saved, tmp_path, "accuracy", Task.BINARY) == made.test_score


def test_a_deep_learners_epoch_reporter_is_written_as_none() -> None:
    """A deep learner keeps the trial's epoch reporter among its parameters; its fold models are
    written to a file as its bag, where a closure would not pickle and a verdict means nothing."""
    import pickle

    from automl.fitting.resolved import epoch_reporter

    report = epoch_reporter(lambda step, value: False, "maximize")
    report(0, 0.5)  # judged, not pruned
    assert pickle.loads(pickle.dumps(report)) is None


def test_an_ensemble_loads_only_the_members_its_selection_kept(tmp_path) -> None:
    """A member of weight 0 is neither loaded nor saved: its file is never opened (here it does
    not exist), and the ensemble's file reloads and predicts its reported test score exactly."""
    fitter = Fitter()
    desc = fitter.open(Open(_experiment(tmp_path, "linear", "classification", "cv")))
    params = desc.space.complete({"C": 1.0})
    trial = fitter.trial(FitTrial(0, params))
    made = fitter.refit(Refit(params, str(tmp_path / "linear.model"), trial=0))
    wrong = 1.0 - np.asarray(trial.predictions)  # every row's probabilities swapped: never kept
    members = ((trial.predictions, made.predictions), (wrong, 1.0 - np.asarray(made.predictions)))
    saved = tmp_path / "ensemble.model"
    models = (str(tmp_path / "linear.model"), str(tmp_path / "absent.model"))
    chosen = fitter.blend(Blend(members, 5, models, str(saved)))
    assert chosen.weights == (1.0, 0.0) and chosen.model == str(saved)
    assert len(model_file.load(saved).estimators) == 1
    assert _score(saved, tmp_path, "accuracy", Task.BINARY) == chosen.test_score
