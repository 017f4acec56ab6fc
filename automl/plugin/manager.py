"""The plugin manager: built-in and third-party plugins alike come from the entry-point group."""

from __future__ import annotations

import importlib
import logging
import os
from functools import lru_cache
from importlib.metadata import entry_points

import pluggy

from automl.plugin import hookspecs
from automl.plugin.registry import Registry, collect

GROUP = "automl"
DISABLE_ENV = "AUTOML_DISABLE_PLUGINS"  # comma-separated entry-point names to skip, for debugging
EXTRA_ENV = "AUTOML_PLUGINS"  # comma-separated modules to load as plugins too, without installing

log = logging.getLogger(__name__)


def plugin_manager() -> pluggy.PluginManager:
    """A manager holding every installed plugin that imports; one that fails is skipped, loudly."""
    pm = pluggy.PluginManager(GROUP)
    pm.add_hookspecs(hookspecs)
    disabled = {name.strip() for name in os.environ.get(DISABLE_ENV, "").split(",") if name.strip()}
    for ep in entry_points(group=GROUP):
        if ep.name in disabled or pm.has_plugin(ep.name):
            continue
        package = f"{ep.dist.name} {ep.dist.version}" if ep.dist else "an unknown package"
        try:
            plugin = ep.load()
        except Exception as error:  # a broken plugin must not take the others down
            log.warning("plugin '%s' (from %s) failed to import: %s", ep.name, package, error)
            continue
        pm.register(plugin, name=ep.name)
    for module in os.environ.get(EXTRA_ENV, "").split(","):
        if module.strip() and not pm.has_plugin(module.strip()):
            try:
                plugin = importlib.import_module(module.strip())
            except Exception as error:
                log.warning(
                    "plugin module '%s' (from %s) failed to import: %s", module, EXTRA_ENV, error
                )
                continue
            pm.register(plugin, name=module.strip())
    return pm


def origins(pm: pluggy.PluginManager) -> dict[str, tuple[str, str]]:
    """Each loaded plugin's package and version, by plugin name."""
    found = {
        ep.name: (ep.dist.name, ep.dist.version) if ep.dist else ("an unknown package", "")
        for ep in entry_points(group=GROUP)
    }
    return {
        name: found.get(name, (f"module {name} ({EXTRA_ENV})", ""))
        for name, _ in pm.list_name_plugin()
        if name is not None
    }


def packages(pm: pluggy.PluginManager) -> dict[str, str]:
    """Each loaded plugin's "package version", by plugin name: for messages."""
    return {
        name: f"{package} {version}".strip() for name, (package, version) in origins(pm).items()
    }


@lru_cache(maxsize=1)
def load_registry() -> Registry:
    """The registry of everything the installed plugins provide, built once per process."""
    pm = plugin_manager()
    return collect(pm, packages(pm))


def describe() -> list[dict[str, str]]:
    """One row per loaded plugin: its name, package, version and what it registers."""
    pm = plugin_manager()
    known = collect(pm, packages(pm))
    return [
        {
            "plugin": name,
            "package": package,
            "version": version,
            **{f"{kind}s": ", ".join(names) or "-" for kind, names in known.owned_by(name).items()},
        }
        for name, (package, version) in sorted(origins(pm).items())
    ]
