"""The whole plugin API: three hooks, each handed a ``register`` callback.

A plugin is a module (or object) with functions marked ``@automl.hookimpl`` and named like the
specifications below. The host calls every implementation; each calls ``register`` once per thing it
provides. Because plugins call back instead of returning values, ``register`` can later accept new
keyword arguments without breaking existing plugins, and pluggy lets an implementation take fewer
arguments than its specification.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pluggy import HookspecMarker

if TYPE_CHECKING:
    from collections.abc import Callable

    from automl.plugin.types import Dataset, Metric, Model

hookspec = HookspecMarker("automl")


@hookspec
def register_datasets(register: Callable[[Dataset], None]) -> None:
    """Register datasets: call ``register(Dataset(...))`` once for each.

    Args:
        register: adds one :class:`automl.Dataset`; a name already taken is an error that names
            both plugins. Every implementation is called.
    """


@hookspec
def register_models(register: Callable[[Model], None]) -> None:
    """Register learners: call ``register(Model(...))`` once for each, with its search space.

    Args:
        register: adds one :class:`automl.Model`; a name already taken is an error that names
            both plugins. Every implementation is called.
    """


@hookspec
def register_metrics(register: Callable[[Metric], None]) -> None:
    """Register metrics: call ``register(Metric(...))`` once for each, with its direction.

    Args:
        register: adds one :class:`automl.Metric`; a name already taken is an error that names
            both plugins. Every implementation is called.
    """
