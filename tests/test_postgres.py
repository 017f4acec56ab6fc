"""A study in a real PostgreSQL database through Optuna's RDB storage (`.ci/run` starts the server)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import optuna

from automl.search.study import run
from automl.settings.experiment import Experiment
from automl.storage.urls import open_storage
from automl.views import leaderboard


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


def test_a_storage_password_appears_nowhere(postgres, tmp_path) -> None:
    # The test server trusts local connections, so any password connects: a real run with one.
    secret = f"s3cret-{uuid.uuid4().hex[:8]}"
    url = postgres.replace("postgres@", f"postgres:{secret}@", 1)
    assert secret in url
    seed = uuid.uuid4().int % 10**6
    done = subprocess.run(
        [sys.executable, "-m", "automl.commands.cli", "dataset=iris", "model=knn,decision_tree",
         "search.n_trials=2", "progress=false", "threads=1", f"seed={seed}", f"storage={url}",
         f"output_dir={tmp_path / 'out'}", f"leaderboard.dir={tmp_path / 'lb'}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "***@" in done.stderr + done.stdout  # Hydra's launcher logged the URL, masked
    texts = {"stdout": done.stdout, "stderr": done.stderr}
    texts.update(
        {
            str(p): p.read_bytes().decode("utf-8", "replace")
            for p in tmp_path.rglob("*")
            if p.is_file()
        }
    )
    storage = open_storage(postgres)
    for study in storage.get_all_studies():
        if f"/seed={seed}/" in study.study_name:
            texts[study.study_name] = json.dumps(study.user_attrs, default=str)
            optuna.delete_study(study_name=study.study_name, storage=storage)
    assert len(texts) > 10 and [where for where, text in texts.items() if secret in text] == []
