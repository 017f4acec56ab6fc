"""Search spaces: declared by a model, reshaped from the command line, sampled by Optuna.

A model declares ``space = {"C": Float(1e-3, 1e3, log=True), ...}``. In the Hydra config every
hyperparameter appears under ``model.params`` with either a value (fixed) or ``search`` (sampled from
``model.space``), so ``model.params.C=1`` fixes C and ``model.space.C.low=0.01`` narrows its range.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from automl.plugin.domain import Domain, Interval, OneOf
from automl.plugin.errors import UserError

if TYPE_CHECKING:
    import optuna

SEARCH = "search"  # the value of a hyperparameter in ``model.params`` that the search chooses


@dataclass(frozen=True)
class Float:
    """A real hyperparameter in ``[low, high]``, optionally on a log scale.

    ``when`` makes it conditional: ``when={"kernel": "rbf"}`` samples it only for that kernel. A
    condition may also name ``task`` (``when={"task": ["binary", "multiclass"]}``).
    """

    low: float
    high: float
    log: bool = False
    when: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Int:
    """An integer hyperparameter in ``[low, high]``, optionally on a log scale."""

    low: int
    high: int
    log: bool = False
    when: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Categorical:
    """A hyperparameter chosen among ``choices`` (strings, numbers, booleans or None)."""

    choices: tuple[Any, ...]
    when: Mapping[str, Any] = field(default_factory=dict)


Param = Float | Int | Categorical


def implied_domain(param: Param) -> Domain:
    """What a parameter accepts when its model declares no domain: what its range's kind says."""
    if isinstance(param, Categorical):
        return OneOf(*param.choices)
    return Interval(integer=isinstance(param, Int))


def to_config(param: Param) -> dict[str, Any]:
    """The editable part of a parameter, as it appears under ``model.space``."""
    if isinstance(param, Categorical):
        return {"choices": list(param.choices)}
    return {"low": param.low, "high": param.high, "log": param.log}


def from_config(name: str, declared: Param, edited: Mapping[str, Any]) -> Param:
    """Apply the user's edits to a declared parameter, rejecting ranges that cannot be sampled."""
    where = f"model.space.{name}"
    if isinstance(declared, Categorical):
        choices = tuple(edited.get("choices", declared.choices))
        if not choices:
            raise UserError(f"{where}: choices is empty; give at least one choice")
        return Categorical(choices, when=declared.when)
    kind = type(declared)
    number = int if kind is Int else float
    try:
        low = number(edited.get("low", declared.low))
        high = number(edited.get("high", declared.high))
    except (TypeError, ValueError):
        expected = "integers" if kind is Int else "numbers"
        raise UserError(f"{where}: low and high must be {expected}") from None
    log = bool(edited.get("log", declared.log))
    if low > high:
        raise UserError(f"{where}: low {low} is above high {high}; a range needs low <= high")
    if log and low <= 0:
        raise UserError(f"{where}: a log-scale range needs low > 0, got low {low}")
    return kind(low, high, log=log, when=declared.when)  # type: ignore[arg-type]


def _active(param: Param, values: Mapping[str, Any]) -> bool:
    return _holds(param.when, values)


def _holds(when: Mapping[str, Any], values: Mapping[str, Any]) -> bool:
    for other, wanted in when.items():
        accepted = wanted if isinstance(wanted, list | tuple) else (wanted,)
        if other not in values or values[other] not in accepted:
            return False
    return True


@dataclass(frozen=True)
class SearchSpace:
    """Fixed hyperparameters plus the ones to search, in declaration order."""

    fixed: Mapping[str, Any]
    searched: Mapping[str, Param]

    task: str = ""  # the task's name, which conditions may test as ``task``
    conditions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # of fixed ones

    def _settle(self, values: dict[str, Any]) -> dict[str, Any]:
        """Drop fixed values whose conditions fail once everything is chosen (a fixed gamma goes
        with a linear kernel, searched or fixed, and stays with an RBF one)."""
        decided = {**values, "task": self.task}
        return {
            k: v
            for k, v in values.items()
            if k not in self.fixed or _holds(self.conditions.get(k, {}), decided)
        }

    def is_empty(self) -> bool:
        """True when every searched parameter is switched off by a fixed one: a single fit."""
        decided = {**self.fixed, "task": self.task}
        return not any(
            not (set(p.when) <= set(decided) and not _active(p, decided))
            for p in self.searched.values()
        )

    def size(self) -> int | None:
        """How many distinct configurations there are at most, or None for a continuous space."""
        if any(not isinstance(p, Categorical) for p in self.searched.values()):
            return None
        return math.prod(len(p.choices) for p in self.searched.values())

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        """Sample the active parameters and return them merged with the fixed ones."""
        values = dict(self.fixed)
        for name, p in self.searched.items():
            if not _active(p, {**values, "task": self.task}):
                continue
            if isinstance(p, Float):
                values[name] = trial.suggest_float(name, p.low, p.high, log=p.log)
            elif isinstance(p, Int):
                values[name] = trial.suggest_int(name, p.low, p.high, log=p.log)
            else:
                values[name] = trial.suggest_categorical(name, list(p.choices))
        return self._settle(values)

    def complete(self, sampled: Mapping[str, Any]) -> dict[str, Any]:
        """The full parameters of a finished trial: its sampled values with the fixed ones."""
        return self._settle({**self.fixed, **sampled})


def resolve(
    declared: Mapping[str, Param],
    params: Mapping[str, Any],
    space: Mapping[str, Mapping[str, Any]],
    task: str = "",
) -> SearchSpace:
    """Build the search space from a model's declaration and the ``params``/``space`` config."""
    fixed: dict[str, Any] = {}
    searched: dict[str, Param] = {}
    for name, value in params.items():
        if value != SEARCH:
            fixed[name] = value
        elif name in declared:
            searched[name] = from_config(name, declared[name], space.get(name, {}))
        else:
            ranged = ", ".join(declared) or "none"
            raise UserError(
                f"model.params.{name}=search, but the model has no range for {name}; "
                f"ranges exist for: {ranged}"
            )
    unknown = sorted(set(space) - set(declared))
    if unknown:
        raise UserError(
            f"model.space has no parameter {unknown[0]}; parameters: {', '.join(declared)}"
        )
    conditions = {k: declared[k].when for k in fixed if k in declared and declared[k].when}
    return SearchSpace(fixed=fixed, searched=searched, task=task, conditions=conditions)
