"""The core's layers, read from its source: no import cycles, views that never reach the fitting
stack, plugins that need only ``automl``, and a study identity derived from the problem alone."""

from __future__ import annotations

import ast
import dataclasses
import os
import subprocess
import sys
from functools import lru_cache
from importlib.metadata import entry_points, packages_distributions
from pathlib import Path

import pytest

from automl.plugin.manager import DISABLE_ENV, EXTRA_ENV
from automl.search.study import digest
from automl.settings.experiment import BUDGET, EXECUTION, PROBLEM, Experiment, fields_of
from automl.settings.split import SplitConfig
from tests.conftest import ROOT

CORE = ROOT / "automl"
# The layers of the core, one folder each, lowest first. A module imports modules of its own layer
# and of lower ones only; layers on one line are siblings, which import neither each other.
ORDER = (
    ("plugin",),
    ("settings", "storage"),
    ("views", "fitting"),
    ("search",),
    ("config",),
    ("commands",),
)
RANK = {layer: rank for rank, layers in enumerate(ORDER) for layer in layers}
# The only modules at the top: the public API and its version (a leaf every layer may read).
TOP = {"automl.__init__", "automl._version"}


def _fitting_libraries() -> set[str]:
    """The modules of the libraries that fit: scikit-learn (the core's fitting stack) and every
    library a registered learner declares (``Model.libraries``), as their distributions name
    their top-level modules."""
    from automl.plugin.manager import load_registry

    declared = {"scikit-learn"} | {name for m in load_registry().models() for name in m.libraries}
    found = {module for module, dists in packages_distributions().items() if declared & set(dists)}
    return found


FITTING_LIBRARIES = _fitting_libraries()


@lru_cache(maxsize=1)
def _modules() -> dict[str, Path]:
    """Every module of the core by dotted name (``automl.fitting.fitter``; a package's own
    ``__init__`` as ``automl.fitting.__init__``)."""
    return {
        ".".join(("automl", *path.relative_to(CORE).with_suffix("").parts)): path
        for path in CORE.rglob("*.py")
    }


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in it (functions and TYPE_CHECKING blocks too), as
    its dotted name for the core's modules and the top-level name for others."""
    known = set(_modules())
    out: set[str] = set()

    def core(name: str) -> str:
        """The core module a dotted import names (a name imported from a module is that module)."""
        while name not in known and f"{name}.__init__" not in known and "." in name:
            name = name.rpartition(".")[0]
        return name if name in known else f"{name}.__init__"

    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {core(a.name) if a.name.startswith("automl") else a.name.split(".")[0]
                    for a in node.names}  # fmt: skip
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "automl" or node.module.startswith("automl."):
                out |= {core(f"{node.module}.{a.name}") for a in node.names}
            else:
                out.add(node.module.split(".")[0])
    return out


@lru_cache(maxsize=1)
def _graph() -> dict[str, set[str]]:
    return {name: _imports(path) for name, path in _modules().items()}


def _layer(module: str) -> str | None:
    """The layer folder of a core module; None at the top."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 else None


def test_every_module_lives_in_a_layer_folder() -> None:
    modules = set(_modules())
    assert {m for m in modules if _layer(m) is None} == TOP
    folders = {p.name for p in CORE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders == set(RANK), "a new folder of automl/ takes its place in ORDER"
    for layer in folders:  # each says what it owns, module by module, and is only that
        init = ast.parse((CORE / layer / "__init__.py").read_text())
        said = ast.get_docstring(init) or ""
        assert said, f"automl/{layer}/__init__.py has no docstring"
        assert len(init.body) == 1, f"automl/{layer}/__init__.py holds more than its docstring"
        for path in (CORE / layer).glob("*.py"):
            if path.stem != "__init__":
                assert f"``{path.stem}``" in said, f"automl/{layer}/__init__.py omits {path.stem}"


def test_the_architecture_page_names_every_folder_and_module() -> None:
    """docs/architecture.md is the folders' description: it cannot drift from them."""
    page = (ROOT / "docs" / "architecture.md").read_text()
    order = "  <  ".join(", ".join(layers) for layers in ORDER)
    assert order in page, f"docs/architecture.md does not give the order {order}"
    for module in _modules():
        layer = _layer(module)
        if layer is None or module.endswith(".__init__"):
            continue
        path = f"{layer}/{module.rpartition('.')[2]}.py"
        assert f"`{path}`" in page, f"docs/architecture.md does not say what {path} owns"


def test_the_core_has_no_import_cycle() -> None:
    graph = _graph()
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            cycle = path[path.index(module) :] + [module]
            pytest.fail("import cycle: " + " -> ".join(cycle))
        if module in done or module not in graph:
            return
        for imported in sorted(graph[module]):
            visit(imported, [*path, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])


@pytest.mark.parametrize("module", sorted(m for m in _modules() if _layer(m)))
def test_a_module_imports_only_its_own_layer_and_lower_ones(module) -> None:
    own = _layer(module)
    for imported in _graph()[module]:
        if not imported.startswith("automl.") or imported == "automl._version":
            continue
        layer = _layer(imported)
        allowed = layer == own or (layer is not None and RANK[layer] < RANK[own])
        assert allowed, f"{module} ({own}) imports {imported} ({layer or 'the top'})"


