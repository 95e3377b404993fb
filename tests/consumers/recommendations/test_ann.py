"""The ANN index: recall@10 against exact search per quantization, updates, persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from consumers.recommendations.ann import AnnIndex, ItemIndexes, exact_top_k, recall_at_k


def _clustered(count: int = 3_000, dimensions: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(30, dimensions))
    vectors = centres[rng.integers(0, 30, count)] + 0.5 * rng.normal(size=(count, dimensions))
    return vectors.astype(np.float32)


@pytest.mark.parametrize(
    ("dtype", "metric", "floor"),
    [("f32", "cos", 0.95), ("f16", "cos", 0.95), ("i8", "cos", 0.85), ("f16", "ip", 0.9), ("i8", "ip", 0.8)],
)
def test_recall_at_10_against_exact_search(dtype: str, metric: str, floor: float) -> None:
    vectors = _clustered()
    index = AnnIndex(vectors.shape[1], metric=metric, dtype=dtype).build(vectors)
    queries = _clustered(200, seed=1)
    assert recall_at_k(index, vectors, queries, k=10) >= floor


def test_quantization_shrinks_memory() -> None:
    vectors = _clustered(5_000, 64)
    sizes = {
        dtype: AnnIndex(64, dtype=dtype).build(vectors).serialized_bytes() for dtype in ("f32", "f16", "i8")
    }
    assert sizes["i8"] < sizes["f16"] < sizes["f32"]


def test_exact_top_k_is_exact() -> None:
    items = np.array([[1.0, 0.0], [0.0, 1.0], [0.7, 0.7]], dtype=np.float32)
    assert exact_top_k(items, np.array([[1.0, 0.1]]), 2).tolist() == [[0, 2]]
    assert exact_top_k(items, np.array([[1.0, 0.1]]), 2, metric="ip").tolist() == [[0, 2]]


def test_add_replaces_and_zero_vectors_are_left_out(tmp_path: Path) -> None:
    vectors = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    index = AnnIndex(2, metric="cos", dtype="f32").build(vectors)
    assert len(index) == 2
    index.add(np.array([2]), np.array([[1.0, 0.05]], dtype=np.float32))
    assert sorted(index.search(np.array([1.0, 0.0]), 2)[0].tolist()) == [0, 2]
    index.save(tmp_path / "index.usearch")
    loaded = AnnIndex.load(tmp_path / "index.usearch", 2, "cos", "f32")
    assert (
        loaded.search(np.array([0.0, 1.0]), 1)[0].tolist()
        == index.search(np.array([0.0, 1.0]), 1)[0].tolist()
    )


def test_item_indexes_answer_similar_content_without_the_item_itself() -> None:
    vectors = _clustered(500, 16)
    indexes = ItemIndexes.build(np.zeros((0, 4), dtype=np.float32), vectors, "f16")
    assert indexes.collaborative is None and indexes.has_content(3)
    items, scores = indexes.similar_content(3, 5)
    assert 3 not in items.tolist() and len(items) == 5 and np.all(np.diff(scores) <= 1e-6)


def test_a_bad_dtype_is_refused() -> None:
    with pytest.raises(ValueError, match="dtype"):
        AnnIndex(4, dtype="f8")
