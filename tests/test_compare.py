"""Across datasets: ranks, wins, win rate, normalised scores, Elo and the long-format export, checked
against figures worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from automl.views import across

SCORES = {  # dataset -> model -> test accuracy
    "d1": {"a": 0.9, "b": 0.8, "dummy": 0.5},
    "d2": {"a": 0.7, "b": 0.9, "dummy": 0.5},
    "d3": {"a": 0.9, "b": 0.9, "dummy": 0.6},  # a tie between a and b
}


def _rows(scores=SCORES, metric="accuracy", direction="maximize", seeds=(0,)) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"dataset": d, "metric": metric, "direction": direction, "model": m, "seed": s,
             "test_score": v + 0.01 * s, "val_score": v, "fit_time": 1.0, "predict_time": 0.1,
             "trials": 5, "study": f"{d}/{m}/seed={s}"}
            for d, models in scores.items() for m, v in models.items() for s in seeds
        ]
    )  # fmt: skip


def test_ranks_wins_win_rate_and_normalised_scores() -> None:
    board = across.aggregate(_rows()).set_index("model")
    assert board.loc["a", "mean_rank"] == board.loc["b", "mean_rank"] == 1.5
    assert board.loc["dummy", "mean_rank"] == 3
    assert board.loc["a", "wins"] == board.loc["b", "wins"] == 2  # the tie is a win for both
    assert board.loc["a", "win_rate"] == pytest.approx(4.5 / 6)  # beats b once, ties once
    assert board.loc["dummy", "win_rate"] == 0
    assert board.loc["a", "normalised"] == pytest.approx((1 + 0.5 + 1) / 3)
    assert board.loc["b", "normalised"] == pytest.approx((0.75 + 1 + 1) / 3)
    assert board.loc["dummy", "normalised"] == 0


def test_elo_puts_the_baseline_at_1000_and_equal_records_level() -> None:
    board = across.aggregate(_rows()).set_index("model")
    assert board.loc["dummy", "elo"] == pytest.approx(1000)
    assert board.loc["a", "elo"] == pytest.approx(board.loc["b", "elo"])
    assert board.loc["a", "elo"] > 1100
    for model in ("a", "b"):
        low, high = board.loc[model, ["elo_low", "elo_high"]]
        assert low <= board.loc[model, "elo"] <= high
        low, high = board.loc[model, ["normalised_low", "normalised_high"]]
        assert low <= board.loc[model, "normalised"] <= high


def test_bradley_terry_matches_the_closed_form_for_two_models() -> None:
    # 3 wins to 1, plus the one virtual tie: odds 3.5 : 1.5.
    p = across.bradley_terry(np.array([[0.0, 3.0], [1.0, 0.0]]))
    assert p[0] / p[1] == pytest.approx(3.5 / 1.5)
    elo = across._elo(np.array([[0.0, 3.0], [1.0, 0.0]]), ["a", "dummy"])
    assert elo[0] - elo[1] == pytest.approx(400 * math.log10(3.5 / 1.5))


def test_one_model_alone_has_the_baseline_rating_and_no_win_rate() -> None:
    # No pair to play: its strength is the one there is (0/0 before, iterated to the round limit).
    assert across.bradley_terry(np.zeros((1, 1))).tolist() == [1.0]
    board = across.aggregate(_rows({"d1": {"dummy": 0.5}, "d2": {"dummy": 0.7}}, "accuracy",
                                   "maximize")).set_index("model")  # fmt: skip
    assert board.loc["dummy", ["elo", "elo_low", "elo_high"]].tolist() == [1000.0] * 3
    assert math.isnan(board.loc["dummy", "win_rate"]) and board.loc["dummy", "wins"] == 2


def test_lower_is_better_for_minimised_metrics() -> None:
    errors = {"d1": {"a": 1.0, "dummy": 3.0}, "d2": {"a": 2.0, "dummy": 3.0}}
    board = across.aggregate(_rows(errors, "rmse", "minimize")).set_index("model")
    assert board.loc["a", "mean_rank"] == 1 and board.loc["a", "normalised"] == 1
    assert board.index[0] == "a"


def test_several_seeds_are_averaged_and_their_spread_reported() -> None:
    board = across.aggregate(_rows(seeds=(0, 1, 2))).set_index("model")
    assert (board["seeds"] == 3).all()
    assert board.loc["a", "seed_sd"] == pytest.approx(0.01)  # 0.00, 0.01, 0.02 on each dataset
    assert "seed sd" in across.render(board.reset_index())


def test_the_long_format_has_a_row_per_method_dataset_seed_and_split(tmp_path) -> None:
    frame = _rows(seeds=(0, 1))
    long = across.long_format(frame)
    assert len(long) == 2 * len(frame)
    assert list(long.columns[:7]) == [
        "method", "dataset", "seed", "split", "metric", "direction", "score"
    ]  # fmt: skip
    paths = across.write(frame, tmp_path, "test")
    assert [p.name for p in paths] == ["results.csv", "comparison.csv", "comparison.md"]
    assert "| a " in (tmp_path / "comparison.md").read_text()
    one = frame[frame["dataset"] == "d1"]
    assert [p.name for p in across.write(one, tmp_path / "one", "test")] == ["results.csv"]
