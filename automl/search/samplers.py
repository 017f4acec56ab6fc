"""Samplers and pruners: everything about them is here, so that a new one is one place.

A sampler or pruner is a Hydra config with a ``_target_`` (``conf/sampler/``, ``conf/pruner/``).
:func:`build` makes one with Optuna's own checks of its arguments and a clear error for a missing
optional package; :func:`for_study` picks a study's sampler (brute force for a small finite space)
and wraps it for crash-safe resume, reseeding it per trial where its only state is its random
generator (``RESEEDABLE``).
"""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import optuna
from hydra.utils import get_class, instantiate
from optuna.samplers import BaseSampler

from automl.plugin.errors import UserError
from automl.search.recovery import Reseeded

if TYPE_CHECKING:
    from automl.plugin.space import SearchSpace
    from automl.settings.experiment import Experiment

# Optuna imports these only when a sampler first needs them, in the middle of a study.
SAMPLER_NEEDS = {"CmaEsSampler": ("cmaes",), "GPSampler": ("torch", "scipy")}
# Samplers whose only state is their random generator, so that a fresh one per trial loses nothing.
# QMC's low-discrepancy sequence needs one fixed seed; other samplers keep their one instance.
RESEEDABLE = ("TPESampler", "RandomSampler", "CmaEsSampler", "GPSampler", "BruteForceSampler")


def build(kind: str, config: Mapping[str, Any]) -> Any:
    """The ``kind`` (sampler or pruner) that ``config`` describes, with Optuna's own checks."""
    target = str(config.get("_target_", "?"))
    for module in SAMPLER_NEEDS.get(target.rsplit(".", 1)[-1], ()):
        if importlib.util.find_spec(module) is None:
            raise UserError(
                f"the {kind} {target} needs the '{module}' package: pip install {module}"
            )
    try:
        return instantiate(dict(config))
    except Exception as error:
        raise UserError(f"cannot create the {kind} {target}: {error}".splitlines()[0]) from None


def _sampler_class(config: Mapping[str, Any]) -> Any:
    """The sampler's class when its config is flat (no nested objects to build), else None."""
    if any(isinstance(v, Mapping) for v in config.values()):
        return None
    try:
        return get_class(str(config["_target_"]))
    except Exception:
        return None


def for_study(space: SearchSpace, exp: Experiment) -> tuple[int, BaseSampler]:
    """The trial budget and the sampler for this study.

    All parameters fixed: a single fit. A finite space no larger than the budget: every
    configuration once, by brute force. With a seed, trial k draws from the sampler seeded with
    seed + k (see automl.search.recovery), so a resumed or extended study proposes what an
    uninterrupted one would have.
    """
    # A sampler config without a seed takes the experiment's (the CLI's config sets it from
    # ``seed`` already; this covers ``Experiment`` built in code). ``seed: null`` stays unseeded.
    seed = exp.sampler.get("seed", exp.seed)
    if space.is_empty():
        single = build("sampler", exp.sampler)
        return 1, Reseeded(lambda s: single, None)
    size = space.size()
    if size is not None and size <= exp.n_trials:

        def make(s: int | None) -> BaseSampler:
            with warnings.catch_warnings():  # experimental in Optuna 5, and the tool for this
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.samplers.BruteForceSampler(seed=s)

        budget, kind = size, "BruteForceSampler"
    else:
        kind_of = _sampler_class(exp.sampler)

        def make(s: int | None) -> BaseSampler:
            if kind_of is None:
                return build("sampler", {**exp.sampler, "seed": s})
            # Hydra's instantiate costs about 5 ms, once per trial here: call the class directly.
            return kind_of(
                **{k: v for k, v in exp.sampler.items() if k not in ("_target_", "seed")}, seed=s
            )

        budget, kind = exp.n_trials, str(exp.sampler.get("_target_", "")).rsplit(".", 1)[-1]
    if seed is None or kind not in RESEEDABLE:
        single = make(seed)
        return budget, Reseeded(lambda s: single, None)  # one sampler; trials still get owners
    return budget, Reseeded(make, int(seed))
