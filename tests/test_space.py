from __future__ import annotations

import pytest

from automl.plugin.errors import UserError
from automl.plugin.space import SEARCH, Categorical, Float, Int, resolve
from tests.conftest import sample_params

SVM = {
    "kernel": Categorical(("linear", "rbf")),
    "C": Float(1e-3, 1e3, log=True),
    "gamma": Float(1e-5, 10.0, log=True, when={"kernel": "rbf"}),
}


_sample = sample_params


def test_searched_params_stay_in_range_and_conditions_hold() -> None:
    space = resolve(SVM, {"kernel": SEARCH, "C": SEARCH, "gamma": SEARCH}, {})
    for params in _sample(space):
        assert 1e-3 <= params["C"] <= 1e3
        assert ("gamma" in params) == (params["kernel"] == "rbf")


def test_fixing_every_active_param_leaves_nothing_to_search() -> None:
    space = resolve(SVM, {"kernel": "linear", "C": 1.0, "gamma": SEARCH}, {})
    assert space.is_empty()
    assert space.complete({}) == {"kernel": "linear", "C": 1.0}


def test_a_fixed_param_switched_off_by_its_condition_is_dropped() -> None:
    space = resolve(SVM, {"kernel": "linear", "C": 1.0, "gamma": 0.1}, {})
    assert space.complete({}) == {"kernel": "linear", "C": 1.0}


def test_a_fixed_param_conditional_on_a_searched_one_follows_the_sample() -> None:
    space = resolve(SVM, {"kernel": SEARCH, "C": 1.0, "gamma": 0.01}, {})
    for params in _sample(space, n=10):
        assert params.get("gamma") == (0.01 if params["kernel"] == "rbf" else None)
    assert space.complete({"kernel": "rbf"})["gamma"] == 0.01


def test_conditions_may_name_the_task() -> None:
    declared = {"criterion": Categorical(("gini",), when={"task": ["binary", "multiclass"]})}
    assert resolve(declared, {"criterion": SEARCH}, {}, task="regression").is_empty()
    assert not resolve(declared, {"criterion": SEARCH}, {}, task="binary").is_empty()


def test_range_overrides_apply() -> None:
    space = resolve(
        SVM, {"kernel": "rbf", "C": SEARCH, "gamma": 0.01}, {"C": {"low": 0.5, "high": 2}}
    )
    assert all(0.5 <= p["C"] <= 2 for p in _sample(space))
    ints = resolve({"k": Int(1, 50)}, {"k": SEARCH}, {"k": {"low": 3, "high": 4}})
    assert {p["k"] for p in _sample(ints)} <= {3, 4}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"low": 10, "high": 1}, "model.space.C: low 10.0 is above high 1.0"),
        ({"low": 0, "high": 1}, "a log-scale range needs low > 0"),
        ({"low": "x"}, "low and high must be numbers"),
    ],
)
def test_bad_ranges_are_user_errors(edit, message) -> None:
    with pytest.raises(UserError, match=message):
        resolve(SVM, {"C": SEARCH}, {"C": edit})


def test_searching_a_param_without_a_range_is_a_user_error() -> None:
    with pytest.raises(UserError, match="no range for degree; ranges exist for: kernel, C, gamma"):
        resolve(SVM, {"degree": SEARCH}, {})


def test_empty_choices_are_a_user_error() -> None:
    with pytest.raises(UserError, match="choices is empty"):
        resolve(SVM, {"kernel": SEARCH}, {"kernel": {"choices": []}})


def test_size_counts_configurations_of_a_finite_space() -> None:
    finite = resolve(SVM, {"kernel": SEARCH, "C": 1.0}, {})
    assert finite.size() == 2
    assert resolve(SVM, {"kernel": SEARCH, "C": SEARCH}, {}).size() is None
