"""Approximate nearest neighbours over item vectors (usearch HNSW), with f16 or i8 quantization.

Two indexes serve the recommender: the ALS item factors (inner product: a customer's factor vector is the
query) and the content vectors (cosine: similar items, new products, content profiles).

Inner-product search is reduced to cosine search, so that every quantization works on unit vectors: each
item vector x, divided by the largest norm M, gets one more component sqrt(1 - |x / M|^2), which makes it a
unit vector; a query q becomes (q / |q|, 0). The cosine of the two is then <q, x> / (M |q|): the same
ranking as the inner product (Bachrach et al., 2014, "Speeding up the Xbox recommender system").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

DTYPES: tuple[str, ...] = ("f32", "f16", "i8")
METRICS: tuple[str, ...] = ("ip", "cos")


class AnnIndex:
    """An HNSW index of vectors keyed by item index.

    Parameters
    ----------
    dimensions
        Vector size.
    metric
        "ip" (inner product) or "cos".
    dtype
        Stored precision: "f32", "f16" or "i8".
    connectivity
        HNSW edges per node (more: better recall, more memory).
    expansion_search
        Candidates explored per query (more: better recall, slower).

    >>> vectors = np.eye(4, dtype=np.float32)[[0, 0, 1, 2, 3]] + 0.01 * np.arange(5)[:, None]
    >>> index = AnnIndex(4, metric="cos", dtype="f16").build(vectors)
    >>> index.search(vectors[0], 2)[0].tolist()
    [0, 1]
    """

    def __init__(
        self,
        dimensions: int,
        metric: str = "cos",
        dtype: str = "f16",
        connectivity: int = 16,
        expansion_add: int = 128,
        expansion_search: int = 128,
    ) -> None:
        if dtype not in DTYPES:
            raise ValueError(f"unknown ANN dtype {dtype!r}: use one of {', '.join(DTYPES)}")
        if metric not in METRICS:
            raise ValueError(f"unknown ANN metric {metric!r}: use ip or cos")
        from usearch.index import Index

        self.dimensions = dimensions
        self.metric = metric
        self.dtype = dtype
        self.scale = 1.0  # ip: 1 / the largest item norm
        self._index: Any = Index(
            ndim=dimensions + 1 if metric == "ip" else dimensions,
            metric="cos",
            dtype=dtype,
            connectivity=connectivity,
            expansion_add=expansion_add,
            expansion_search=expansion_search,
        )

    def __len__(self) -> int:
        return len(self._index)

    def _prepared(self, vectors: np.ndarray) -> np.ndarray:
        vectors = np.asarray(vectors, dtype=np.float32)
        if self.metric != "ip":
            return vectors
        scaled = vectors * self.scale
        norms = np.minimum(np.einsum("ij,ij->i", scaled, scaled), 1.0)
        return np.hstack([scaled, np.sqrt(1.0 - norms)[:, None]]).astype(np.float32)

    def build(self, vectors: np.ndarray, keys: np.ndarray | None = None) -> AnnIndex:
        """Indexes the rows of `vectors` (all-zero rows carry no information and are left out)."""
        vectors = np.asarray(vectors, dtype=np.float32)
        keys = np.arange(len(vectors), dtype=np.uint64) if keys is None else np.asarray(keys, dtype=np.uint64)
        present = np.flatnonzero(np.any(vectors != 0, axis=1))
        if self.metric == "ip" and len(present):
            largest = float(np.linalg.norm(vectors[present], axis=1).max())
            self.scale = 1.0 / largest if largest > 0 else 1.0
        if len(present):
            self._index.add(keys[present], self._prepared(vectors[present]))
        return self

    def add(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        """Adds or replaces vectors (a new product gets its place at once; an ip vector longer than the
        longest indexed one is shortened to it, which can only lower its rank)."""
        keys = np.asarray(keys, dtype=np.uint64)
        for key in keys.tolist():
            if self._index.contains(key):
                self._index.remove(key)
        self._index.add(keys, self._prepared(vectors))

    def search(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k nearest keys and their similarities (inner product or cosine), best first."""
        if len(self._index) == 0 or k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        query, norm = self._query(vector)
        matches = self._index.search(query, min(k, len(self._index)))
        keys = np.asarray(matches.keys, dtype=np.int64)
        similarity = 1.0 - np.asarray(matches.distances, dtype=np.float64)
        if self.metric == "ip":
            similarity = similarity * norm / self.scale
        return keys, similarity

    def search_many(self, vectors: np.ndarray, k: int) -> np.ndarray:
        """Keys of the k nearest for each row of `vectors` (-1 pads rows with fewer matches)."""
        queries = np.stack([self._query(vector)[0] for vector in np.asarray(vectors, dtype=np.float32)])
        matches = self._index.search(queries, min(k, len(self._index)))
        keys = np.asarray(matches.keys, dtype=np.int64).reshape(len(queries), -1)
        counts = np.asarray(matches.counts).reshape(-1)
        for row, count in enumerate(counts.tolist()):
            keys[row, count:] = -1
        return keys

    def _query(self, vector: np.ndarray) -> tuple[np.ndarray, float]:
        query = np.asarray(vector, dtype=np.float32)
        norm = float(np.linalg.norm(query))
        if self.metric == "ip":
            unit = query / norm if norm > 0 else query
            return np.append(unit, np.float32(0.0)).astype(np.float32), norm
        return query, norm

    def memory_bytes(self) -> int:
        """Bytes the index holds in memory (usearch's own accounting)."""
        return int(self._index.memory_usage)

    def serialized_bytes(self) -> int:
        return int(self._index.serialized_length)

    def save(self, path: Path) -> None:
        self._index.save(str(path))

    @classmethod
    def load(cls, path: Path, dimensions: int, metric: str, dtype: str, scale: float = 1.0) -> AnnIndex:
        index = cls(dimensions, metric, dtype)
        index._index.load(str(path))
        index.scale = scale
        return index


