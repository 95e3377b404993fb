"""The live learner takes up `streaming recs segment` output: at start, on change, and not when it is bad."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pandas as pd
import pytest

from consumers.recommendations.learner_service import RecommendationLearner
from consumers.recommendations.segment_files import SegmentFiles
from consumers.recommendations.segmentation import SegmentationResult, segment_customers, write_segmentation
from consumers.recommendations.settings import RecommendationSettings
from contracts.shop import Product
from tests.consumers.recommendations.simulated import cached_simulation, interaction_data


def written(directory: Path, customers: dict[str, int], top: dict[int, list[str]]) -> None:
    frame = pd.DataFrame({"customer_id": list(customers), "segment": list(customers.values())})
    write_segmentation(SegmentationResult(frame, pd.DataFrame({"segment": []}), top, []), directory)


def test_a_version_is_read_once_and_a_rewrite_is_read_again(tmp_path: Path) -> None:
    files = SegmentFiles(tmp_path)
    assert files.changed() is None
    written(tmp_path, {"a": 0, "b": 1}, {0: ["x"], 1: ["y", "z"]})
    segments = files.changed()
    assert segments is not None
    assert segments.customer_segments == {"a": 0, "b": 1}
    assert segments.segment_top_items == {0: ["x"], 1: ["y", "z"]}
    assert files.changed() is None
    written(tmp_path, {"a": 1}, {1: ["x"]})
    stamp = (tmp_path / "customers.parquet").stat().st_mtime_ns + 1_000_000
    os.utime(tmp_path / "customers.parquet", ns=(stamp, stamp))  # coarse clocks: make the change visible
    again = files.changed()
    assert again is not None and again.customer_segments == {"a": 1}


def test_a_broken_file_is_named_once_and_changes_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    written(tmp_path, {"a": 0}, {0: ["x"]})
    (tmp_path / "segment_top_items.json").write_text("[not json")
    files = SegmentFiles(tmp_path)
    with caplog.at_level(logging.WARNING, logger="consumers.recommendations.segment_files"):
        assert files.changed() is None
        assert files.changed() is None
    assert len(caplog.records) == 1 and "recs segment --out" in caplog.records[0].getMessage()


def test_the_learner_serves_a_new_customer_the_popular_items_of_their_segment(tmp_path: Path) -> None:
    simulation = cached_simulation()
    processor = RecommendationLearner(
        RecommendationSettings(segments_dir=tmp_path), precomputer=None, artifacts_dir=None, background=False
    )
    learner = processor.learner
    for item in simulation.order[:6_000]:
        if isinstance(item, Product):
            learner.add_product(item)
        else:
            learner.learn(item)
    learner.refit(wait=True)
    result = segment_customers(interaction_data(simulation), segments=4, seed=0)
    write_segmentation(result, tmp_path)
    processor.on_timer(100.0, None)  # type: ignore[arg-type]
    assert processor.segments_loaded == 1
    assert learner.recommender.customer_segments == result.customer_segments()
    # A customer the segmentation placed, with no event the learner has seen: their segment's favourites.
    seen = {event.customer_id for event in simulation.events[:6_000]}
    newcomer, segment = next((c, s) for c, s in result.customer_segments().items() if c not in seen)
    answer = learner.recommender.recommend(newcomer, 5)
    assert answer.extra["strategy"] == "segment"
    known = [item for item in result.segment_top_items[segment] if learner.recommender.knows_item(item)]
    assert [item.item_id for item in answer.items] == known[:5]
    processor.on_timer(200.0, None)  # type: ignore[arg-type]
    assert processor.segments_loaded == 1  # unchanged files are not read again
