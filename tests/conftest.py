from __future__ import annotations

from pathlib import Path

import pytest

from automl.plugins import registry as load_registry
from automl.registry import Registry

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def registry() -> Registry:
    return load_registry()


@pytest.fixture
def storage_url(tmp_path: Path) -> str:
    return str(tmp_path / "automl.journal")


@pytest.fixture(autouse=True, scope="session")
def _quiet_optuna() -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)


def sample_params(space, n: int = 30, seed: int = 0) -> list[dict]:
    """Parameters that ``space`` suggests over ``n`` random-sampler trials."""
    import optuna

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    out = []
    for _ in range(n):
        trial = study.ask()
        out.append(space.suggest(trial))
        study.tell(trial, 0.0)
    return out
