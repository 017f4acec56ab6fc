"""The core's layers, read from its source: no import cycles, views that never reach the fitting
stack, plugins that need only ``automl``, and a study identity derived from the problem alone."""

from __future__ import annotations

import ast
import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from automl.experiment import BUDGET, EXECUTION, PROBLEM, Experiment, fields_of
from automl.split import SplitConfig
from automl.study import _digest
from tests.conftest import ROOT

CORE = ROOT / "automl"
VIEWS = (
    "leaderboard",
    "compare",
    "report",
    "figures",
    "rebuild",
    "records",
    "publish",
    "evidence",
    "intervals",
)
FITTING = {"study", "isolation", "fitting", "evaluate", "preprocess", "winner", "explain"}
FITTING_LIBRARIES = {"sklearn", "torch", "lightgbm"}


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in it (functions and TYPE_CHECKING blocks too), as
    ``automl.x`` for the core's modules and the top-level name for others."""
    modules = {p.stem for p in CORE.glob("*.py")}
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {alias.name if alias.name.startswith("automl.") else alias.name.split(".")[0]
                    for alias in node.names}  # fmt: skip
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "automl":  # a submodule, or a name from the package itself
                out |= {f"automl.{a.name}" if a.name in modules else "automl.__init__"
                        for a in node.names}  # fmt: skip
            elif node.module.startswith("automl."):
                out.add(".".join(node.module.split(".")[:2]))
            else:
                out.add(node.module.split(".")[0])
    return out


def _graph() -> dict[str, set[str]]:
    return {f"automl.{p.stem}": _imports(p) for p in CORE.glob("*.py")}


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


@pytest.mark.parametrize("view", VIEWS)
def test_views_never_reach_the_fitting_stack(view) -> None:
    graph = _graph()
    reached, todo = set(), [f"automl.{view}"]
    while todo:
        module = todo.pop()
        for imported in graph.get(module, set()) - reached:
            reached.add(imported)
            todo.append(imported)
    fitting = {m for m in reached if m.removeprefix("automl.") in FITTING} | (
        reached & FITTING_LIBRARIES
    )
    assert not fitting, f"automl.{view} reaches {sorted(fitting)}"


def test_plugins_import_only_automl() -> None:
    plugins = [*(ROOT / "plugins").rglob("*.py"), *(ROOT / "examples").rglob("*.py")]
    for path in plugins:
        core = {m for m in _imports(path) if m.startswith("automl.")}
        assert core <= {"automl.__init__"}, f"{path.relative_to(ROOT)} imports {sorted(core)}"


def _imported_by(code: str) -> set[str]:
    """The top-level packages a fresh interpreter has imported after running ``code``."""
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys; print(' '.join(sys.modules))"],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    return {name.split(".")[0] for name in out.stdout.split()}


def test_the_command_starts_its_worker_before_importing_the_harness() -> None:
    """automl.start spawns the worker after importing only automl.isolation, so that the worker's
    imports overlap the command's own: nothing of Hydra, pandas or a fitting library first."""
    heavy = {"hydra", "omegaconf", "pandas", "sqlalchemy"} | FITTING_LIBRARIES | {"scipy"}
    assert not _imported_by("import automl.isolation") & heavy


def test_the_command_starts_without_the_fitting_libraries() -> None:
    """The command's own process, plugins loaded, has imported no fitting library: its fits run in
    the worker, which imports them meanwhile; the harness would only wait for a second copy."""
    code = "import automl.cli, automl.plugins; automl.plugins.load_registry()"
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
    budgeted = dataclasses.replace(base, split=SplitConfig(budget=60.0))
    assert _digest(base.identity()) == _digest(budgeted.identity())


@pytest.mark.parametrize("name", [f.name for f in dataclasses.fields(Experiment)])
def test_the_study_name_changes_with_the_problem_and_only_with_it(name) -> None:
    base = Experiment(dataset="iris", model="svm", storage="x.journal")
    changed = dataclasses.replace(base, **{name: CHANGED[name]})
    differs = _digest(base.identity()) != _digest(changed.identity())
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
    assert _digest({**exp.identity(), "data": "abc"}) == "764b96f118"  # as computed by 0.1.0
