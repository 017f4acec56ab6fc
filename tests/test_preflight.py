"""The checks that run before any job: what they accept, what they refuse, and that nothing we ship
is refused (the end-to-end messages are in tests/test_bad_input.py)."""

from __future__ import annotations

import pytest
from hydra import initialize_config_module

from automl.config import nodes, preflight
from automl.config.checks import check_folder, check_job
from automl.fitting.devices import check as check_device
from automl.plugin.domain import Interval, OneOf, problem
from automl.plugin.errors import UserError
from automl.plugin.space import Categorical


@pytest.fixture(scope="module")
def known(registry):
    nodes.store(registry)
    return registry


@pytest.mark.parametrize(
    ("domain", "value", "accepted"),
    [
        (Interval(0, low_open=True), 0, False),
        (Interval(0, low_open=True), 1e-9, True),
        (Interval(0, low_open=True), True, False),  # a boolean is no number here
        (Interval(0, low_open=True), float("nan"), False),
        (Interval(1, integer=True), 3, True),
        (Interval(1, integer=True), 3.0, False),  # scikit-learn refuses 3.0 for an integer too
        (Interval(0, 1, high_open=True), 1, False),
        (Interval(0, 1, high_open=True), 0, True),
        (OneOf(True, False), 1, False),
        (OneOf(1, 2), True, False),
        (OneOf("a", None), None, True),
        ((Interval(1, integer=True), OneOf(None)), None, True),
        ((Interval(1, integer=True), OneOf(None)), 0, False),
    ],
)
def test_domains(domain, value, accepted) -> None:
    assert (problem(domain, value) is None) is accepted


def test_every_built_in_default_and_range_lies_in_its_domain(registry) -> None:
    """What we ship can never be refused: defaults, and both ends of every range, are accepted."""
    for model in registry.models():
        for name, value in model.defaults.items():
            domain = model.domain(name)
            assert domain is None or problem(domain, value) is None, (model.name, name)
        for name, param in model.space.items():
            ends = param.choices if isinstance(param, Categorical) else (param.low, param.high)
            for value in ends:
                assert problem(model.domain(name), value) is None, (model.name, name, value)


def test_the_jobs_are_those_hydra_launches(known) -> None:
    with initialize_config_module(config_module="automl.conf", version_base="1.3"):
        default = preflight.jobs([], multirun=False)
        swept = preflight.jobs(["dataset=iris,wine", "model=svm,dummy", "seed=1"], multirun=True)
        globbed = preflight.jobs(["model=glob(l*)"], multirun=True)
    models = [job[1] for job in default]
    assert "model=dummy" in models and len(models) == 10  # the config's own sweep
    assert swept == [
        ["dataset=iris", "model=svm", "seed=1"],
        ["dataset=iris", "model=dummy", "seed=1"],
        ["dataset=wine", "model=svm", "seed=1"],
        ["dataset=wine", "model=dummy", "seed=1"],
    ]
    assert [job[1] for job in globbed] == ["model=lightgbm", "model=linear"]


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["+suite=small"],
        ["+suite=realistic"],
        ["+experiment=seed_svm_digits"],
        ["+experiment=seed_cnn_mnist"],
        ["+experiment=seed_mlp_mnist"],
        ["+experiment=seed_rnn_ucr"],
        ["+experiment=seed_rf_csv", "dataset.path=data.csv"],
        ["+experiment=seed_mlp_price", "dataset.path=houses.csv"],
        ["search=quick", "sampler=random", "pruner=hyperband", "validation=cv"],
        ["search=thorough", "sampler=qmc", "pruner=successive_halving", "trial.memory=4000"],
        ["hydra/launcher=joblib", "worker=range(2)", "storage=sqlite:///x.db"],
    ],
)
def test_every_shipped_config_passes(known, args, tmp_path) -> None:
    args = [*args, f"output_dir={tmp_path / 'results'}", f"leaderboard.dir={tmp_path / 'lb'}"]
    assert preflight.check(args, known, multirun=True) >= 1
    assert not list(tmp_path.iterdir())  # checking wrote nothing


def test_a_folder_check_leaves_nothing_behind(tmp_path) -> None:
    check_folder("output_dir", str(tmp_path / "a" / "b"))
    assert not list(tmp_path.iterdir())
    (tmp_path / "f").write_text("")
    with pytest.raises(UserError, match="is a file, not a folder"):
        check_folder("output_dir", str(tmp_path / "f" / "b"))


def test_devices(monkeypatch) -> None:
    check_device("auto")
    check_device("cpu")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # as on a machine without a GPU
    with pytest.raises(UserError, match="no GPU that torch can use; accepted here: auto, cpu"):
        check_device("cuda")
    for bad in ("tpu", "cuda:", "cpu:0", "cuda:-1", "CUDA"):
        with pytest.raises(UserError, match="available: auto, cpu, cuda or cuda:N"):
            check_device(bad)


def test_a_job_config_is_checked_as_plain_values(known, tmp_path) -> None:
    with initialize_config_module(config_module="automl.conf", version_base="1.3"):
        cfg = preflight._plain(preflight.compose_job(["model=svm", f"output_dir={tmp_path}"]))
    check_job(cfg, known)
    cfg["model"]["params"]["gamma"] = "scale"  # a second form the domain names
    check_job(cfg, known)
    cfg["model"]["params"]["gamma"] = 0
    with pytest.raises(UserError, match="svm's gamma takes a number > 0 or one of scale, auto"):
        check_job(cfg, known)
