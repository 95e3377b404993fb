"""Offline evaluation: metrics equal hand-computed values; the splits; both protocols on generated data."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from consumers.recommendations.datasets import InteractionData, load_dataset
from consumers.recommendations.evaluation import (
    evaluable,
    evaluate_standard,
    evaluate_time_ordered,
    ranking_metrics,
    stratified_split,
    time_split,
    tune_blend,
)
from consumers.recommendations.settings import RecommendationSettings
from tests.consumers.recommendations.movielens_files import write_movielens
from tests.consumers.recommendations.simulated import cached_simulation, interaction_data


def test_metrics_equal_hand_computed_values() -> None:
    recommended = {"u1": ["a", "b", "c", "d"], "u2": ["e", "f", "g", "h"], "u3": ["a", "b", "c", "d"]}
    relevant = {"u1": {"b", "d", "z"}, "u2": {"e"}, "u3": {"q"}, "nobody-recommended": {"a"}}
    metrics = ranking_metrics(recommended, relevant, k=4)
    # u1: hits at ranks 2 and 4 of 3 relevant; u2: a hit at rank 1 of 1; u3: nothing.
    precision = (2 / 4 + 1 / 4 + 0) / 3
    recall = (2 / 3 + 1 + 0) / 3
    average_precision = ((1 / 2 + 2 / 4) / 3 + 1.0 + 0) / 3
    dcg_u1 = 1 / math.log2(3) + 1 / math.log2(5)
    ideal_u1 = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    ndcg = (dcg_u1 / ideal_u1 + 1.0 + 0) / 3
    assert metrics.users == 3
    assert metrics.precision == pytest.approx(precision)
    assert metrics.recall == pytest.approx(recall)
    assert metrics.map == pytest.approx(average_precision)
    assert metrics.ndcg == pytest.approx(ndcg)
    assert ranking_metrics({}, relevant, 4).users == 0


def test_the_stratified_split_is_per_customer_and_disjoint() -> None:
    frame = pd.DataFrame(
        {
            "customer_id": ["a"] * 8 + ["b"] * 4,
            "item_id": [f"i{n}" for n in range(8)] + ["i0", "i1", "i1", "i2"],
            "timestamp": range(12),
        }
    )
    train, test = stratified_split(frame, 0.75, seed=3)
    assert train.groupby("customer_id")["item_id"].nunique().to_dict() == {"a": 6, "b": 2}
    assert test.groupby("customer_id")["item_id"].nunique().to_dict() == {"a": 2, "b": 1}
    pairs = set(zip(train["customer_id"], train["item_id"], strict=True))
    assert not pairs & set(zip(test["customer_id"], test["item_id"], strict=True))
    assert len(train) + len(test) == len(frame)  # both events of (b, i1) went the same way
    assert stratified_split(frame, 0.75, seed=3)[0].equals(train)
    with pytest.raises(ValueError):
        stratified_split(frame, 1.5)


def test_the_time_split_puts_the_past_first() -> None:
    frame = pd.DataFrame(
        {"customer_id": list("abcde"), "item_id": list("vwxyz"), "timestamp": [5, 1, 4, 2, 3]}
    )
    past, future = time_split(frame, 0.6)
    assert past["timestamp"].tolist() == [1, 2, 3] and future["timestamp"].tolist() == [4, 5]


def test_single_interaction_customers_are_counted_and_left_out() -> None:
    frame = pd.DataFrame(
        {"customer_id": ["a", "a", "b", "b"], "item_id": ["x", "y", "x", "x"], "timestamp": range(4)}
    )
    skipped: dict[str, int] = {}
    kept = evaluable(InteractionData(frame, pd.DataFrame({"item_id": ["x", "y"]}), "t"), skipped)
    assert skipped == {"single_interaction_customers": 1} and set(kept["customer_id"]) == {"a"}


def test_the_standard_protocol_on_movielens_format_data(tmp_path: Path) -> None:
    data = load_dataset(write_movielens(tmp_path / "ml"))
    rows = {row.model: row for row in evaluate_standard(data, RecommendationSettings(factors=4))}
    assert set(rows) == {"popularity", "item-kNN", "co-occurrence (SAR)", "ALS", "content", "hybrid"}
    assert all(row.users == 120 for row in rows.values())
    assert rows["hybrid"].metrics["NDCG@10"] > rows["popularity"].metrics["NDCG@10"]
    assert (
        rows["content"].metrics["NDCG@10"] > rows["popularity"].metrics["NDCG@10"]
    )  # genres carry the taste


def test_the_hybrid_beats_popularity_on_the_simulated_shop() -> None:
    data = interaction_data(cached_simulation())
    rows = {row.model: row.metrics for row in evaluate_standard(data, RecommendationSettings())}
    assert rows["hybrid"]["NDCG@10"] > 1.5 * rows["popularity"]["NDCG@10"]
    assert rows["hybrid"]["Recall@10"] > rows["popularity"]["Recall@10"]


def test_the_time_ordered_protocol_learns_as_it_goes() -> None:
    data = interaction_data(cached_simulation())
    rows = {
        row.model: row
        for row in evaluate_time_ordered(data, RecommendationSettings(), train_fraction=0.9, max_targets=200)
    }
    assert set(rows) == {
        "popularity",
        "item-kNN (static)",
        "co-occurrence (SAR, incremental)",
        "hybrid (incremental)",
        "hybrid (full retrain)",
    }
    assert all(0 < row.users <= 200 for row in rows.values())
    incremental = rows["hybrid (incremental)"].metrics
    assert incremental["HitRate@10"] > rows["popularity"].metrics["HitRate@10"]
    assert (
        incremental["learn_cpu_s_per_M_events"]
        < rows["hybrid (full retrain)"].metrics["learn_cpu_s_per_M_events"]
    )


def test_tuning_picks_weights_from_the_grid() -> None:
    data = interaction_data(cached_simulation())
    weights, score = tune_blend(
        data,
        RecommendationSettings(),
        grid={"factorization": (1.0,), "cooccurrence": (0.0, 0.5), "content": (0.0,), "popularity": (0.0,)},
    )
    assert weights.cooccurrence in (0.0, 0.5) and 0.0 < score <= 1.0
