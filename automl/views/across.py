"""Which learner wins across datasets, and how sure that is: aggregates over the leaderboards' rows.

Every figure is computed from test scores in the storage (``automl.views.leaderboard.rows``), one
value per (dataset, model) averaged over seeds:

- **mean rank**: each dataset ranks its models (1 = best, ties share the mean rank);
- **wins**: datasets on which the model ranks first (ties: each tied model wins);
- **win rate**: the share of (dataset, rival) pairs the model beats, a tie counting half;
- **normalised score**: per dataset, 0 at the baseline (the ``dummy`` model where it ran, else the
  worst) and 1 at the best, averaged over datasets, with a 95% bootstrap interval over datasets;
- **Elo**: a Bradley-Terry model fitted to every pairwise result on every (dataset, seed), on the
  Elo scale (400 points = 10:1 odds) with the baseline at 1000, as TabArena reports, with a 95%
  bootstrap interval over datasets.

With several seeds the table also gives each model's mean ± standard deviation of the per-dataset
seed spread. ``long_format`` is the results table other benchmark tools read: one row per
(method, dataset, seed, split).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from automl.views.leaderboard import stamp

BASELINE = "dummy"
BOOTSTRAP = 1000
CONFIDENCE = 0.95


def long_format(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (method, dataset, seed, split): the scores and times in the storage."""
    rows = []
    for record in frame.itertuples(index=False):
        for split, score in (("test", record.test_score), ("validation", record.val_score)):
            rows.append(
                {
                    "method": record.model,
                    "dataset": record.dataset,
                    "seed": record.seed,
                    "split": split,
                    "metric": record.metric,
                    "direction": record.direction,
                    "score": score,
                    "fit_time": record.fit_time,
                    "predict_time": record.predict_time,
                    "trials": record.trials,
                    "study": record.study,
                }
            )
    return pd.DataFrame(rows)


def _goodness(frame: pd.DataFrame) -> pd.Series:
    """Test scores turned so that higher is better, whatever the metric's direction."""
    sign = np.where(frame["direction"] == "maximize", 1.0, -1.0)
    return frame["test_score"] * sign


def _table(frame: pd.DataFrame) -> pd.DataFrame:
    """Datasets × models: the mean over seeds of the goodness of the test score."""
    return _per_seed(frame).groupby(level="dataset").mean()


def _normalised(table: pd.DataFrame) -> pd.DataFrame:
    worst = table.min(axis=1)  # where the baseline did not run (or is not there at all)
    base = table[BASELINE].fillna(worst) if BASELINE in table else worst
    span = table.max(axis=1) - base
    norm = table.sub(base, axis=0).div(span.where(span > 0), axis=0)
    flat = np.broadcast_to((span <= 0).to_numpy()[:, None], table.shape)  # all models scored alike
    return norm.mask(flat, 1.0).where(table.notna())


def _pairwise(values: np.ndarray) -> np.ndarray:
    """wins[i, j]: how often model i beat model j over the rows of ``values`` (rows × models,
    higher is better, NaN where a model did not run); a tie gives each half."""
    a, b = values[:, :, None], values[:, None, :]
    both = ~(np.isnan(a) | np.isnan(b))
    wins = np.where(both, (a > b) + 0.5 * (a == b), 0.0).sum(axis=0)
    np.fill_diagonal(wins, 0.0)  # a model does not play itself
    return wins


# Kept over bencheval's (TabArena's) fit, which it equals to 1e-4 Elo (tests/test_crosscheck.py): no
# dependency, the virtual tie it lacks, and 2 ms a fit against its 50, times 1000 bootstrap refits.
def bradley_terry(wins: np.ndarray, tolerance: float = 1e-9) -> np.ndarray:
    """Strengths p (summing to the number of models) maximising the Bradley-Terry likelihood
    P(i beats j) = p_i / (p_i + p_j), by Hunter's MM algorithm. One virtual tie between every pair
    keeps an unbeaten model's strength finite."""
    n = len(wins)
    if n < 2:  # no pair, no game: 0/0 would never converge (10,000 rounds a fit, 1,000 fits)
        return np.ones(n)
    w = wins + 0.5 * (1 - np.eye(n))
    games = w + w.T
    p = np.ones(n)
    for _ in range(10_000):
        denominator = (games / (p[:, None] + p[None, :])).sum(axis=1)
        new = w.sum(axis=1) / denominator
        new *= n / new.sum()
        if np.max(np.abs(new - p)) < tolerance:
            return new
        p = new
    return p


