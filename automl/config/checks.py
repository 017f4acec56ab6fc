"""The limits of every setting of one job, checked before any job of a command starts.

Types come from the structured schema (automl.config.nodes), which Hydra applies while composing;
what a type cannot say lives here: ranges, choices, a device that is present, a folder that can be
written, a storage URL that names a known kind, a fixed hyperparameter inside its model's domain, a
sampler and a pruner that Optuna accepts. Each failure is one :class:`UserError` naming the setting,
the value given and what is accepted.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import optuna

from automl.fitting import devices
from automl.plugin.domain import Domain, Interval, problem
from automl.plugin.errors import UserError, choose
from automl.plugin.registry import Registry
from automl.plugin.space import SEARCH, Categorical, resolve
from automl.plugin.types import Model
from automl.search import samplers
from automl.storage import urls

# The numeric settings and what each accepts: (dotted key, domain, None allowed).
POSITIVE = Interval(0, low_open=True)
# The shortest budget: the command's own start (imports, the worker, loading) takes about 5 s.
MIN_BUDGET = 10
NUMBERS: tuple[tuple[str, Domain, bool], ...] = (
    ("search.n_trials", Interval(1, integer=True), False),
    ("search.timeout", POSITIVE, True),
    ("search.population", Interval(1, integer=True), False),
    ("seed", Interval(0, 2**32 - 1, integer=True), False),  # numpy's and torch's seed range
    ("threads", Interval(0, integer=True), False),
    ("worker", Interval(0, integer=True), False),
    ("split.test_size", Interval(0, 1, low_open=True, high_open=True), False),
    ("validation.size", Interval(0, 1, low_open=True, high_open=True), False),
    ("validation.folds", Interval(2, integer=True), False),
    ("validation.repeats", Interval(1, integer=True), False),
    ("trial.timeout", POSITIVE, True),
    ("trial.memory", POSITIVE, True),
    ("trial.heartbeat", Interval(1, integer=True), True),
    ("budget", Interval(MIN_BUDGET), True),
)
CHOICES = {
    "validation.method": ("holdout", "cv", "auto"),
    "trial.isolation": ("subprocess", "inprocess"),
    "final": ("auto", "bag", "refit"),
}


def _get(config: Mapping[str, Any], key: str) -> Any:
    value: Any = config
    for part in key.split("."):
        value = value[part]
    return value


def _typed(value: Any) -> str:
    """A setting's value as the user typed it: budget=5, not the schema's float 5.0."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else _show(value)


def _show(value: Any) -> str:
    return (
        "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    )


# What null means for a setting that accepts it, where it is not "no limit".
NULL_MEANS = {"budget": "no budget, one study per job"}


def check_numbers(config: Mapping[str, Any]) -> None:
    for key, domain, nullable in NUMBERS:
        value = _get(config, key)
        if value is None and nullable:
            continue
        why = problem(domain, value)
        if why:
            also = f" (or null for {NULL_MEANS.get(key, 'no limit')})" if nullable else ""
            raise UserError(f"{key}={_typed(value)} is not accepted: {key} {why}{also}")
    for key, accepted in CHOICES.items():
        if _get(config, key) not in accepted:
            raise choose(key, str(_get(config, key)), accepted)


def check_folder(key: str, path: str) -> None:
    """``path`` is, or can be made, a folder this process may write in (nothing is left behind)."""
    target = Path(path).expanduser().absolute()
    existing = target
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise UserError(f"{key}={path}: {existing} is a file, not a folder; give a folder path")
    try:  # access(2) says yes to root on most file systems it cannot write: try for real
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise UserError(
            f"{key}={path}: cannot write in {existing} ({reason}); give a folder you may write to"
        ) from None


def _installed(model: Model) -> None:
    """Refuse a learner whose libraries are not installed here, saying how to install them."""
    why = model.unavailable()
    if why is not None:
        raise UserError(why)


def check_model(config: Mapping[str, Any], registry: Registry) -> None:
    """A model whose libraries are installed, fixed hyperparameters inside its domains, and ranges
    that can be searched."""
    model = registry.model(config["model"]["name"])
    _installed(model)
    params = config["model"].get("params") or {}
    space = config["model"].get("space") or {}
    for name, value in params.items():
        domain = model.domain(name)
        why = None if value == SEARCH or domain is None else problem(domain, value)
        if why:
            raise UserError(
                f"model.params.{name}={_show(value)} is not accepted: {model.name}'s {name} {why}"
            )
    searched = resolve(model.space, params, space).searched  # sampleable ranges, known names
    for name, param in searched.items():
        domain = model.domains.get(name)
        if domain is None:
            continue
        ends = param.choices if isinstance(param, Categorical) else (param.low, param.high)
        for value in ends:
            why = problem(domain, value)
            if why:
                raise UserError(
                    f"model.space.{name} reaches {_show(value)}, which is not accepted: "
                    f"{model.name}'s {name} {why}"
                )


def check_budget(config: Mapping[str, Any], registry: Registry) -> None:
    """Budget mode: fits must run in the worker, the only place a fit can be stopped at its cap,
    and every learner named must exist."""
    if config["trial"]["isolation"] != "subprocess":
        raise UserError(
            "budget=... stops a fit that runs past the time left, which only the worker can do: "
            "drop trial.isolation=inprocess (accepted with a budget: trial.isolation=subprocess)"
        )
    for name in config["learners"] or []:
        _installed(registry.model(str(name)))
    if config["search"]["population"] != 1:
        raise UserError(
            f"search.population={config['search']['population']} trains trials of one study "
            "together, which a budget's one-trial-at-a-time schedule does not do: drop it with "
            "budget=... (accepted with a budget: search.population=1)"
        )


def check_job(config: Mapping[str, Any], registry: Registry) -> None:
    """Every setting of one job's resolved config (the plain values, without ``hydra``)."""
    check_numbers(config)
    options = dict(config["dataset"])
    registry.dataset(options.pop("name")).check_options(options)
    metric = config["metric"]
    if metric != "auto" and metric not in registry.names("metric"):
        raise choose("metric", str(metric), ["auto", *registry.names("metric")])
    devices.check(str(config["device"]))
    validation = config["validation"]
    if validation["repeats"] > 1 and validation["method"] == "holdout":
        raise UserError(
            f"validation.repeats={validation['repeats']} repeats the folds of cross-validation; "
            "validation=holdout has none (accepted: validation=cv or validation=auto with it)"
        )
    check_model(config, registry)
    if config["budget"] is not None:
        check_budget(config, registry)
    check_folder("output_dir", str(config["output_dir"]))
    check_folder("leaderboard.dir", str(config["leaderboard"]["dir"]))
    if config["storage"] is not None:
        url = str(config["storage"])
        folder = urls.journal_folder(url)
        if folder is None:
            urls.check_url(url)
        else:
            check_folder("storage", str(folder))
    with warnings.catch_warnings():  # "experimental" warnings belong to the run, not the check
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        samplers.build("sampler", config["sampler"])  # Optuna's own checks of their arguments
        samplers.build("pruner", config["pruner"])
