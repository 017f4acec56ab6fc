"""Make the public tables of benchmarks/tables.json (for ``benchmarks/versus.py --tables``) from
snapshots of the GitHub repositories that keep them in git, each at the commit recorded there.

    python benchmarks/tables.py MIRRORS OUT

MIRRORS holds one bare clone per repository as ``owner+name/repo`` (``git clone --bare
https://github.com/owner/name MIRRORS/owner+name/repo``); OUT receives ``<name>.csv`` and
``MANIFEST.json``, whose SHA-256 sums versus.py checks against every file before a run. Each
table's ``transformation`` in the manifest says what was changed from its source.
"""

import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

M = sys.argv[1].rstrip("/") + "/"
OUT = sys.argv[2].rstrip("/") + "/"
Path(OUT).mkdir(parents=True, exist_ok=True)


def git(d, *a):
    return subprocess.run(["git", "--git-dir", M + d, *a], check=True, capture_output=True).stdout


def src(d, repo, path):
    commit = git(d, "rev-parse", "HEAD").decode().strip()
    raw = git(d, "show", f"HEAD:{path}")
    assert not raw.startswith(b"version https://git-lfs"), path
    return raw, {"repo": repo, "commit": commit, "path": path}


manifest = []


def finish(name, task, df, origin, credit, transformation):
    assert "target" in df.columns
    df = df[[c for c in df.columns if c != "target"] + ["target"]]
    if len(df) > 100_000:
        raise SystemExit("subset needed")
    p = OUT + name + ".csv"
    df.to_csv(p, index=False)
    sha = hashlib.sha256(open(p, "rb").read()).hexdigest()
    feats = [c for c in df.columns if c != "target"]
    cat = [c for c in feats if not pd.api.types.is_numeric_dtype(df[c])]
    origin = dict(origin, original_source=credit)
    manifest.append(
        dict(
            name=name,
            task=task,
            rows=int(len(df)),
            columns=len(feats),
            categorical=cat,
            origin=origin,
            sha256=sha,
            transformation=transformation,
        )
    )


# 1 diamonds
raw, o = src("mwaskom+seaborn-data/repo", "mwaskom/seaborn-data", "diamonds.csv")
df = pd.read_csv(io.BytesIO(raw))
assert df.shape == (53940, 10)
df = df.rename(columns={"price": "target"})
finish(
    "diamonds",
    "regression",
    df,
    o,
    "ggplot2 'diamonds' dataset (Wickham, ggplot2 R package); also OpenML data id 42225",
    "Renamed column 'price' to 'target' and moved it to the last column. No rows dropped; no other changes.",
)

# 2 california housing
raw, o = src("ageron+data/repo", "ageron/data", "housing/housing.csv")
df = pd.read_csv(io.BytesIO(raw))
assert df.shape == (20640, 10)
df = df.rename(columns={"median_house_value": "target"})
finish(
    "california_housing",
    "regression",
    df,
    o,
    "California Housing (Pace & Barry 1997, StatLib / Luis Torgo's regression datasets), in the variant from Aurelien Geron's 'Hands-On Machine Learning' (adds categorical 'ocean_proximity', 207 missing total_bedrooms values)",
    "Renamed column 'median_house_value' to 'target' and moved it to the last column. Kept the 207 missing values in feature 'total_bedrooms' as empty cells. No rows dropped.",
)

# 3 bike sharing hourly
raw, o = src("zdvi+BikeSharing/repo", "zdvi/BikeSharing", "hour.csv")
df = pd.read_csv(io.BytesIO(raw))
assert df.shape == (17379, 17), df.shape
df = df.drop(columns=["instant", "dteday", "casual", "registered"]).rename(
    columns={"cnt": "target"}
)
finish(
    "bike_sharing_hourly",
    "regression",
    df,
    o,
    "UCI Machine Learning Repository, Bike Sharing Dataset (id 275), file hour.csv (Fanaee-T & Gama 2013); also OpenML data id 42712",
    "Renamed column 'cnt' to 'target'. Dropped 'instant' (row ID), 'dteday' (date string; this copy reformats the UCI date as dd/mm/yy, and yr/mnth/hr/weekday already encode it) and 'casual' and 'registered' (their sum equals cnt, so they would leak the target). No rows dropped.",
)

