"""Config composition as the CLI does it: the schema, generated model and dataset nodes, YAML groups."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_module
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from automl.commands.cli import check_names
from automl.config import nodes
from automl.plugin.errors import UserError
from tests.conftest import ROOT


@pytest.fixture
def compose_with(registry):
    nodes.store(registry)

    def _compose(*overrides: str, hydra: bool = False):
        with initialize_config_module(config_module="automl.conf", version_base="1.3"):
            return compose(
                config_name="config", overrides=list(overrides), return_hydra_config=hydra
            )

    yield _compose
    GlobalHydra.instance().clear()


def test_defaults(compose_with) -> None:
    exp = nodes.experiment(compose_with())
    assert (exp.dataset, exp.model, exp.metric, exp.seed) == ("digits", "svm", "auto", 0)
    assert exp.params == {
        "kernel": "search",
        "C": "search",
        "gamma": "search",
        "scaler": "standard",
    }
    assert exp.sampler["_target_"] == "optuna.samplers.TPESampler" and exp.sampler["seed"] == 0
    assert exp.storage.endswith("results/automl.journal")
    assert exp.split.validation == "holdout"


def test_any_hyperparameter_or_range_is_overridable_without_plus(compose_with) -> None:
    exp = nodes.experiment(
        compose_with(
            "model=lightgbm", "model.params.num_leaves=31", "model.space.learning_rate.high=0.1"
        )
    )
    assert exp.params["num_leaves"] == 31 and exp.params["n_estimators"] == 2000
    assert exp.space["learning_rate"] == {"low": 0.01, "high": 0.1, "log": True}


def test_groups_and_values_compose(compose_with) -> None:
    cfg = compose_with(
        "dataset=csv",
        "dataset.path=x.csv",
        "validation=cv",
        "sampler=random",
        "pruner=none",
        "search=quick",
        "seed=3",
        "storage=postgresql://u:p@localhost/db",
    )
    exp = nodes.experiment(cfg)
    assert exp.dataset_options["path"] == "x.csv" and exp.dataset_options["target"] == "target"
    assert exp.dataset_options["test_path"] is None and exp.dataset_options["categorical"] == []
    assert exp.split.validation == "cv" and exp.split.folds == 5 and exp.split.seed == 3
    assert exp.sampler == {"_target_": "optuna.samplers.RandomSampler", "seed": 3}
    assert exp.n_trials == 5 and exp.storage == "postgresql://u:p@localhost/db"


def test_seed_experiment_fixes_the_svm(compose_with) -> None:
    cfg = compose_with("+experiment=seed_svm_digits", hydra=True)
    exp = nodes.experiment(cfg)
    assert exp.params == {"kernel": "linear", "C": 1.0, "gamma": "search", "scaler": "none"}
    assert exp.seed == 42 and exp.split.stratify is False
    assert cfg.hydra.sweeper.params.model == "svm"


def test_values_are_type_checked(compose_with) -> None:
    with pytest.raises(Exception, match="Error merging override search.n_trials=abc"):
        compose_with("search.n_trials=abc")


def test_the_default_sweep_covers_every_classical_and_boosting_model(registry) -> None:
    import automl_boosting
    import automl_classical

    models = automl_classical.MODELS + automl_boosting.MODELS
    nodes.store(registry)
    with initialize_config_module(config_module="automl.conf", version_base="1.3"):
        cfg = compose(config_name="config", return_hydra_config=True)
    swept = cfg.hydra.sweeper.params.model  # from the registry: the models that say so
    assert sorted(swept.split(",")) == sorted(m.name for m in models)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["dataset=nope"],
            "unknown dataset 'nope'; available: adult, breast_cancer, cholesterol, csv",
        ),
        (["-m", "model=svm,nope"], "unknown model 'nope'"),
        (["metric=nope"], "unknown metric 'nope'; available: accuracy"),
    ],
)
def test_unknown_names_fail_before_any_job(registry, args, message) -> None:
    with pytest.raises(UserError, match=message):
        check_names(args, registry)
    check_names(["dataset=iris", "model=svm,knn", "metric=auto", "seed=1"], registry)


def test_config_yaml_is_plain_omegaconf() -> None:
    assert OmegaConf.load(ROOT / "conf" / "config.yaml").hydra.mode == "MULTIRUN"


def test_glob_sweeps_are_left_to_hydra(registry) -> None:
    check_names(["-m", "model=glob(*)"], registry)


def test_budget_mode_keeps_hydras_flags_after_its_overrides(registry) -> None:
    """``automl budget=30 --cfg job``: the overrides budget mode adds go after the command line's
    last override, so that argparse still reads the overrides as one run and ``job`` as --cfg's."""
    from hydra._internal.utils import get_args_parser

    from automl.config import sweep

    args = sweep.arguments(["budget=30", "model=knn,dummy", "--cfg", "job"], registry)
    assert args[-2:] == ["--cfg", "job"]
    assert "learners=[knn,dummy]" in args and "search=budget" in args
    flags = get_args_parser().parse_args(args)
    assert flags.cfg == "job" and "search=budget" in flags.overrides
    flags = get_args_parser().parse_args(sweep.arguments(["budget=30", "--info"], registry))
    assert flags.info and "search=budget" in flags.overrides
