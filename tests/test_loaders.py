"""The real loaders (checksums, caches, parsers) against the repository's copies in tests/data."""

from __future__ import annotations

import gzip
import shutil

import numpy as np
import pytest
from automl_datasets.fetch import Remote, fetch
from automl_datasets.mnist import load_mnist, read_idx
from automl_datasets.ucr import load_ucr, read_ts

from automl.plugin.errors import UserError


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOML_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("AUTOML_DATA", raising=False)


def test_mnist_from_its_idx_files(data_dir) -> None:
    data = load_mnist(root=str(data_dir / "mnist"))
    assert data.X.shape == (5000, 1, 28, 28) and data.X_test.shape == (10000, 1, 28, 28)
    assert np.bincount(data.y).tolist() == [500] * 10
    assert data.X.dtype == np.float32 and 0 <= data.X.min() and data.X.max() == 1.0
    assert data.modality == "image" and data.name == "mnist_5k"
    assert np.bincount(data.y_test).tolist()[:3] == [980, 1135, 1032]  # the official counts


def test_a_file_that_fails_its_checksum_is_refused(tmp_path) -> None:
    for name in ("t10k-images-idx3-ubyte.gz",):
        with gzip.open(tmp_path / name, "wb") as f:
            f.write(b"\x00\x00\x08\x01\x00\x00\x00\x01\x07")
    with pytest.raises(UserError, match="does not match the checksum"):
        load_mnist(root=str(tmp_path))


def test_missing_files_without_network_name_where_to_put_them(tmp_path) -> None:
    remote = Remote("x.gz", "http://127.0.0.1:9/x.gz", sha256="0" * 64)
    with pytest.raises(UserError, match="cannot download http://127.0.0.1:9/x.gz .*put x.gz in"):
        fetch("nothing", remote, root=str(tmp_path))


def test_a_verified_copy_is_cached_and_found_again(tmp_path, data_dir) -> None:
    folder = tmp_path / "mine"
    shutil.copytree(data_dir / "mnist", folder)
    assert load_mnist(root=str(folder)).X.shape[0] == 5000


def test_idx_header_is_checked(tmp_path) -> None:
    (tmp_path / "bad").write_bytes(b"\x00\x00\x08\x02\x00\x00\x00\x02\x00\x00\x00\x02\x01")
    with pytest.raises(UserError, match="header says \\(2, 2\\), file holds 1 values"):
        read_idx(tmp_path / "bad")


@pytest.mark.parametrize(
    ("problem", "train", "test", "steps", "channels", "classes"),
    [("GunPoint", 50, 150, 150, 1, 2), ("ItalyPowerDemand", 67, 1029, 24, 1, 2),
     ("BasicMotions", 40, 40, 100, 6, 4), ("JapaneseVowels", 270, 370, 29, 12, 9)],
)  # fmt: skip
def test_ucr_problems(data_dir, problem, train, test, steps, channels, classes) -> None:
    data = load_ucr(problem, root=str(data_dir / "ucr"))
    assert data.X.shape == (train, steps, channels) and data.X_test.shape[0] == test
    assert len(set(data.y)) == classes and data.modality == "sequence"


def test_variable_length_series_are_padded_with_nan(tmp_path) -> None:
    path = tmp_path / "X_TRAIN.ts"
    path.write_text("@problemName X\n@data\n1,2,3:4,5,6:a\n7:8:b\n")
    X, y = read_ts(path)
    assert X.shape == (2, 3, 2) and y.tolist() == ["a", "b"]
    assert X[1, 0].tolist() == [7, 8] and np.isnan(X[1, 1:]).all()


def test_a_malformed_series_is_a_user_error(tmp_path) -> None:
    path = tmp_path / "X_TRAIN.ts"
    path.write_text("@data\n1,2:3:a\n")
    with pytest.raises(UserError, match="line 2: channels differ in length"):
        read_ts(path)