def exact_top_k(items: np.ndarray, queries: np.ndarray, k: int, metric: str = "cos") -> np.ndarray:
    """Exact k nearest rows of `items` for each query (the ground truth of recall)."""
    items = np.asarray(items, dtype=np.float32)
    queries = np.asarray(queries, dtype=np.float32)
    if metric == "cos":
        items = items / np.maximum(np.linalg.norm(items, axis=1, keepdims=True), 1e-12)
        queries = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)
    scores = queries @ items.T
    top = np.argpartition(-scores, min(k, scores.shape[1] - 1), axis=1)[:, :k]
    order = np.take_along_axis(scores, top, axis=1).argsort(axis=1)[:, ::-1]
    return np.take_along_axis(top, order, axis=1)


def recall_at_k(index: AnnIndex, items: np.ndarray, queries: np.ndarray, k: int = 10) -> float:
    """Share of the exact top-k that the index returns in its top-k, averaged over the queries.

    >>> rng = np.random.default_rng(0)
    >>> items = rng.normal(size=(500, 8)).astype(np.float32)
    >>> index = AnnIndex(8, metric="cos", dtype="f32").build(items)
    >>> recall_at_k(index, items, items[:20], k=10) > 0.9
    True
    """
    exact = exact_top_k(items, queries, k, index.metric)
    found = index.search_many(queries, k)
    hits = sum(len(set(truth.tolist()) & set(got.tolist())) for truth, got in zip(exact, found, strict=True))
    return hits / float(exact.size)


@dataclass
class ItemIndexes:
    """The recommender's two indexes, and the content vectors behind similar-item queries.

    Parameters
    ----------
    collaborative
        Index of the ALS item factors (inner product), None before the first fit.
    content
        Index of the content vectors (cosine), None without item metadata.
    content_vectors
        The content vectors themselves (queries for similar items start from them).

    >>> indexes = ItemIndexes.build(np.eye(3, dtype=np.float32), np.eye(3, dtype=np.float32), "f32")
    >>> indexes.search_collaborative(np.array([0.0, 1.0, 0.0]), 1).tolist(), indexes.has_content(2)
    ([1], True)
    """

    collaborative: AnnIndex | None
    content: AnnIndex | None
    content_vectors: np.ndarray

    @classmethod
    def build(cls, item_factors: np.ndarray, content_vectors: np.ndarray, dtype: str = "f16") -> ItemIndexes:
        collaborative = None
        if item_factors.size and np.any(item_factors):
            collaborative = AnnIndex(item_factors.shape[1], "ip", dtype).build(item_factors)
        content = None
        if content_vectors.size and np.any(content_vectors):
            content = AnnIndex(content_vectors.shape[1], "cos", dtype).build(content_vectors)
        return cls(collaborative, content, np.asarray(content_vectors, dtype=np.float32))

    def search_collaborative(self, vector: np.ndarray, count: int) -> np.ndarray:
        if self.collaborative is None:
            return np.zeros(0, dtype=np.int64)
        return self.collaborative.search(vector, count)[0]

    def search_content(self, vector: np.ndarray, count: int) -> np.ndarray:
        if self.content is None:
            return np.zeros(0, dtype=np.int64)
        return self.content.search(vector, count)[0]

    def has_content(self, item: int) -> bool:
        return (
            self.content is not None
            and item < len(self.content_vectors)
            and bool(np.any(self.content_vectors[item]))
        )

    def similar_content(self, item: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Content neighbours of an item, without the item itself, best first."""
        assert self.content is not None
        keys, scores = self.content.search(self.content_vectors[item], k + 1)
        keep = keys != item
        return keys[keep][:k], scores[keep][:k]
