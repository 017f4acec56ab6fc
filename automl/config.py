"""The config schema, and config nodes generated from what plugins register.

Every registered model becomes a choice ``model=<name>`` whose ``params`` list each hyperparameter
(its fixed value, or ``search``) and whose ``space`` lists each range, so any of them can be changed
from the command line without ``+``. Every dataset becomes ``dataset=<name>`` with its options. The
plugin's own declaration is the single source of truth; nothing about a model is repeated in YAML.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, OmegaConf

from automl.data import SplitConfig
from automl.experiment import Experiment
from automl.registry import Registry
from automl.space import to_config
from automl.storage import default_url, redact


@dataclass
class SearchSchema:
    n_trials: int = 20  # trials per study, counting those a previous run left in the storage
    timeout: float | None = None  # seconds of search per study, summed over runs; null: no limit


@dataclass
class TrialSchema:
    isolation: str = "subprocess"  # subprocess: fits run in a watched worker; inprocess: no limits
    timeout: float | None = 3600.0  # hard wall-clock limit per trial and for the refit, seconds
    memory: float | None = (
        None  # MiB the worker process may use (its data included); null: no limit
    )
    heartbeat: int | None = 60  # seconds between heartbeats of a running trial, database storages


@dataclass
class SplitSchema:
    test_size: float = 0.2  # share held out for testing when the dataset has no test split
    stratify: bool = True  # stratify classification splits by class


@dataclass
class ValidationSchema:
    method: str = "holdout"  # holdout or cv
    size: float = 0.2  # holdout: share of the development rows used for validation
    folds: int = 5  # cv: number of folds


@dataclass
class LeaderboardSchema:
    dir: str = "leaderboards"  # where the CSV and Markdown leaderboards go
    show: bool = True  # print them in the terminal


@dataclass
class Schema:
    dataset: Any = MISSING
    model: Any = MISSING
    search: SearchSchema = field(default_factory=SearchSchema)
    trial: TrialSchema = field(default_factory=TrialSchema)
    sampler: Any = MISSING
    pruner: Any = MISSING
    validation: ValidationSchema = field(default_factory=ValidationSchema)
    split: SplitSchema = field(default_factory=SplitSchema)
    leaderboard: LeaderboardSchema = field(default_factory=LeaderboardSchema)
    seed: int = 0
    metric: str = "auto"
    output_dir: str = "results"
    storage: str | None = None
    threads: int = 0
    device: str = "auto"
    progress: bool = True
    skip_inapplicable: bool = False
    data_dir: str | None = None
    worker: int = 0  # jobs equal but for this are workers of one study: sweep worker=0,1,2,3


def store(registry: Registry) -> None:
    """Put the schema and one node per registered model and dataset into Hydra's ConfigStore, and
    let the config name the default comparison as ``${automl.default_models:}``."""
    names = ",".join(registry.default_comparison()) or ",".join(registry.names("model"))
    OmegaConf.register_new_resolver("automl.default_models", lambda: names, replace=True)
    cs = ConfigStore.instance()
    cs.store(name="automl_schema", node=Schema)
    for model in registry.models():
        params = model.initial_params()
        space = {name: to_config(p) for name, p in model.space.items()}
        cs.store(
            group="model",
            name=model.name,
            node={"name": model.name, "params": params, "space": space},
        )
    for dataset in registry.datasets():
        cs.store(group="dataset", name=dataset.name, node={"name": dataset.name, **dataset.options})


def experiment(cfg: Any, command: str | None = None) -> Experiment:
    """The plain values of one job's composed config; ``command`` is what re-runs it."""
    c = {
        key: OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value
        for key, value in cfg.items()
        if key != "hydra"  # the job's own settings: not part of the experiment
    }
    dataset = dict(c["dataset"])
    model = c["model"]
    validation = c["validation"]
    return Experiment(
        dataset=dataset.pop("name"),
        dataset_options=dataset,
        model=model["name"],
        params=model.get("params", {}),
        space=model.get("space", {}),
        metric=c["metric"],
        split=SplitConfig(
            test_size=c["split"]["test_size"],
            stratify=c["split"]["stratify"],
            validation=validation["method"],
            validation_size=validation["size"],
            folds=validation["folds"],
            seed=c["seed"],
        ),
        seed=c["seed"],
        n_trials=c["search"]["n_trials"],
        timeout=c["search"]["timeout"],
        threads=c["threads"],
        device=c["device"],
        sampler=c["sampler"],
        pruner=c["pruner"],
        storage=c["storage"] or default_url(c["output_dir"]),
        progress=c["progress"],
        isolation=c["trial"]["isolation"],
        trial_timeout=c["trial"]["timeout"],
        memory=c["trial"]["memory"],
        heartbeat=c["trial"]["heartbeat"],
        command=command,
        resolved={**c, "storage": redact(c["storage"]) if c["storage"] else None},
    )