# 4 magic telescope
raw, o = src(
    "TanishaSharma01+MAGIC-gamma-hadron-classification/repo",
    "TanishaSharma01/MAGIC-gamma-hadron-classification",
    "magic04.data",
)
cols = [
    "fLength",
    "fWidth",
    "fSize",
    "fConc",
    "fConc1",
    "fAsym",
    "fM3Long",
    "fM3Trans",
    "fAlpha",
    "fDist",
    "class",
]
df = pd.read_csv(io.BytesIO(raw), header=None, names=cols)
assert df.shape == (19020, 11)
df = df.rename(columns={"class": "target"})
finish(
    "magic_telescope",
    "binary",
    df,
    o,
    "UCI Machine Learning Repository, MAGIC Gamma Telescope (id 159); also OpenML data id 1120",
    "Source file has no header: assigned the UCI attribute names (fLength, fWidth, fSize, fConc, fConc1, fAsym, fM3Long, fM3Trans, fAlpha, fDist, class) and renamed 'class' to 'target' (values 'g' = gamma, 'h' = hadron, kept as strings). No rows dropped.",
)

# 5 letter recognition
raw, o = src(
    "davidgasquez+letter-recognition/repo",
    "davidgasquez/letter-recognition",
    "letter-recognition.data",
)
df = pd.read_csv(io.BytesIO(raw))
assert list(df.columns) == ["Letter"] + [str(i) for i in range(1, 17)], df.columns
names = [
    "x-box",
    "y-box",
    "width",
    "high",
    "onpix",
    "x-bar",
    "y-bar",
    "x2bar",
    "y2bar",
    "xybar",
    "x2ybr",
    "xy2br",
    "x-ege",
    "xegvy",
    "y-ege",
    "yegvx",
]
df = df.rename(columns=dict(zip([str(i) for i in range(1, 17)], names, strict=True))).rename(
    columns={"Letter": "target"}
)
finish(
    "letter",
    "multiclass",
    df,
    o,
    "UCI Machine Learning Repository, Letter Recognition (id 59; Frey & Slate 1991); also OpenML data id 6",
    "Renamed column 'Letter' to 'target' (26 classes A-Z, strings) and moved it to the last column. The repo's header numbers the 16 features '1'..'16'; renamed them to the UCI attribute names in order (x-box, y-box, width, high, onpix, x-bar, y-bar, x2bar, y2bar, xybar, x2ybr, xy2br, x-ege, xegvy, y-ege, yegvx). No rows dropped.",
)

# 6 nursery
raw, o = src("rafat-chowdhury+NurseryAppML/repo", "rafat-chowdhury/NurseryAppML", "nursery.data")
df = pd.read_csv(io.BytesIO(raw), dtype=str)
assert df.shape == (12960, 9), df.shape
df = df.rename(columns={"assessment": "target"})
n0 = len(df)
df = df[df.target != "recommend"].reset_index(drop=True)
assert n0 - len(df) == 2
finish(
    "nursery",
    "multiclass",
    df,
    o,
    "UCI Machine Learning Repository, Nursery (id 76; Olave, Rajkovic & Bohanec 1989); also OpenML data id 26",
    "Renamed column 'assessment' (the UCI class attribute; the header was added by the repo) to 'target'. Dropped the 2 rows of class 'recommend' (fewer than 10 rows), leaving 4 classes (not_recom, priority, spec_prior, very_recom). All features read as strings (e.g. 'children' has values 1, 2, 3, more).",
)

# 7 mushroom
raw, o = src(
    "nate-koser+mushroom-classification/repo",
    "nate-koser/mushroom-classification",
    "agaricus-lepiota.data",
)
df = pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False)
assert df.shape == (8124, 23), df.shape
df = df.rename(columns={"edible": "target"})
finish(
    "mushroom",
    "binary",
    df,
    o,
    "UCI Machine Learning Repository, Mushroom (id 73; Audubon Society Field Guide 1981); also OpenML data id 24",
    "Renamed column 'edible' (the UCI class attribute, values 'e'/'p'; the header was added by the repo) to 'target' and moved it to the last column. All features kept as one-letter string codes; the UCI missing marker '?' in 'stalk-root' (2480 rows) is kept as the string '?'. Constant column 'veil-type' kept. No rows dropped.",
)

# 8 german credit
raw, o = src("lfvvercosa+base_german/repo/.git", "lfvvercosa/base_german", "german.data")
df = pd.read_csv(io.BytesIO(raw), sep=r"\s+")
assert df.shape == (1000, 21), df.shape
df = df.rename(columns={"CLASSIFICATION": "target"})
finish(
    "german_credit",
    "binary",
    df,
    o,
    "UCI Machine Learning Repository, Statlog (German Credit Data) (id 144), german.data; also OpenML 'credit-g' data id 31",
    "Read the space-separated file (header added by the repo) and wrote it comma-separated. Renamed column 'CLASSIFICATION' to 'target'; in this copy the class is coded 1 = good (700 rows), 0 = bad (300 rows) instead of UCI's 1/2. Categorical attributes kept as the UCI 'Axx' string codes. No rows dropped.",
)

json.dump(manifest, open(OUT + "MANIFEST.json", "w"), indent=2)
