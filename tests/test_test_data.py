"""The repository's test data (tests/data) is what its README says: published files, each with its
checksum, small enough to ship."""

from __future__ import annotations

import hashlib
import lzma

from tests.conftest import TEST_DATA


def _published(path) -> bytes:
    return lzma.decompress(path.read_bytes()) if path.suffix == ".xz" else path.read_bytes()


def test_every_file_matches_its_published_checksum() -> None:
    listed = dict(
        reversed(line.split("  ", 1))
        for line in (TEST_DATA / "SHA256SUMS").read_text().splitlines()
    )
    files = {
        str(p.relative_to(TEST_DATA)).removesuffix(".xz"): p
        for p in TEST_DATA.rglob("*")
        if p.is_file() and p.parent != TEST_DATA
    }
    assert sorted(files) == sorted(listed)  # every file listed, every listed file there
    for name, path in files.items():
        assert hashlib.sha256(_published(path)).hexdigest() == listed[name], name


def test_the_test_data_stays_under_10_mb() -> None:
    assert sum(p.stat().st_size for p in TEST_DATA.rglob("*") if p.is_file()) < 10 * 2**20


def test_the_fixture_restores_the_published_files(data_dir) -> None:
    vowels = data_dir / "ucr" / "JapaneseVowels_TRAIN.ts"
    assert vowels.is_file() and not (data_dir / "ucr" / "JapaneseVowels_TRAIN.ts.xz").exists()
    assert (data_dir / "mnist" / "t10k-images-idx3-ubyte.gz").is_file()  # published as gzip: kept
