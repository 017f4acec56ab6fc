"""The registry: everything the loaded plugins registered, by kind and name, with its owner."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from automl.plugin.errors import UserError, choose
from automl.plugin.task import Task
from automl.plugin.types import Dataset, Metric, Model

if TYPE_CHECKING:
    import pluggy


log = logging.getLogger(__name__)
KINDS = ("dataset", "model", "metric")


class Registry:
    """Everything the loaded plugins registered, by kind and name, with the plugin that owns it."""

    def __init__(self, packages: Mapping[str, str] | None = None) -> None:
        self._items: dict[str, dict[str, Any]] = {kind: {} for kind in KINDS}
        self._owners: dict[tuple[str, str], str] = {}
        self._packages = dict(packages or {})  # plugin name -> "package version", for messages
        self._said: set[str] = set()  # what was said once of a model that cannot run here

    def _named(self, plugin: str) -> str:
        package = self._packages.get(plugin)
        return f"plugin '{plugin}'" + (f" (from {package})" if package else "")

    def add(self, kind: str, item: Dataset | Model | Metric, plugin: str) -> None:
        key = (kind, item.name)
        if key in self._owners:
            raise UserError(
                f"{self._named(plugin)} registers {kind} '{item.name}', "
                f"which {self._named(self._owners[key])} already registered"
            )
        self._items[kind][item.name] = item
        self._owners[key] = plugin

    def names(self, kind: str) -> list[str]:
        return sorted(self._items[kind])

    def owned_by(self, plugin: str) -> dict[str, list[str]]:
        """What ``plugin`` registered: names by kind."""
        return {
            kind: sorted(
                n for (k, n), owner in self._owners.items() if k == kind and owner == plugin
            )
            for kind in KINDS
        }

    def owner(self, kind: str, name: str) -> str:
        return self._owners[(kind, name)]

    def get(self, kind: str, name: str) -> Any:
        try:
            return self._items[kind][name]
        except KeyError:
            raise choose(kind, name, self.names(kind)) from None

    def dataset(self, name: str) -> Dataset:
        return self.get("dataset", name)

    def model(self, name: str) -> Model:
        return self.get("model", name)

    def metric(self, name: str) -> Metric:
        return self.get("metric", name)

    def datasets(self) -> list[Dataset]:
        return list(self._items["dataset"].values())

    def models(self) -> list[Model]:
        return list(self._items["model"].values())

    def default_comparison(self) -> list[str]:
        """The models ``automl`` compares when none is named, in the order they registered: those
        that say so (every model, when none does), but for any whose library is not installed here
        (left out, saying why)."""
        named = [m for m in self.models() if m.in_default_comparison] or self.models()
        chosen = []
        for model in named:
            why = model.unavailable()
            if why is None:
                chosen.append(model.name)
            elif why not in self._said:
                self._said.add(why)
                log.warning("%s; it is left out of the default comparison", why)
        return chosen

    def metrics(self) -> list[Metric]:
        return list(self._items["metric"].values())

    def default_metric(self, task: Task) -> Metric:
        for metric in self.metrics():
            if task in metric.default_for:
                return metric
        raise UserError(f"no plugin registers a default metric for {task.value} tasks")

    def metric_for(self, name: str, task: Task) -> Metric:
        """The metric to optimise: ``auto`` is the task's default; others must suit the task."""
        if name == "auto":
            return self.default_metric(task)
        metric = self.metric(name)
        if task not in metric.tasks:
            fits = [m.name for m in self.metrics() if task in m.tasks]
            raise UserError(
                f"metric '{name}' does not apply to {task.value} tasks; "
                f"metrics for {task.value}: {', '.join(sorted(fits))}"
            )
        return metric


def collect(pm: pluggy.PluginManager, packages: Mapping[str, str] | None = None) -> Registry:
    """Call every plugin's register hooks, remembering which plugin registered what.

    A hook implementation that raises is skipped with a warning naming its plugin and package
    (``packages``: plugin name to "package version"), and nothing it registered in that call is
    kept: one broken plugin must not take the others down. A name registered twice is an error.
    """
    registry = Registry(packages)
    for kind in KINDS:
        caller = getattr(pm.hook, f"register_{kind}s")
        for impl in caller.get_hookimpls():
            plugin = impl.plugin_name
            staged: list[Any] = []
            # Pass only the arguments the implementation asks for, as pluggy itself does.
            kwargs = {"register": staged.append}
            try:
                impl.function(**{name: kwargs[name] for name in impl.argnames})
            except Exception as error:
                package = (packages or {}).get(plugin, "an unknown package")
                log.warning(
                    "plugin '%s' (from %s) raised in register_%ss and is skipped there: %s: %s",
                    plugin, package, kind, type(error).__name__, error,
                )  # fmt: skip
                continue
            for item in staged:
                registry.add(kind, item, plugin)
    return registry
