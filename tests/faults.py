"""A fault-injection plugin: a learner that fails, on chosen trials, in each way a real one can.

Loaded as a plugin with ``AUTOML_PLUGINS=tests.faults`` (the worker process inherits it). The model
``faulty`` is a decision tree with two searched hyperparameters; ``fault`` says what goes wrong and
``on`` on which trials (trial numbers separated by ``+``, ``all``, or ``refit``).
"""

from __future__ import annotations

import ctypes
import os
import time
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.tree import DecisionTreeClassifier

from automl import Cost, FitContext, Int, Metric, Model, hookimpl
from automl.plugin.task import CLASSIFICATION

FAULTS = (
    "none",
    "raise",
    "hang",
    "segfault",
    "exit",
    "memory",
    "gpu_memory",
    "nan",
    "inf",
    "sleep",
)
MARKERS = {
    "nan": -1,
    "inf": -2,
}  # predictions that the ``faulty_accuracy`` metric turns into nan/inf


class Faulty(ClassifierMixin, BaseEstimator):
    def __init__(
        self,
        max_depth: int = 3,
        min_samples_leaf: int = 1,
        fault: str = "none",
        on: str = "",
        seconds: float = 2.0,
        trial: int | None = None,
    ) -> None:
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.fault = fault
        self.on = on
        self.seconds = seconds
        self.trial = trial

    def _struck(self) -> bool:
        chosen = str(self.on).split("+")
        if self.trial is None:
            return "refit" in chosen
        return "all" in chosen or str(self.trial) in chosen

    def fit(self, X: Any, y: Any) -> Faulty:
        if self._struck():
            self._inject()
        self.tree_ = DecisionTreeClassifier(
            max_depth=self.max_depth, min_samples_leaf=self.min_samples_leaf, random_state=0
        ).fit(X, y)
        self.classes_ = self.tree_.classes_
        return self

    def _inject(self) -> None:
        if self.fault == "raise":
            raise RuntimeError(f"injected failure on trial {self.trial}")
        if self.fault == "hang":
            time.sleep(3600)
        if self.fault == "sleep":
            time.sleep(self.seconds)
        if self.fault == "segfault":
            ctypes.string_at(0)  # reads address 0: SIGSEGV
        if self.fault == "exit":
            os._exit(3)
        if self.fault == "memory":
            hoard = []
            for _ in range(96):  # up to 6 GiB, touched so that it is resident; a limit stops it
                hoard.append(np.ones(2**23))
                time.sleep(0.02)
            raise AssertionError("no memory limit stopped the trial")
        if self.fault == "gpu_memory":
            import torch

            # What torch raises when a GPU runs out; this machine may have no GPU to exhaust.
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 80.00 GiB")

    def predict(self, X: Any) -> np.ndarray:
        predicted = self.tree_.predict(X)
        if self.fault in MARKERS and self._struck():
            return np.full(len(predicted), MARKERS[self.fault])
        return predicted


def _build(params: dict[str, Any], context: FitContext) -> Faulty:
    return Faulty(**params, trial=context.trial)


def _one_after_another(estimators: Any, X: Any, y: Any) -> list[BaseException | None]:
    out: list[BaseException | None] = []
    for estimator in estimators:
        try:
            estimator.fit(X, y)
            out.append(None)
        except Exception as error:
            out.append(error)
    return out


def faulty_accuracy(y_true: Any, y_pred: Any) -> float:
    if np.any(np.asarray(y_pred) == MARKERS["nan"]):
        return float("nan")
    if np.any(np.asarray(y_pred) == MARKERS["inf"]):
        return float("inf")
    return float(accuracy_score(y_true, y_pred))


@hookimpl
def register_models(register: Any) -> None:
    register(
        Model(
            "faulty",
            _build,
            space={
                "max_depth": Int(1, 12),
                "min_samples_leaf": Int(1, 20, log=True),
            },
            defaults={"fault": "none", "on": "", "seconds": 2.0},
            tasks=CLASSIFICATION,
            preprocessing="ordinal",
            description="fault injection for the reliability tests",
        )
    )

    # For the population tests: the same learner, declaring that it trains several trials at once
    # (one after another: what the harness does with populations is under test, not the learner).
    register(
        Model(
            "faulty_population",
            _build,
            space={"max_depth": Int(1, 12), "min_samples_leaf": Int(1, 20, log=True)},
            defaults={"fault": "none", "on": "", "seconds": 2.0},
            tasks=CLASSIFICATION,
            preprocessing="ordinal",
            description="fault injection, trained as populations",
            fit_population=_one_after_another,
            population_varies=frozenset({"min_samples_leaf"}),
        )
    )

    # For the budget tests: a learner slow on purpose (every fit sleeps far past any budget), ones
    # that doze a little or a second on every fit, the refit too, so that a kill can land
    # mid-comparison (in a trial, in a refit), one whose refit always fails: nothing to hand over,
    # and one as slow as sleepy that says so: it declares its cost (600 s a fit, whatever the data).
    sleep = {"fault": "sleep", "on": "all+refit"}
    budgeted = {
        **{name: ({**sleep, "seconds": seconds}, f"every fit sleeps {seconds:g} s", None)
           for name, seconds in (("sleepy", 600.0), ("dozy", 0.15), ("drowsy", 1.0))},
        "brittle": ({"fault": "raise", "on": "refit", "seconds": 0.0}, "the refit fails", None),
        "slothful": ({**sleep, "seconds": 600.0}, "every fit sleeps 600 s, as it declares",
                     Cost(600.0, rows=0.0, columns=0.0)),
    }  # fmt: skip
    for name, (defaults, what, cost) in budgeted.items():
        register(
            Model(
                name,
                _build,
                space={"max_depth": Int(1, 12), "min_samples_leaf": Int(1, 20, log=True)},
                defaults=defaults,
                tasks=CLASSIFICATION,
                preprocessing="ordinal",
                description=f"fault injection: {what}",
                cost=cost,
            )
        )


@hookimpl
def register_metrics(register: Any) -> None:
    register(Metric("faulty_accuracy", faulty_accuracy, "maximize", CLASSIFICATION))
