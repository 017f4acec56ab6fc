"""A study in a real PostgreSQL database through Optuna's RDB storage (`.ci/run` starts the server)."""

from __future__ import annotations

import uuid

import optuna

from automl import leaderboard
from automl.storage import open_storage
from automl.study import Experiment, run


def test_a_study_in_postgresql_resumes_and_feeds_the_leaderboard(postgres) -> None:
    seed = uuid.uuid4().int % 10**6  # a study of its own, whatever earlier runs left
    exp = Experiment(
        dataset="iris",
        model="knn",
        storage=postgres,
        seed=seed,
        n_trials=3,
        progress=False,
        threads=1,
    )
    first = run(exp)
    storage = open_storage(postgres)
    try:
        assert run(exp).complete == first.complete == 3
        frame = leaderboard.rows(storage, [first.study])
        assert frame["model"].tolist() == ["knn"] and frame["trials"].tolist() == [3]
    finally:
        optuna.delete_study(study_name=first.study, storage=storage)
