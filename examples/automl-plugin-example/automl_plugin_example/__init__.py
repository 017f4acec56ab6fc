"""An example automl plugin: the nearest-centroid classifier, the two-moons dataset and Cohen's
kappa. Each comes from one hook; docs/plugins.md walks through writing it.

scikit-learn is imported where it is used (building a learner, loading the data, scoring), not
when the plugin loads: every ``automl`` command loads every plugin to learn their names, and its
worker, not the command, does the fitting.
"""

from __future__ import annotations

from typing import Any

from automl import (
    CLASSIFICATION,
    Categorical,
    Data,
    Dataset,
    FitContext,
    Float,
    Interval,
    Metric,
    Model,
    hookimpl,
)


def build_centroid(params: dict[str, Any], context: FitContext) -> Any:
    """An unfitted scikit-learn estimator for one trial's parameters."""
    from sklearn.neighbors import NearestCentroid
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    params = dict(params)
    shrink = params.pop("shrink_threshold")
    centroid = NearestCentroid(shrink_threshold=shrink or None, **params)
    return make_pipeline(StandardScaler(), centroid)


@hookimpl
def register_models(register):
    register(
        Model(
            "nearest_centroid",
            build_centroid,
            space={
                "metric": Categorical(("euclidean", "manhattan")),
                "shrink_threshold": Float(0.0, 2.0),
            },
            domains={"shrink_threshold": Interval(0)},  # what a user may fix it to
            tasks=CLASSIFICATION,
            libraries=("scikit-learn",),  # recorded with its results, checked on load
            description="nearest centroid (scikit-learn), standardised inputs",
        )
    )


def load_moons(n: int = 400, noise: float = 0.25, seed: int = 0) -> Data:
    from sklearn.datasets import make_moons

    X, y = make_moons(n_samples=n, noise=noise, random_state=seed)
    return Data(X=X, y=y)


@hookimpl
def register_datasets(register):
    register(Dataset("two_moons", load_moons, options={"n": 400, "noise": 0.25, "seed": 0}))


def cohen_kappa(y_true: Any, y_pred: Any) -> float:
    from sklearn.metrics import cohen_kappa_score

    return float(cohen_kappa_score(y_true, y_pred))


@hookimpl
def register_metrics(register):
    register(Metric("cohen_kappa", cohen_kappa, "maximize", CLASSIFICATION))
