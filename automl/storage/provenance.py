"""What a result was made with: the versions of the harness, its plugins and key libraries."""

from __future__ import annotations

import platform
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, entry_points, version

from automl._version import __version__

LIBRARIES = (
    "optuna",
    "scikit-learn",
    "numpy",
    "pandas",
    "torch",
    "lightgbm",
    "hydra-core",
    "pluggy",
)


@lru_cache(maxsize=1)
def versions() -> dict[str, str]:
    """``{"automl": ..., "python": ..., <library>: ..., "plugin:<name>": "<package> <version>"}``."""
    found = {"automl": __version__, "python": platform.python_version()}
    for library in LIBRARIES:
        try:
            found[library] = version(library)
        except PackageNotFoundError:
            continue
    for ep in entry_points(group="automl"):
        package = f"{ep.dist.name} {ep.dist.version}" if ep.dist else "?"
        found[f"plugin:{ep.name}"] = package
    return found
