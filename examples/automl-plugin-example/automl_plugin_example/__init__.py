"""An example automl plugin: the nearest-centroid classifier, the two-moons dataset and Cohen's
kappa. Each comes from one hook; docs/plugins.md walks through writing it."""

from __future__ import annotations

from typing import Any

from sklearn.datasets import make_moons
from sklearn.metrics import cohen_kappa_score
from sklearn.neighbors import NearestCentroid
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

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
            description="nearest centroid (scikit-learn), standardised inputs",
        )
    )


def load_moons(n: int = 400, noise: float = 0.25, seed: int = 0) -> Data:
    X, y = make_moons(n_samples=n, noise=noise, random_state=seed)
    return Data(X=X, y=y)


@hookimpl
def register_datasets(register):
    register(Dataset("two_moons", load_moons, options={"n": 400, "noise": 0.25, "seed": 0}))


@hookimpl
def register_metrics(register):
    register(
        Metric(
            "cohen_kappa",
            lambda y_true, y_pred: float(cohen_kappa_score(y_true, y_pred)),
            "maximize",
            CLASSIFICATION,
        )
    )
