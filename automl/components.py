"""Optuna's samplers and pruners, built from their configs with one clear error when they cannot be."""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from typing import Any

from hydra.utils import instantiate

from automl.errors import UserError

# Optuna imports these only when a sampler first needs them, in the middle of a study.
SAMPLER_NEEDS = {"CmaEsSampler": ("cmaes",), "GPSampler": ("torch", "scipy")}


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
