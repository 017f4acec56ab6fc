"""UCR/UEA time-series classification in the sktime/aeon ``.ts`` format.

Each series becomes a T×F array (time steps × channels); series of different lengths are padded at
the end with NaN, the harness's marker for "no time step here". Offline, ``dataset.root`` names a
folder holding ``{name}_TRAIN.ts`` and ``{name}_TEST.ts`` (the tests use the copies in tests/data/ucr).
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from automl import Data, UserError
from automl_datasets.fetch import DATA_ENV, Remote, cache_dir, fetch

ARCHIVE = "https://timeseriesclassification.com/aeon-toolkit/{name}.zip"
SHA256 = {  # of the files as the archive publishes them
    "BasicMotions_TEST.ts": "79213102bc6fca1a398ad98ce1185dff0208fa3d1465e687f48288946b0ff8dc",
    "BasicMotions_TRAIN.ts": "8dc43cc6306cb679c888c01e26f91772ac4441a916da43bac8b79734a538b9d6",
    "GunPoint_TEST.ts": "79332750788a6227b325b96bd0d70130c8eb707b9731f8d7dec62b7a7d36017e",
    "GunPoint_TRAIN.ts": "f842401779fd9800d247d8b33121a1a4643710a19b24917dbdd9a060ca8630d5",
    "ItalyPowerDemand_TEST.ts": "26122451f87dd0387ef90b18bc8a86c041371b8a1c068004922b939971247144",
    "ItalyPowerDemand_TRAIN.ts": "341269cb7e6cef96846b30e774580beec79addb93848ba360145219115a74b7c",
    "JapaneseVowels_TEST.ts": "b3d41d6a0ca3bcad3afb9ca7d4365382aa51341e2e58bae2a574babdda5b9462",
    "JapaneseVowels_TRAIN.ts": "68a430eabd919cc77f40b1f5f3bc0dcafacc1486bca9260785aeb7d262cc78cd",
}
ARCHIVED = sorted({name.rsplit("_", 1)[0] for name in SHA256})


def read_ts(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Series as an N×T×F float32 array (NaN-padded) and their labels as strings."""
    series: list[np.ndarray] = []
    labels: list[str] = []
    in_data = False
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if not in_data:
                in_data = line.lower() == "@data"
                continue
            *channels, label = line.split(":")
            try:
                values = [
                    np.array([np.nan if v == "?" else float(v) for v in c.split(",")])
                    for c in channels
                ]
            except ValueError as error:
                raise UserError(f"{path.name} line {number}: {error}") from None
            if not values or len({len(v) for v in values}) != 1:
                raise UserError(f"{path.name} line {number}: channels differ in length")
            series.append(np.stack(values, axis=1))
            labels.append(label.strip())
    if not series:
        raise UserError(f"{path.name} holds no series after @data")
    length = max(len(s) for s in series)
    X = np.full((len(series), length, series[0].shape[1]), np.nan, dtype=np.float32)
    for i, s in enumerate(series):
        X[i, : len(s)] = s
    return X, np.array(labels)


def _file(name: str, part: str, root: str | None) -> Path:
    filename = f"{name}_{part}.ts"
    remote = Remote(filename, ARCHIVE.format(name=name), sha256=SHA256.get(filename))
    folder = cache_dir("ucr")
    local = [Path(root).expanduser()] if root else []
    if os.environ.get(DATA_ENV):
        local.append(Path(os.environ[DATA_ENV]).expanduser() / "ucr")
    if not any((f / filename).is_file() for f in [*local, folder]):
        folder.mkdir(parents=True, exist_ok=True)
        archive = fetch("ucr", Remote(f"{name}.zip", ARCHIVE.format(name=name)))
        try:
            with zipfile.ZipFile(archive) as z:
                members = [m for m in z.namelist() if m.endswith(".ts")]
                for member in members:
                    (folder / Path(member).name).write_bytes(z.read(member))
        except zipfile.BadZipFile:
            archive.unlink()
            raise UserError(f"{ARCHIVE.format(name=name)} is not a zip archive") from None
        if not (folder / filename).is_file():
            raise UserError(f"{archive.name} holds no {filename}; it holds: {', '.join(members)}")
    return fetch("ucr", remote, root)


def load_ucr(problem: str = "GunPoint", root: str | None = None) -> Data:
    """One UCR/UEA problem with its published train/test split."""
    name = problem
    X, y = read_ts(_file(name, "TRAIN", root))
    X_test, y_test = read_ts(_file(name, "TEST", root))
    if X_test.shape[1] != X.shape[1]:  # pad both to one length
        length = max(X.shape[1], X_test.shape[1])
        X, X_test = (
            np.pad(a, ((0, 0), (0, length - a.shape[1]), (0, 0)), constant_values=np.nan)
            for a in (X, X_test)
        )
    return Data(X=X, y=y, X_test=X_test, y_test=y_test, modality="sequence", name=name)