def _elo(wins: np.ndarray, models: list[str]) -> np.ndarray:
    """Elo ratings from pairwise wins: the baseline (or the mean) at 1000."""
    strength = np.log10(bradley_terry(wins)) * 400
    anchor = models.index(BASELINE) if BASELINE in models else None
    return 1000 + strength - (strength[anchor] if anchor is not None else strength.mean())


def _per_seed(frame: pd.DataFrame) -> pd.DataFrame:
    """(dataset, seed) × models: goodness per seed, the battles of the Elo rating."""
    scored = frame.dropna(subset=["test_score"]).assign(good=_goodness)
    return scored.pivot_table(index=["dataset", "seed"], columns="model", values="good")


def _interval(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    tail = 100 * (1 - CONFIDENCE) / 2
    with warnings.catch_warnings():  # a model that met no rival in any resample: NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanpercentile(samples, tail, axis=0), np.nanpercentile(
            samples, 100 - tail, axis=0
        )


def aggregate(frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """One row per model, best Elo first: the figures of the module docstring."""
    table = _table(frame)
    if table.empty:
        return pd.DataFrame()
    models = list(table.columns)
    ranks = table.rank(axis=1, ascending=False, method="average")
    norm = _normalised(table)
    pairs = _pairwise(table.to_numpy())
    played = pairs + pairs.T
    seeds = _per_seed(frame)[models]
    datasets = list(table.index)
    # Each dataset's battles (over its seeds), so that a bootstrap over datasets only adds them up.
    battles = np.stack([_pairwise(seeds.loc[[d]].to_numpy()) for d in datasets])
    elo = _elo(battles.sum(axis=0), models)

    rng = np.random.default_rng(seed)
    norm_values = norm.to_numpy()
    norm_samples, elo_samples = [], []
    for _ in range(BOOTSTRAP):
        chosen = rng.choice(len(datasets), size=len(datasets), replace=True)
        with warnings.catch_warnings():  # a model absent from every chosen dataset: NaN, skipped
            warnings.simplefilter("ignore", RuntimeWarning)
            norm_samples.append(np.nanmean(norm_values[chosen], axis=0))
        elo_samples.append(_elo(battles[chosen].sum(axis=0), models))
    norm_low, norm_high = _interval(np.array(norm_samples))
    elo_low, elo_high = _interval(np.array(elo_samples))

    spread = seeds.groupby(level="dataset").std(ddof=1).mean()  # per-dataset seed spread, averaged
    out = pd.DataFrame(
        {
            "model": models,
            "elo": elo,
            "elo_low": elo_low,
            "elo_high": elo_high,
            "mean_rank": ranks.mean().to_numpy(),
            "wins": (ranks == ranks.min(axis=1).to_numpy()[:, None]).sum().to_numpy(),
            "win_rate": pairs.sum(axis=1)
            / np.where(played.sum(axis=1) > 0, played.sum(axis=1), np.nan),
            "normalised": norm.mean().to_numpy(),
            "normalised_low": norm_low,
            "normalised_high": norm_high,
            "datasets": table.notna().sum().to_numpy(),
            "seeds": frame.groupby("model")["seed"].nunique().reindex(models).to_numpy(),
            "seed_sd": spread.reindex(models).to_numpy(),
        }
    )
    return out.sort_values("elo", ascending=False, ignore_index=True)


def render(board: pd.DataFrame) -> str:
    """The aggregate as a Markdown table, intervals in brackets."""
    shown = pd.DataFrame(
        {
            "model": board["model"],
            "Elo [95% CI]": [
                f"{e:.0f} [{lo:.0f}, {hi:.0f}]"
                for e, lo, hi in zip(board["elo"], board["elo_low"], board["elo_high"], strict=True)
            ],
            "mean rank": board["mean_rank"].round(2),
            "wins": board["wins"],
            "win rate": board["win_rate"].round(3),
            "normalised [95% CI]": [
                f"{n:.3f} [{lo:.3f}, {hi:.3f}]"
                for n, lo, hi in zip(
                    board["normalised"],
                    board["normalised_low"],
                    board["normalised_high"],
                    strict=True,
                )  # fmt: skip
            ],
            "datasets": board["datasets"],
            "seeds": board["seeds"],
        }
    )
    if (board["seeds"] > 1).any():
        shown["seed sd"] = board["seed_sd"].round(4)  # test-score spread across seeds
    return shown.to_markdown(index=False)


def write(frame: pd.DataFrame, folder: str | Path, source: str) -> list[Path]:
    """``results.csv`` (the long format) always; ``comparison.csv`` and ``.md`` when the rows span
    two datasets or more. Returns the paths written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "results.csv"]
    long_format(frame).to_csv(paths[0], index=False)
    if frame["dataset"].nunique() < 2:
        return paths
    board = aggregate(frame)
    board.to_csv(folder / "comparison.csv", index=False)
    names = ", ".join(sorted(frame["dataset"].unique()))
    when = stamp()
    text = (
        f"# Across datasets: {names}\n\n"
        "Test scores from the storage, averaged over seeds per (dataset, model). Elo: a "
        "Bradley-Terry fit to every pairwise result per dataset and seed (baseline `dummy` = 1000 "
        "where it ran); mean rank and wins per dataset; win rate over (dataset, rival) pairs; "
        "normalised: 0 at the baseline, 1 at the best model of each dataset. Intervals: "
        f"{CONFIDENCE:.0%} bootstrap over datasets ({BOOTSTRAP} resamples). A model missing "
        "from a dataset (not applicable there) is left out of that dataset's comparisons.\n\n"
        f"{render(board)}\n\nBuilt {when} from `{source}`.\n"
    )
    (folder / "comparison.md").write_text(text)
    return [*paths, folder / "comparison.csv", folder / "comparison.md"]


@dataclass(frozen=True)
class CriticalDifference:
    """Friedman's test over the datasets on which every compared model ran, and Nemenyi's critical
    difference of mean ranks: two models whose mean ranks differ by less are not told apart."""

    models: list[str]
    mean_ranks: list[float]
    datasets: int
    statistic: float
    p_value: float
    cd: float
    alpha: float = 0.05


# Kept over autorank and scikit-posthocs, which it equals (tests/test_crosscheck.py): scipy alone,
# the exact studentized range where autorank interpolates tables, and no five-dataset minimum.
def critical_difference(frame: pd.DataFrame, alpha: float = 0.05) -> CriticalDifference | None:
    """Friedman + Nemenyi (Demšar, 2006) on the models present on every dataset; None when fewer
    than three such models or two datasets remain."""
    table = _table(frame).dropna(axis=1)
    k, n = table.shape[1], table.shape[0]
    if k < 3 or n < 2:
        return None
    # scipy.stats takes about a second to import: only a comparison of several datasets needs it,
    # not every command that writes a leaderboard.
    from scipy.stats import friedmanchisquare, studentized_range

    ranks = table.rank(axis=1, ascending=False, method="average")
    statistic, p_value = friedmanchisquare(*(table[c].to_numpy() for c in table.columns))
    q = studentized_range.ppf(1 - alpha, k, np.inf) / np.sqrt(2)
    mean = ranks.mean().sort_values()
    return CriticalDifference(
        models=list(mean.index),
        mean_ranks=[float(v) for v in mean],
        datasets=n,
        statistic=float(statistic),
        p_value=float(p_value),
        cd=float(q * np.sqrt(k * (k + 1) / (6 * n))),
        alpha=alpha,
    )


def normalised(frame: pd.DataFrame) -> pd.DataFrame:
    """Datasets × models: each test score normalised as ``aggregate`` does (0 at the baseline or
    the worst, 1 at the best of the dataset; NaN where a model did not run)."""
    return _normalised(_table(frame))
