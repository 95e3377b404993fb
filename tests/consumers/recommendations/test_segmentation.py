"""Batch segmentation: segments follow taste and RFM; files are written whole; popularity by segment."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from consumers.recommendations.segmentation import (
    customer_features,
    plot_segments,
    segment_customers,
    write_segmentation,
)
from tests.consumers.recommendations.simulated import interaction_data, simulate


def test_segments_follow_the_hidden_preferred_categories() -> None:
    simulation = simulate(events=15_000, products=300, customers=300, new_customers_per_day=0.0)
    data = interaction_data(simulation)
    result = segment_customers(data, segments=10, seed=0)
    segments = result.customer_segments()
    world = simulation.world
    # Customers with the same single preferred category should mostly share a segment.
    by_first: dict[str, list[int]] = {}
    for customer, segment in segments.items():
        taste = world.taste(customer).preferred_categories
        if len(taste) == 1:
            by_first.setdefault(taste[0], []).append(segment)
    purity = [np.bincount(values).max() / len(values) for values in by_first.values() if len(values) >= 5]
    assert purity and np.mean(purity) > 0.5
    assert result.segments["customers"].sum() == len(segments)
    assert all(len(items) > 0 for items in result.segment_top_items.values())


def test_rfm_features_by_hand() -> None:
    day = 86_400.0
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b"],
            "item_id": ["x", "y", "x", "z"],
            "event_type": ["purchase", "purchase", "view", "view"],
            "timestamp": [0.0, day, 2 * day, 10 * day],
            "quantity": [2, 1, 1, 1],
            "price": [5.0, 3.0, 5.0, 7.0],
        }
    )
    items = pd.DataFrame({"item_id": ["x", "y", "z"], "category": ["books", "toys", "books"]})
    from consumers.recommendations.datasets import InteractionData

    features, categories = customer_features(InteractionData(frame, items, "t"))
    row = features.set_index("customer_id").loc["a"]
    assert row["recency_days"] == 8.0 and row["frequency"] == 2 and row["monetary"] == 13.0
    assert row["taste_books"] == 2 / 3 and set(categories) == {"books", "toys"}
    b = features.set_index("customer_id").loc["b"]
    assert b["recency_days"] == 0.0 and b["frequency"] == 1 and b["monetary"] == 0.0


def test_outputs_are_written_whole(tmp_path: Path) -> None:
    data = interaction_data(simulate(events=3_000, products=100, customers=100))
    result = segment_customers(data, segments=4)
    written = write_segmentation(result, tmp_path / "out")
    assert sorted(path.name for path in written) == [
        "customers.csv",
        "customers.parquet",
        "segment_top_items.json",
        "segments.csv",
    ]
    assert not list((tmp_path / "out").glob(".*"))  # no temporary files left
    assert pd.read_parquet(tmp_path / "out" / "customers.parquet")["segment"].nunique() == 4
    assert set(json.loads((tmp_path / "out" / "segment_top_items.json").read_text())) == {"0", "1", "2", "3"}
    assert plot_segments(result, tmp_path / "segments.png").stat().st_size > 1_000
