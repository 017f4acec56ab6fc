"""UCI Adult and KDD Cup 1999 (10% subset), from their raw files with their official test sets.

Adult: no header, ", " separators, "?" for missing values, and test labels ending in "." (stripped).
KDD Cup 99: 41 features (3 categorical), labels ending in "."; its labelled test set holds attack
types never seen in training, and those rows are dropped (logged), since no learner can predict a
class it was never shown (``dataset.unseen=error`` refuses instead).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from automl import Data, UserError
from automl_datasets.fetch import Remote, fetch

log = logging.getLogger(__name__)

ADULT_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/adult/"
ADULT = {
    "train": Remote("adult-train.csv", ADULT_URL + "adult.data",
                    sha256="5b00264637dbfec36bdeaab5676b0b309ff9eb788d63554ca0a249491c86603d"),
    "test": Remote("adult-test.csv", ADULT_URL + "adult.test",
                   sha256="72567b94f5c1a6f8501377dd80f93892c3848ff071cf91ba47e00b0785a28074"),
}  # fmt: skip
ADULT_COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
    "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week",
    "native-country", "income",
]  # fmt: skip

KDD_URL = "http://kdd.ics.uci.edu/databases/kddcup99/"
KDD = {
    "train": Remote("kddcup.data_10_percent.gz", KDD_URL + "kddcup.data_10_percent.gz",
                    sha256="7bfaa8cef1350f72842018c32893e2fa4539d57efbb22f998eb74ecefc3da3b4"),
    "test": Remote("corrected.gz", KDD_URL + "corrected.gz",
                   sha256="74f0daef49b242badc09f2adbd457dea6a45b4f77177efbd11216d333651044b"),
}  # fmt: skip
KDD_COLUMNS = [
    "duration", "protocol_type", "service", "flag", "src_bytes", "dst_bytes", "land",
    "wrong_fragment", "urgent", "hot", "num_failed_logins", "logged_in", "num_compromised",
    "root_shell", "su_attempted", "num_root", "num_file_creations", "num_shells",
    "num_access_files", "num_outbound_cmds", "is_host_login", "is_guest_login", "count",
    "srv_count", "serror_rate", "srv_serror_rate", "rerror_rate", "srv_rerror_rate",
    "same_srv_rate", "diff_srv_rate", "srv_diff_host_rate", "dst_host_count",
    "dst_host_srv_count", "dst_host_same_srv_rate", "dst_host_diff_srv_rate",
    "dst_host_same_src_port_rate", "dst_host_srv_diff_host_rate", "dst_host_serror_rate",
    "dst_host_srv_serror_rate", "dst_host_rerror_rate", "dst_host_srv_rerror_rate", "label",
]  # fmt: skip
KDD_CATEGORICAL = ["protocol_type", "service", "flag"]


def _raw(path: Path, columns: list[str], categorical: list[str]) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, header=None, names=columns, skipinitialspace=True,
                            na_values="?", comment="|", dtype={c: object for c in categorical})  # fmt: skip
    except (pd.errors.ParserError, ValueError) as error:
        raise UserError(f"cannot read {path.name}: {error}".splitlines()[0]) from None
    if frame.shape[1] != len(columns) or frame.empty:
        raise UserError(f"{path.name}: expected {len(columns)} columns of data")
    label = columns[-1]
    frame[label] = frame[label].astype(str).str.strip().str.rstrip(".")
    return frame


def _xy(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    label = frame.columns[-1]
    return frame.drop(columns=[label]), frame[label].to_numpy()


_ADULT_NUMERIC = {
    "age",
    "fnlwgt",
    "education-num",
    "capital-gain",
    "capital-loss",
    "hours-per-week",
}


def load_adult(root: str | None = None) -> Data:
    categorical = [c for c in ADULT_COLUMNS[:-1] if c not in _ADULT_NUMERIC]
    train = _raw(fetch("adult", ADULT["train"], root), ADULT_COLUMNS, categorical)
    test = _raw(fetch("adult", ADULT["test"], root), ADULT_COLUMNS, categorical)
    X, y = _xy(train)
    X_test, y_test = _xy(test)
    return Data(X=X, y=y, X_test=X_test, y_test=y_test, name="adult")


def load_kddcup99(root: str | None = None, unseen: str = "drop") -> Data:
    if unseen not in ("drop", "error"):
        raise UserError(f"dataset.unseen must be drop or error, got '{unseen}'")
    train = _raw(fetch("kddcup99", KDD["train"], root), KDD_COLUMNS, KDD_CATEGORICAL)
    test = _raw(fetch("kddcup99", KDD["test"], root), KDD_COLUMNS, KDD_CATEGORICAL)
    known = test["label"].isin(set(train["label"]))
    if not known.all():
        kinds = sorted(set(test.loc[~known, "label"]))
        if unseen == "error":
            raise UserError(f"kddcup99's test set holds labels never seen in training: {kinds[:5]}")
        log.warning("kddcup99: dropped %d test rows of %d attack types never seen in training",
                    int((~known).sum()), len(kinds))  # fmt: skip
        test = test[known]
    X, y = _xy(train)
    X_test, y_test = _xy(test)
    return Data(X=X, y=y, X_test=X_test.reset_index(drop=True), y_test=y_test, name="kddcup99")
