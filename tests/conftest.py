from __future__ import annotations

import lzma
import os
import shutil
from pathlib import Path

import pytest

from automl.plugin.manager import load_registry
from automl.plugin.registry import Registry

ROOT = Path(__file__).resolve().parents[1]
TEST_DATA = ROOT / "tests" / "data"  # real public files, with origin and checksum (its README)


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's test data as the loaders expect it: one subfolder per dataset, every file
    as published (``.xz`` files, compressed by us to keep the repository small, decompressed)."""
    folder = tmp_path_factory.mktemp("data")
    for path in sorted(TEST_DATA.rglob("*")):
        if not path.is_file() or path.parent == TEST_DATA:
            continue
        target = folder / path.relative_to(TEST_DATA)
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".xz":
            target.with_suffix("").write_bytes(lzma.decompress(path.read_bytes()))
        else:
            shutil.copyfile(path, target)
    return folder


@pytest.fixture(scope="session")
def registry() -> Registry:
    return load_registry()


POSTGRES = os.environ.get("AUTOML_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
def postgres() -> str:
    """The real PostgreSQL server's URL (`.ci/run` starts it); skipped where there is none, except
    in CI, where its absence is a failure."""
    sqlalchemy = pytest.importorskip("sqlalchemy")
    pytest.importorskip("psycopg")
    try:
        sqlalchemy.create_engine(POSTGRES).connect().close()
    except Exception as error:
        if os.environ.get("CI"):
            raise
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        pytest.skip(
            f"no PostgreSQL at {POSTGRES} ({reason}); start a server there, or point "
            "AUTOML_TEST_POSTGRES at one"
        )
    return POSTGRES


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
