"""How a command line becomes jobs in budget mode: one job per dataset that compares every learner.

Without ``budget``, every job of the sweep is one study (a dataset and a model). With
``budget=SECONDS`` the learners share one budget, so they must run in one job: the ``model`` sweep
becomes the job's ``learners`` list (``model=a,b`` names them; otherwise the default comparison), and
unless the command line says otherwise, validation is ``auto`` and the search has no trial count of
its own (``search=budget``). The rewritten command line is what Hydra, the checks and the stored
command see, so a job re-runs on its own exactly.
"""

from __future__ import annotations

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException

from automl.plugin.errors import UserError
from automl.plugin.registry import Registry


def _parsed(args: list[str]) -> list[tuple[str, object]]:
    """(argument, its parsed override, or None for a flag or what Hydra will reject itself)."""
    out: list[tuple[str, object]] = []
    for arg in args:
        override = None
        if _is_override(arg):
            try:
                (override,) = OverridesParser.create().parse_overrides([arg])
            except HydraException:
                override = None
        out.append((arg, override))
    return out


def _values(override: object) -> list[str]:
    try:
        if override.is_sweep_override():  # type: ignore[attr-defined]
            return [str(v) for v in override.sweep_string_iterator()]  # type: ignore[attr-defined]
        value = override.value()  # type: ignore[attr-defined]
    except HydraException:
        raise UserError(
            "with budget=..., model= takes a list of learners (model=svm,knn), "
            "not glob() or range()"
        ) from None
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def arguments(args: list[str], registry: Registry) -> list[str]:
    """``args`` as budget mode runs them (unchanged without a ``budget``)."""
    parsed = _parsed(args)
    keys = {o.key_or_group: o for _, o in parsed if o is not None}  # type: ignore[attr-defined]
    budget = keys.get("budget")
    if budget is None or budget.is_delete() or str(budget.value()) in ("null", "None"):
        return args
    out: list[str] = []
    learners: list[str] | None = None
    # Where the overrides this adds go: after the command line's last override, so that Hydra's
    # flags and their values (``--cfg job``, ``--info``) stay after every override, as argparse
    # takes the overrides only as one run of positional arguments.
    last = 0
    for arg, override in parsed:
        key = getattr(override, "key_or_group", "")
        if key == "model":
            learners = _values(override)
            continue
        if key.startswith("model."):
            raise UserError(
                f"{arg}: with budget=..., each learner searches its own space; fixing or "
                f"narrowing a learner's hyperparameters is accepted without a budget "
                f"(automl model=NAME {arg})"
            )
        out.append(arg)
        if _is_override(arg):
            last = len(out)
    added: list[str] = []
    if learners is not None:
        added.append(f"learners=[{','.join(learners)}]")
    chosen = learners or list(keys["learners"].value() if "learners" in keys else [])
    chosen = chosen or registry.default_comparison()
    added.append(f"hydra.sweeper.params.model={chosen[0]}")
    added.append("hydra.sweep.subdir=${hydra.job.num}-${dataset.name}-budget")
    if not any(k == "validation" or k.startswith("validation.") for k in keys):
        added.append("validation=auto")
    if not any(k == "search" for k in keys):
        added.append("search=budget")
    return out[:last] + added + out[last:]


def _is_override(arg: str) -> bool:
    """Whether a command-line argument is an override (``key=value``), not a flag or its value."""
    return "=" in arg and not arg.startswith("-")
