"""Artifacts: versioned and atomic on disk, and the loaded model answers like the live one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from consumers.recommendations.artifacts import ArtifactError, latest_version, load_artifacts, save_artifacts
from consumers.recommendations.learner import IncrementalLearner
from consumers.recommendations.settings import RecommendationSettings
from tests.consumers.recommendations.simulated import cached_simulation, trained_learner


@pytest.fixture(scope="module")
def learner() -> IncrementalLearner:
    return trained_learner(cached_simulation(), RecommendationSettings(ann_candidates=50, ann_dtype="f16"))


def test_the_loaded_model_answers_like_the_live_one(learner: IncrementalLearner, tmp_path: Path) -> None:
    live = learner.recommender
    learner.set_segments({"someone-new": 1}, {1: live.catalogue.ids[:5]})
    save_artifacts(tmp_path, live)
    loaded = load_artifacts(tmp_path)
    assert loaded.ann is not None and loaded.ann.collaborative is not None  # answers come from the ANN path
    assert len(live.catalogue) > 2 * 50
    assert loaded.model_version == live.model_version
    world = cached_simulation().world
    customers = [c for c in world.customer_ids[:200] if live.store.knows(c) is not None]
    overlaps = []
    for customer in customers:
        mine = [entry.item_id for entry in live.recommend(customer, 10).items]
        theirs = [entry.item_id for entry in loaded.recommend(customer, 10).items]
        overlaps.append(len(set(mine) & set(theirs)) / 10)
    assert np.mean(overlaps) > 0.95
    for product in cached_simulation().products[:50]:
        mine_similar = live.similar_items(product.product_id, 10)
        theirs_similar = loaded.similar_items(product.product_id, 10)
        assert mine_similar is not None and theirs_similar is not None
        assert len({e.item_id for e in mine_similar.items} & {e.item_id for e in theirs_similar.items}) >= 8
    cold = loaded.recommend("nobody-at-all", 5)
    assert cold.cold_start and [e.item_id for e in cold.items] == [
        e.item_id for e in live.recommend("nobody-at-all", 5).items
    ]
    assert loaded.recommend("someone-new", 3).extra["strategy"] == "segment"
    assert loaded.similar_items("p-unknown", 5) is None


def test_versions_are_atomic_and_pruned(learner: IncrementalLearner, tmp_path: Path) -> None:
    (tmp_path / ".tmp-leftover").mkdir()  # a writer killed half-way leaves only this behind
    with pytest.raises(ArtifactError, match="no artifacts"):
        load_artifacts(tmp_path)
    paths = [save_artifacts(tmp_path, learner.recommender, keep_versions=2) for _ in range(3)]
    assert [path.name for path in paths] == ["v000001", "v000002", "v000003"]
    assert latest_version(tmp_path) == paths[-1]
    assert sorted(p.name for p in tmp_path.glob("v*")) == ["v000002", "v000003"]
    assert (paths[-1] / "arrays.npz").stat().st_size < 5_000_000
    (tmp_path / "LATEST").write_text("v000099\n")
    with pytest.raises(ArtifactError, match="incomplete or gone"):
        load_artifacts(tmp_path)


def test_the_serving_interface_is_implemented() -> None:
    from consumers.recommendations.hybrid import HybridRecommender
    from consumers.recommendations.interface import ArtifactLoader, Recommender

    loader: ArtifactLoader = load_artifacts
    recommender: Recommender = trained_learner(cached_simulation(), stop_at=2_000).recommender
    assert isinstance(recommender, HybridRecommender) and callable(loader)
