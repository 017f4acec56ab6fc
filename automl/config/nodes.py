"""Config nodes generated from what plugins register, beside the schema (automl/schema.py).

Every registered model becomes a choice ``model=<name>`` whose ``params`` list each hyperparameter
(its fixed value, or ``search``) and whose ``space`` lists each range, so any of them can be changed
from the command line without ``+``. Every dataset becomes ``dataset=<name>`` with its options. The
plugin's own declaration is the single source of truth; nothing about a model is repeated in YAML.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

from automl.plugin.registry import Registry
from automl.plugin.space import to_config
from automl.settings.experiment import Experiment
from automl.settings.schema import Schema
from automl.settings.split import SplitConfig
from automl.storage.urls import default_url, redact


def store(registry: Registry) -> None:
    """Put the schema and one node per registered model and dataset into Hydra's ConfigStore, and
    let the config name the default comparison as ``${automl.default_models:}``."""
    names = ",".join(registry.default_comparison())
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
            repeats=validation["repeats"],
            seed=c["seed"],
        ),
        seed=c["seed"],
        n_trials=c["search"]["n_trials"],
        timeout=c["search"]["timeout"],
        population=c["search"]["population"],
        threads=c["threads"],
        device=c["device"],
        final=c["final"],
        sampler=c["sampler"],
        pruner=c["pruner"],
        storage=c["storage"] or default_url(c["output_dir"]),
        progress=c["progress"],
        isolation=c["trial"]["isolation"],
        artifacts=str(Path(c["output_dir"]) / "artifacts"),  # the refit's model and evidence
        trial_timeout=c["trial"]["timeout"],
        memory=c["trial"]["memory"],
        heartbeat=c["trial"]["heartbeat"],
        command=command,
        resolved={**c, "storage": redact(c["storage"]) if c["storage"] else None},
    )


def experiments(cfg: Any, registry: Registry, command: str | None = None) -> list[Experiment]:
    """Budget mode: one experiment per learner of the job (``learners``, or the default
    comparison), each with the model's own parameters and space, as ``model=<name>`` gives them,
    keeping the predictions an ensemble needs."""
    base = experiment(cfg, command)
    names = list(cfg.learners or registry.default_comparison())
    out = []
    for name in names:
        model = registry.model(name)
        out.append(
            replace(
                base,
                model=name,
                params=model.initial_params(),
                space={k: to_config(p) for k, p in model.space.items()},
                split=replace(base.split, seconds=cfg.budget),
                timeout=None,  # the budget ends the search
                budgeted=True,
                keep_predictions=True,
                artifacts=str(Path(cfg.output_dir) / "artifacts"),
            )
        )
    return out
