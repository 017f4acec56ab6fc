"""Each hook, exercised through throwaway plugins registered into a real plugin manager."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import numpy as np
import pytest

from automl import Data, Dataset, Metric, Model, Task, __version__, hookimpl
from automl.plugin import hookspecs
from automl.plugin.errors import UserError
from automl.plugin.manager import packages, plugin_manager
from automl.plugin.registry import collect
from automl.plugin.task import ALL_TASKS


def _with(plugin: object) -> object:
    pm = plugin_manager()
    pm.register(plugin, name="throwaway")
    try:
        return collect(pm)
    finally:
        pm.unregister(name="throwaway")


def test_register_datasets_adds_a_dataset() -> None:
    class Plugin:
        @hookimpl
        def register_datasets(self, register):
            register(Dataset("ones", lambda: Data(X=np.ones((4, 1)), y=np.array([0, 1, 0, 1]))))

    registry = _with(Plugin())
    data = registry.dataset("ones").load()
    assert data.X.shape == (4, 1)
    assert registry.owner("dataset", "ones") == "throwaway"


def test_register_models_adds_a_model() -> None:
    class Plugin:
        @hookimpl
        def register_models(self, register):
            register(
                Model("mean", lambda params, context: None, tasks=frozenset({Task.REGRESSION}))
            )

    registry = _with(Plugin())
    assert registry.model("mean").tasks == {Task.REGRESSION}
    assert "svm" in registry.names("model")  # the built-ins are still there


def test_register_metrics_adds_a_metric() -> None:
    class Plugin:
        @hookimpl
        def register_metrics(self, register):
            register(
                Metric(
                    "max_error",
                    lambda y, p: float(np.max(np.abs(y - p))),
                    "minimize",
                    frozenset({Task.REGRESSION}),
                    needs="value",
                )
            )

    registry = _with(Plugin())
    metric = registry.metric_for("max_error", Task.REGRESSION)
    assert metric.score(np.array([1.0, 2.0]), np.array([1.5, 2.0])) == 0.5


def test_a_name_taken_twice_names_both_plugins() -> None:
    class Plugin:
        @hookimpl
        def register_models(self, register):
            register(Model("svm", lambda params, context: None))

    with pytest.raises(
        UserError,
        match="plugin 'throwaway' registers model 'svm', which plugin "
        "'classical' already registered",
    ):
        _with(Plugin())

    pm = plugin_manager()
    pm.register(Plugin(), name="throwaway")
    with pytest.raises(UserError) as error:
        collect(pm, {**packages(pm), "throwaway": "svm-plus 1.2"})
    assert str(error.value) == (
        "plugin 'throwaway' (from svm-plus 1.2) registers model 'svm', which plugin 'classical' "
        f"(from automl-harness {__version__}) already registered"
    )


def test_an_implementation_may_take_fewer_arguments_than_the_spec() -> None:
    calls = []

    class Plugin:
        @hookimpl
        def register_metrics(self):
            calls.append(True)

    _with(Plugin())
    assert calls == [True]


def test_a_plugin_that_raises_in_a_hook_is_skipped_with_a_warning(caplog) -> None:
    class Plugin:
        @hookimpl
        def register_models(self, register):
            register(Model("half_done", lambda params, context: None))
            raise RuntimeError("no licence server")

    pm = plugin_manager()
    pm.register(Plugin(), name="broken")
    registry = collect(pm, {"broken": "broken-automl 2.0"})
    assert "plugin 'broken' (from broken-automl 2.0) raised in register_models" in caplog.text
    assert "RuntimeError: no licence server" in caplog.text
    assert "half_done" not in registry.names("model")  # nothing of the failed call is kept
    assert "svm" in registry.names("model")  # and everything else still works


def test_a_plugin_that_fails_to_import_is_skipped_with_a_warning(monkeypatch, caplog) -> None:
    monkeypatch.setenv("AUTOML_PLUGINS", "automl_no_such_plugin")
    pm = plugin_manager()
    assert "plugin module 'automl_no_such_plugin' (from AUTOML_PLUGINS) failed to import" in (
        caplog.text
    )
    assert pm.has_plugin("classical") and not pm.has_plugin("automl_no_such_plugin")


def test_plugins_can_be_disabled_for_debugging(monkeypatch) -> None:
    monkeypatch.setenv("AUTOML_DISABLE_PLUGINS", "torch, metrics")
    pm = plugin_manager()
    assert not pm.has_plugin("torch") and not pm.has_plugin("metrics")
    assert "mlp" not in collect(pm).names("model")


def test_unknown_names_list_what_is_available(registry) -> None:
    with pytest.raises(UserError, match=r"unknown model 'nope'; available: .*lightgbm.*svm"):
        registry.model("nope")


def test_every_task_has_a_default_metric(registry) -> None:
    for task in ALL_TASKS:
        assert task in registry.default_metric(task).tasks


HOOKS = [
    name
    for name, _ in inspect.getmembers(hookspecs, inspect.isfunction)
    if name.startswith("register_")
]


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented_and_tested(hook: str) -> None:
    assert inspect.getdoc(getattr(hookspecs, hook)), f"{hook} has no docstring"
    tests = Path(__file__).read_text()
    assert re.search(rf"def test_{hook}_", tests), f"{hook} has no test in {Path(__file__).name}"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_in_the_plugin_reference(hook: str) -> None:
    args = ", ".join(inspect.signature(getattr(hookspecs, hook)).parameters)
    guide = (Path(__file__).parents[1] / "docs" / "plugins.md").read_text()
    assert f"### `{hook}({args})`" in guide, f"docs/plugins.md does not document {hook}({args})"
