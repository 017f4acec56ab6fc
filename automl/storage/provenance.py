"""What a result was made with: the versions of the harness, its plugins and the libraries it used.

The harness's own libraries are always recorded; a learner's are those its plugin declares
(``Model.libraries``), so that the core names no learner library and a row says what made it.
"""

from __future__ import annotations

import platform
from collections.abc import Iterable
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, entry_points, version

from automl._version import __version__

# The libraries every result depends on, whatever the learner.
HARNESS = ("optuna", "scikit-learn", "numpy", "pandas", "hydra-core", "pluggy")


@lru_cache(maxsize=64)
def _versions(libraries: tuple[str, ...]) -> dict[str, str]:
    found = {"automl": __version__, "python": platform.python_version()}
    for library in dict.fromkeys((*HARNESS, *libraries)):
        try:
            found[library] = version(library)
        except PackageNotFoundError:
            continue
    for ep in entry_points(group="automl"):
        package = f"{ep.dist.name} {ep.dist.version}" if ep.dist else "?"
        found[f"plugin:{ep.name}"] = package
    return found


def versions(libraries: Iterable[str] = ()) -> dict[str, str]:
    """``{"automl": ..., "python": ..., <library>: ..., "plugin:<name>": "<package> <version>"}``:
    the harness's libraries, then ``libraries`` (a learner's own), then every installed plugin."""
    return dict(_versions(tuple(libraries)))