@pytest.mark.parametrize("view", sorted(m for m in _modules() if _layer(m) == "views"))
def test_views_never_reach_the_fitting_stack(view) -> None:
    graph = _graph()
    reached, todo = set(), [view]
    while todo:
        module = todo.pop()
        for imported in graph.get(module, set()) - reached:
            reached.add(imported)
            todo.append(imported)
    fitting = {m for m in reached if _layer(m) in ("fitting", "search")} | (
        reached & FITTING_LIBRARIES
    )
    assert not fitting, f"{view} reaches {sorted(fitting)}"


def test_plugins_import_only_automl() -> None:
    plugins = [*(ROOT / "plugins").rglob("*.py"), *(ROOT / "examples").rglob("*.py")]
    for path in plugins:
        core = {m for m in _imports(path) if m.startswith("automl.")}
        assert core <= {"automl.__init__"}, f"{path.relative_to(ROOT)} imports {sorted(core)}"


def _imported_by(code: str) -> set[str]:
    """The top-level packages a fresh interpreter has imported after running ``code``, with the
    built-in plugins only: a third-party plugin installed here may import what it likes when it
    loads (it costs the command its own time, not the harness's)."""
    theirs = [ep.name for ep in entry_points(group="automl")
              if ep.dist is None or ep.dist.name != "automl-harness"]  # fmt: skip
    env = {**os.environ, DISABLE_ENV: ",".join(theirs)}
    env.pop(EXTRA_ENV, None)
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys; print(' '.join(sys.modules))"],
        capture_output=True, text=True, check=True, cwd=ROOT, env=env,
    )  # fmt: skip
    return {name.split(".")[0] for name in out.stdout.split()}


def test_the_command_starts_its_worker_before_importing_the_harness() -> None:
    """automl.commands.start spawns the worker after importing only automl.fitting.isolation, so
    that the worker's imports overlap the command's own: nothing of Hydra, pandas or a fitting
    library first."""
    heavy = {"hydra", "omegaconf", "pandas", "sqlalchemy"} | FITTING_LIBRARIES | {"scipy"}
    assert not _imported_by("import automl.fitting.isolation") & heavy


def test_the_command_starts_without_the_fitting_libraries() -> None:
    """The command's own process, plugins loaded, has imported no fitting library: its fits run in
    the worker, which imports them meanwhile; the harness would only wait for a second copy."""
    code = (
        "import automl.commands.cli, automl.plugin.manager; automl.plugin.manager.load_registry()"
    )
    assert not _imported_by(code) & (FITTING_LIBRARIES | {"scipy"})


def test_every_field_of_an_experiment_has_one_part() -> None:
    parts = {f.name: f.metadata["part"] for f in dataclasses.fields(Experiment)}
    assert set(parts.values()) == {PROBLEM, BUDGET, EXECUTION}
    assert {f.name for f in fields_of(BUDGET)} == {"n_trials", "timeout"}


# A value unlike the default for every field, to change one at a time.
CHANGED = {
    "dataset": "wine",
    "model": "linear",
    "storage": "other.journal",
    "dataset_options": {"path": "x.csv"},
    "params": {"C": 1.0},
    "space": {"C": {"low": 0.1}},
    "metric": "f1",
    "split": SplitConfig(test_size=0.3),
    "seed": 7,
    "n_trials": 99,
    "timeout": 12.0,
    "threads": 3,
    "population": 4,
    "device": "cpu",
    "final": "refit",
    "sampler": {"_target_": "optuna.samplers.RandomSampler"},
    "pruner": {"_target_": "optuna.pruners.MedianPruner"},
    "progress": False,
    "isolation": "subprocess",
    "trial_timeout": 5.0,
    "memory": 100.0,
    "heartbeat": 5,
    "command": "automl seed=7",
    "resolved": {"seed": 7},
    "keep_predictions": True,
    "budgeted": True,
    "artifacts": "elsewhere",
}


def test_a_budget_only_chooses_the_validation_and_is_not_the_problem() -> None:
    base = Experiment(dataset="iris", model="svm", storage="x.journal")
    budgeted = dataclasses.replace(base, split=SplitConfig(seconds=60.0))
    assert digest(base.identity()) == digest(budgeted.identity())


@pytest.mark.parametrize("name", [f.name for f in dataclasses.fields(Experiment)])
def test_the_study_name_changes_with_the_problem_and_only_with_it(name) -> None:
    base = Experiment(dataset="iris", model="svm", storage="x.journal")
    changed = dataclasses.replace(base, **{name: CHANGED[name]})
    differs = digest(base.identity()) != digest(changed.identity())
    assert differs is (name in PROBLEM_FIELDS), name


# What defines a problem, written out here so that a field put in the wrong part fails the test.
PROBLEM_FIELDS = {"dataset", "dataset_options", "model", "params", "space", "metric", "split",
                  "seed", "sampler", "pruner", "budgeted"}  # fmt: skip


def test_a_stored_study_is_found_again_by_name() -> None:
    """The identity is the one earlier versions stored: their studies resume, not start over."""
    exp = Experiment(
        dataset="iris", model="svm", storage="x.journal", dataset_options={"a": [1, 2]},
        params={"C": 1, "kernel": "search"}, space={"C": {"low": 0.1, "high": 10, "log": True}},
        metric="accuracy", split=SplitConfig(test_size=0.3), seed=3,
        sampler={"_target_": "optuna.samplers.TPESampler", "seed": 3},
        pruner={"_target_": "optuna.pruners.MedianPruner"},
    )  # fmt: skip
    assert digest({**exp.identity(), "data": "abc"}) == "764b96f118"  # as computed by 0.1.0
