"""The report's pictures, as PNG bytes: across datasets, a critical-difference diagram, a heat map
of normalised scores and Elo with its interval; per dataset, each learner's test score with its
interval, score against fit time with its Pareto front, the pick's feature importances, and each
study's search (best so far against trials and against time, hyperparameter importances)."""

from __future__ import annotations

import io
import warnings

import matplotlib

matplotlib.use("Agg")  # files only, never a window

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import optuna  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import NullFormatter  # noqa: E402
from optuna.trial import TrialState  # noqa: E402

from automl.storage.records import FIT_TIME  # noqa: E402
from automl.views.across import BASELINE, CriticalDifference  # noqa: E402

DPI = 90
PICK, INDISTINCT, DISTINCT = "#d9640b", "#f3b56b", "#8c9bab"  # the report's table uses them too
TOP_COLUMNS = 12  # feature importances beyond these say little at a glance


def indistinct(value: object) -> bool:
    """Whether a row's ``indistinct`` says it is not distinguishable from the pick (unknown: no)."""
    return value is not None and not (isinstance(value, float) and np.isnan(value)) and bool(value)


def _png(figure: plt.Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def cd_diagram(cd: CriticalDifference) -> bytes:
    """Models on an axis of mean rank (best on the left); a bar joins models whose ranks differ by
    less than the critical difference, which is drawn above the axis."""
    k = len(cd.models)
    figure, axis = plt.subplots(figsize=(8, 1.2 + 0.28 * k))
    axis.set_xlim(1, k)
    axis.set_ylim(-0.6 - 0.45 * ((k + 1) // 2) - 0.2, 1.6)
    axis.axis("off")
    axis.hlines(0, 1, k, color="black")
    for r in range(1, k + 1):
        axis.vlines(r, 0, 0.15, color="black")
        axis.text(r, 0.25, str(r), ha="center", fontsize=8)
    axis.hlines(1.2, 1, 1 + cd.cd, color="black", linewidth=2)
    axis.text(1 + cd.cd / 2, 1.32, f"CD = {cd.cd:.2f}", ha="center", fontsize=8)
    for i, (model, rank) in enumerate(zip(cd.models, cd.mean_ranks, strict=True)):
        left = i < (k + 1) // 2
        y = -0.6 - 0.45 * (i if left else k - 1 - i)
        end = 0.9 if left else k + 0.1
        axis.plot([rank, rank, end], [0, y, y], color="dimgray", linewidth=0.8)
        axis.text(end, y, f" {model} ({rank:.2f}) " if left else f" ({rank:.2f}) {model}",
                  ha="right" if left else "left", va="center", fontsize=8)  # fmt: skip
    cliques, last_end = [], -1
    for i in range(k):  # maximal runs of models closer than the critical difference
        j = max(m for m in range(i, k) if cd.mean_ranks[m] - cd.mean_ranks[i] < cd.cd)
        if j > i and j > last_end:
            cliques.append((i, j))
            last_end = j
    for n, (i, j) in enumerate(cliques):
        y = -0.25 - 0.12 * n
        axis.hlines(y, cd.mean_ranks[i] - 0.03, cd.mean_ranks[j] + 0.03, linewidth=3, color="k")
    axis.set_title(
        f"Friedman p = {cd.p_value:.3g} over {cd.datasets} datasets; Nemenyi at α = {cd.alpha}",
        fontsize=9,
    )
    return _png(figure)


def pareto(board: pd.DataFrame, metric: str, maximize: bool) -> bytes:
    """Test score against the final refit's fit time, one point per model, with the Pareto front:
    the models that no other beats on both."""
    points = board.dropna(subset=["test_score", "fit_time"]).sort_values("fit_time")
    figure, axis = plt.subplots(figsize=(6, 3.6))
    for row in points.itertuples():
        axis.annotate(str(row.model), (row.fit_time, row.test_score), fontsize=7,
                      xytext=(3, 3), textcoords="offset points")  # fmt: skip
    _front(axis, list(zip(points["fit_time"], points["test_score"], strict=True)), maximize)
    if len(points) and points["fit_time"].min() > 0:
        axis.set_xscale("log")
        axis.xaxis.set_minor_formatter(NullFormatter())  # 2×10⁻⁴ … overlap
    axis.set_xlabel("fit time of the final model (s)")
    axis.set_ylabel(f"test {metric}")
    return _png(figure)


def search(study: optuna.Study, maximize: bool) -> bytes:
    """A study's search: each trial's value and the best so far against the trial number and
    against elapsed time, the hyperparameter importances where Optuna can compute them, and each
    trial's score against its fit time with the Pareto front."""
    trials = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
    figure, axes = plt.subplots(1, 4, figsize=(16, 3))
    if trials:
        values = np.array([t.value for t in trials])
        best = np.maximum.accumulate(values) if maximize else np.minimum.accumulate(values)
        start = min(t.datetime_start for t in trials)
        elapsed = [(t.datetime_complete - start).total_seconds() for t in trials]
        numbers = [t.number for t in trials]
        axes[0].scatter(numbers, values, s=10, color="tab:blue", label="trial")
        axes[0].step(numbers, best, where="post", color="tab:orange", label="best so far")
        axes[0].set_xlabel("trial")
        axes[0].legend(fontsize=7)
        axes[1].step(elapsed, best, where="post", color="tab:orange")
        axes[1].set_xlabel("seconds since the first trial")
        timed = [(t.user_attrs[FIT_TIME], t.value) for t in trials if FIT_TIME in t.user_attrs]
        if timed:
            _front(axes[3], sorted(timed), maximize)
            axes[3].set_xlabel("trial fit time (s)")
    for axis in (axes[0], axes[1], axes[3]):
        axis.set_ylabel("validation score")
    importances = _importances(study)
    if importances:
        names = list(importances)[::-1]
        axes[2].barh(names, [importances[n] for n in names], color="tab:green")
        axes[2].set_xlabel("importance (fANOVA)")
    else:
        axes[2].text(0.5, 0.5, "importances need 2+ trials\nand a searched parameter",
                     ha="center", va="center", fontsize=8)  # fmt: skip
        axes[2].axis("off")
    figure.tight_layout()
    return _png(figure)


def _front(axis: plt.Axes, points: list[tuple[float, float]], maximize: bool) -> None:
    """Points (time, score), sorted by time, and their Pareto front: those no faster point beats."""
    front, best = [], None
    for seconds, score in points:
        if best is None or (score > best if maximize else score < best):
            best = score
            front.append((seconds, score))
    axis.scatter([p[0] for p in points], [p[1] for p in points], s=12, color="tab:blue")
    if front:
        axis.step(*zip(*front, strict=True), where="post", color="tab:orange", label="Pareto front")
        axis.legend(fontsize=7)


def _importances(study: optuna.Study) -> dict[str, float]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
            return optuna.importance.get_param_importances(study, evaluator=evaluator)
    except (ValueError, RuntimeError):  # too few trials, or nothing searched
        return {}


def scores(board: pd.DataFrame, metric: str) -> bytes:
    """Each row's test score with its interval, best at the top: the pick in the strongest colour,
    the rows not distinguishable from it lighter, the others grey. A baseline far below the rest
    is drawn at the edge with its value, so that it does not squeeze the others' intervals."""
    rows = board.dropna(subset=["test_score"]).reset_index(drop=True)
    figure, axis = plt.subplots(figsize=(6, 0.9 + 0.34 * max(len(rows), 1)))
    labels = [
        f"{r.model} (seed {r.seed})" if board["seed"].nunique() > 1 else str(r.model)
        for r in rows.itertuples()
    ]
    left, right = _score_range(rows)
    for y, r in enumerate(rows.itertuples()):
        colour = PICK if r.pick == "*" else INDISTINCT if indistinct(r.indistinct) else DISTINCT
        score, low, high = r.test_score, r.test_low, r.test_high
        if score < left or score > right:  # off the scale: an arrow at the edge, and its value
            edge = left if score < left else right
            axis.annotate(f"{score:.3f}", (edge, y), xytext=(8 if score < left else -8, 0),
                          textcoords="offset points", va="center", fontsize=7,
                          ha="left" if score < left else "right",
                          arrowprops={"arrowstyle": "->", "color": colour})  # fmt: skip
            continue
        error = None if pd.isna(low) else [[score - low], [high - score]]
        axis.errorbar(score, y, xerr=error, fmt="o", color=colour, ecolor=colour, capsize=3,
                      markersize=7 if r.pick == "*" else 5, linewidth=2)  # fmt: skip
        if r.pick == "*" and pd.notna(low):
            axis.axvspan(low, high, color=PICK, alpha=0.08, linewidth=0)
    axis.set_yticks(range(len(rows)), labels, fontsize=8)
    for tick, r in zip(axis.get_yticklabels(), rows.itertuples(), strict=True):
        tick.set_fontweight("bold" if r.pick == "*" else "normal")
    axis.set_ylim(len(rows) - 0.5, -0.5)
    axis.set_xlim(left, right)
    axis.grid(axis="x", color="#eee")
    axis.set_xlabel(f"test {metric} (95% interval)")
    kinds = ((PICK, "pick"), (INDISTINCT, "not distinguishable"), (DISTINCT, "distinguishable"))
    handles = [plt.Line2D([], [], marker="o", linestyle="", color=c, label=n) for c, n in kinds]
    axis.legend(handles=handles, fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0),
                ncol=3, frameon=False)  # fmt: skip
    return _png(figure)


def _score_range(rows: pd.DataFrame) -> tuple[float, float]:
    """The score axis: every interval, but a baseline far from the others stays off it."""
    core = rows[rows["model"] != BASELINE] if (rows["model"] != BASELINE).sum() >= 2 else rows
    ends = pd.concat([core["test_score"], core["test_low"], core["test_high"]]).dropna()
    low, high = (ends.min(), ends.max()) if len(ends) else (0.0, 1.0)
    spread = high - low if high > low else max(abs(high), 1.0) * 0.05
    everything = pd.concat([rows["test_score"], rows["test_low"], rows["test_high"]]).dropna()
    if everything.min() >= low - spread and everything.max() <= high + spread:
        low, high = everything.min(), everything.max()  # the baseline fits: show it as it is
        spread = high - low if high > low else spread
    return low - 0.08 * spread, high + 0.08 * spread


def importance(found: dict, title: str) -> bytes | None:
    """The pick's feature importances, top columns first: permutation importance on the test
    split (score lost, mean with its standard deviation), and beside it the learner's own. None
    when there are none."""
    permutation = {k: v for k, v in (found.get("permutation") or {}).items()}
    native = found.get("native") or {}
    if not permutation and not native:
        return None
    ranked = permutation or {k: [v, 0.0] for k, v in native.items()}
    names = sorted(ranked, key=lambda n: -ranked[n][0])[:TOP_COLUMNS]
    panels = [p for p in (permutation, native) if p]
    size = (3.4 * len(panels) + 1, 0.9 + 0.26 * len(names))
    figure, axes = plt.subplots(1, len(panels), figsize=size, sharey=True, squeeze=False)
    y = np.arange(len(names))
    if permutation:
        means, spreads = [permutation[n][0] for n in names], [permutation[n][1] for n in names]
        axes[0, 0].barh(y, means, xerr=spreads, color=PICK, ecolor="#555", capsize=2)
        axes[0, 0].set_xlabel("score lost when shuffled (mean ± sd)", fontsize=8)
        axes[0, 0].axvline(0, color="#999", linewidth=0.8)
    if native:
        axes[0, -1].barh(y, [native.get(n, 0.0) for n in names], color=DISTINCT)
        axes[0, -1].set_xlabel("learner's own importance (sums to 1)", fontsize=8)
    axes[0, 0].set_yticks(y, names, fontsize=8)
    axes[0, 0].set_ylim(len(names) - 0.5, -0.5)
    more = len(ranked) - len(names)
    figure.suptitle(title + (f" (top {len(names)} of {len(ranked)})" if more else ""), fontsize=9)
    figure.tight_layout()
    return _png(figure)


def heatmap(norm: pd.DataFrame) -> bytes:
    """Datasets × learners, each cell the normalised test score (0 at the baseline or the worst,
    1 at the best of the dataset), learners ordered by their mean; blank grey where a learner did
    not run."""
    norm = norm[norm.mean().sort_values(ascending=False).index]
    values = np.ma.masked_invalid(norm.to_numpy(dtype=float))
    figure, axis = plt.subplots(figsize=(1.6 + 0.75 * norm.shape[1], 1.2 + 0.42 * norm.shape[0]))
    colours = matplotlib.colormaps["viridis"].with_extremes(bad="#e4e4e4")
    image = axis.imshow(values, cmap=colours, vmin=0, vmax=1, aspect="auto")
    for (i, j), value in np.ndenumerate(norm.to_numpy(dtype=float)):
        if not np.isnan(value):
            axis.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7,
                      color="black" if value > 0.6 else "white")  # fmt: skip
    axis.set_xticks(range(norm.shape[1]), [str(c) for c in norm.columns], rotation=35, ha="right",
                    fontsize=8)  # fmt: skip
    axis.set_yticks(range(norm.shape[0]), [str(i) for i in norm.index], fontsize=8)
    figure.colorbar(image, ax=axis, fraction=0.04, pad=0.02).ax.tick_params(labelsize=7)
    axis.set_title("normalised test score (1 = best, 0 = baseline)", fontsize=9)
    return _png(figure)


def elo(board: pd.DataFrame) -> bytes:
    """Each learner's Elo with its 95% interval over datasets, best at the top; the baseline's
    1000 marked."""
    figure, axis = plt.subplots(figsize=(5, 0.9 + 0.34 * len(board)))
    y = np.arange(len(board))
    low = (board["elo"] - board["elo_low"]).clip(lower=0).fillna(0)
    high = (board["elo_high"] - board["elo"]).clip(lower=0).fillna(0)
    axis.errorbar(board["elo"], y, xerr=[low, high], fmt="o", color=PICK, ecolor=DISTINCT,
                  capsize=3, linewidth=2)  # fmt: skip
    for i, value in enumerate(board["elo"]):
        axis.annotate(f"{value:.0f}", (value, i), xytext=(0, 6), textcoords="offset points",
                      ha="center", fontsize=7)  # fmt: skip
    axis.axvline(1000, color="#999", linestyle="--", linewidth=0.8)
    axis.set_yticks(y, [str(m) for m in board["model"]], fontsize=8)
    axis.set_ylim(len(board) - 0.5, -0.6)
    axis.grid(axis="x", color="#eee")
    axis.set_xlabel("Elo (95% interval over datasets; baseline = 1000)", fontsize=8)
    return _png(figure)
