"""Domains: the values a hyperparameter accepts at all, so a fixed one is checked before any work.

A search range (``Float(1e-3, 1e3)``) says where the search looks; a domain says what the learner
takes (``C`` is any number above 0). A model declares domains where its parameters have limits::

    domains={"C": Interval(0, low_open=True), "max_depth": (Interval(1, integer=True), OneOf(None))}

A tuple accepts what any of its members accepts. A parameter without a declared domain takes what its
search range's kind says: any integer (``Int``), any number (``Float``) or one of the choices
(``Categorical``); one that has neither is not checked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any


def _is_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


@dataclass(frozen=True)
class Interval:
    """Numbers from ``low`` to ``high`` (None: unbounded), each end closed unless ``*_open``."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    integer: bool = False

    def accepts(self, value: Any) -> bool:
        if not _is_number(value) or math.isnan(value):
            return False
        if self.integer and not isinstance(value, Integral):  # scikit-learn refuses 3.0 too
            return False
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        return not (
            self.high is not None and (value > self.high or (self.high_open and value == self.high))
        )

    def describe(self) -> str:
        kind = "an integer" if self.integer else "a number"
        low = None if self.low is None else ("> " if self.low_open else ">= ") + f"{self.low:g}"
        high = None if self.high is None else ("< " if self.high_open else "<= ") + f"{self.high:g}"
        return " ".join([kind, " and ".join(b for b in (low, high) if b)]).strip()


@dataclass(frozen=True)
class OneOf:
    """One of the given values (strings, numbers, booleans or None)."""

    choices: tuple[Any, ...]

    def __init__(self, *choices: Any) -> None:
        object.__setattr__(self, "choices", choices)

    def accepts(self, value: Any) -> bool:
        # True == 1 in Python; a boolean parameter must not take 1, nor a numeric one True.
        return any(
            isinstance(value, bool) == isinstance(c, bool) and value == c for c in self.choices
        )

    def describe(self) -> str:
        return "one of " + ", ".join("null" if c is None else str(c) for c in self.choices)


Domain = Interval | OneOf | tuple[Interval | OneOf, ...]


def problem(domain: Domain, value: Any) -> str | None:
    """What is wrong with ``value`` for ``domain`` ("takes a number > 0"), or None if it fits."""
    members = domain if isinstance(domain, tuple) else (domain,)
    if any(m.accepts(value) for m in members):
        return None
    return "takes " + " or ".join(m.describe() for m in members)
