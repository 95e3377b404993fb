"""Model artifacts on disk: what the API loads to answer when Redis has no entry or is down.

`save_artifacts(directory, recommender)` writes a new version directory `v000001`, `v000002`, ... next
to the old ones: the catalogue and settings as gzip JSON, every array (customer affinities and purchases,
co-occurrence similarity, ALS factors, content vectors, popularity) in one compressed `.npz`, and the two
usearch indexes. It writes into a temporary directory first, renames it into place and only then points
`LATEST` at it (replacing the file atomically), so a reader never sees half an artifact, even if the
writer is killed. The oldest versions beyond `keep_versions` are removed.

`load_artifacts(directory)` returns a `HybridRecommender` over the stored parts whose candidates come from
the ANN indexes; it answers as the live model did when it was saved (see the tests).
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from consumers.recommendations.ann import AnnIndex, ItemIndexes
from consumers.recommendations.catalogue import Catalogue, ItemInfo
from consumers.recommendations.content import ContentModel
from consumers.recommendations.cooccurrence import CooccurrenceModel
from consumers.recommendations.factorization import ImplicitFactorization
from consumers.recommendations.hybrid import HybridRecommender
from consumers.recommendations.interactions import store_from_matrices
from consumers.recommendations.popularity import PopularityModel
from consumers.recommendations.settings import RecommendationSettings

FORMAT_VERSION = 1
LATEST = "LATEST"


class ArtifactError(RuntimeError):
    """No usable artifacts in the directory; the message says what is missing."""


def _sparse(arrays: dict[str, np.ndarray], name: str, matrix: sp.csr_matrix) -> None:
    matrix = matrix.tocsr()
    arrays[f"{name}_data"] = matrix.data.astype(np.float64)
    arrays[f"{name}_indices"] = matrix.indices.astype(np.int64)
    arrays[f"{name}_indptr"] = matrix.indptr.astype(np.int64)
    arrays[f"{name}_shape"] = np.asarray(matrix.shape, dtype=np.int64)


def _unsparse(arrays: Any, name: str) -> sp.csr_matrix:
    shape = tuple(int(value) for value in arrays[f"{name}_shape"])
    return sp.csr_matrix(
        (arrays[f"{name}_data"], arrays[f"{name}_indices"], arrays[f"{name}_indptr"]), shape=shape
    )


def _versions(directory: Path) -> list[int]:
    found = []
    for path in directory.glob("v[0-9]*"):
        if path.is_dir() and path.name[1:].isdigit():
            found.append(int(path.name[1:]))
    return sorted(found)


def save_artifacts(directory: Path, recommender: HybridRecommender, keep_versions: int | None = None) -> Path:
    """Writes a new artifact version under `directory` and returns its path (see the module docstring)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    settings = recommender.settings
    keep = keep_versions if keep_versions is not None else settings.artifacts_keep_versions
    catalogue = recommender.catalogue
    size = len(catalogue)
    store = recommender.store
    customers = np.arange(len(store.rows), dtype=np.int64)
    arrays: dict[str, np.ndarray] = {}
    _sparse(arrays, "affinity", store.matrix(customers, size))
    _sparse(arrays, "purchased", store.purchased_matrix(customers, size))
    arrays["interest_events"] = np.asarray(store.interest_events, dtype=np.int64)
    similarity = recommender.cooccurrence.similarity()
    _sparse(arrays, "similarity", similarity)
    arrays["item_counts"] = recommender.cooccurrence.item_counts[: recommender.cooccurrence.items].copy()
    arrays["user_factors"] = np.asarray(recommender.factorization.user_factors, dtype=np.float32)
    arrays["item_factors"] = np.asarray(recommender.factorization.item_factors, dtype=np.float32)
    content_vectors = np.zeros((size, recommender.content.vectors.shape[1]), dtype=np.float32)
    content_vectors[: len(recommender.content.vectors)] = recommender.content.vectors[:size]
    arrays["content_vectors"] = content_vectors
    arrays["popularity"] = recommender.popularity.scores(size)
    segment_top = recommender.popularity.segment_top
    indexes = ItemIndexes.build(arrays["item_factors"], content_vectors, settings.ann_dtype)
    meta = {
        "format": FORMAT_VERSION,
        "model_version": recommender.version,
        "saved_at": time.time(),
        "settings": settings.model_dump(mode="json"),
        "items": [
            {
                "item_id": info.item_id,
                "category": info.category,
                "subcategory": info.subcategory,
                "brand": info.brand,
                "price": info.price,
                "description": info.description,
                "repeatable": info.repeatable,
                "created_at": info.created_at,
                "described": catalogue.has_metadata(info.item_id),
            }
            for info in catalogue.info
        ],
        "customers": list(store.customers.ids[: len(store.rows)]),
        "customer_profiles": {key: dict(value) for key, value in recommender.customer_profiles.items()},
        "customer_segments": recommender.customer_segments,
        "segment_top": {str(segment): items.tolist() for segment, items in segment_top.items()},
        "ann": {
            name: None
            if index is None
            else {
                "dimensions": index.dimensions,
                "metric": index.metric,
                "dtype": index.dtype,
                "scale": index.scale,
            }
            for name, index in (("collaborative", indexes.collaborative), ("content", indexes.content))
        },
    }
    versions = _versions(directory)
    number = (versions[-1] + 1) if versions else 1
    staging = directory / f".tmp-{uuid.uuid4().hex[:12]}"
    staging.mkdir()
    try:
        np.savez_compressed(staging / "arrays.npz", **arrays)  # type: ignore[arg-type]
        with gzip.open(staging / "meta.json.gz", "wt", encoding="utf-8") as handle:
            json.dump(meta, handle, default=_jsonable)
        for name, index in (("collaborative", indexes.collaborative), ("content", indexes.content)):
            if index is not None:
                index.save(staging / f"ann_{name}.usearch")
        target = directory / f"v{number:06d}"
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    pointer = directory / f".{LATEST}.{uuid.uuid4().hex[:8]}"
    pointer.write_text(target.name + "\n")
    os.replace(pointer, directory / LATEST)
    for old in _versions(directory)[:-keep]:
        shutil.rmtree(directory / f"v{old:06d}", ignore_errors=True)
    return target


def _jsonable(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def latest_version(directory: Path) -> Path:
    """The version directory `LATEST` points at."""
    directory = Path(directory)
    pointer = directory / LATEST
    if not pointer.exists():
        raise ArtifactError(f"{directory}: no artifacts yet (no {LATEST} file)")
    target = directory / pointer.read_text().strip()
    if not (target / "arrays.npz").exists():
        raise ArtifactError(f"{directory}: {LATEST} names {target.name}, which is incomplete or gone")
    return target


def load_artifacts(directory: Path) -> HybridRecommender:
    """The newest saved model, answering from its ANN indexes and stored vectors (an `ArtifactLoader`)."""
    target = latest_version(directory)
    with gzip.open(target / "meta.json.gz", "rt", encoding="utf-8") as handle:
        meta = json.load(handle)
    if meta.get("format") != FORMAT_VERSION:
        raise ArtifactError(f"{target}: artifact format {meta.get('format')} is not {FORMAT_VERSION}")
    settings = RecommendationSettings.model_validate(meta["settings"])
    with np.load(target / "arrays.npz") as arrays:
        affinity = _unsparse(arrays, "affinity")
        purchased = _unsparse(arrays, "purchased")
        similarity = _unsparse(arrays, "similarity")
        interest_events = arrays["interest_events"]
        item_counts = arrays["item_counts"]
        user_factors = arrays["user_factors"]
        item_factors = arrays["item_factors"]
        content_vectors = arrays["content_vectors"]
        popularity_values = arrays["popularity"]
    catalogue = Catalogue(repeat_purchase_categories=settings.repeat_purchase_categories)
    for entry in meta["items"]:
        described = entry.pop("described")
        info = ItemInfo(**entry)
        if described:
            catalogue.upsert(info)
        else:
            catalogue.ensure(info.item_id)
    store = store_from_matrices(
        meta["customers"], affinity, purchased, interest_events, settings.max_history_items
    )
    popularity = PopularityModel(settings.affinity_half_life_seconds)
    popularity.values = np.asarray(popularity_values, dtype=np.float64).copy()
    popularity.items = len(popularity_values)
    popularity.set_segments({int(segment): items for segment, items in meta["segment_top"].items()})
    indexes = ItemIndexes(None, None, content_vectors)
    for name in ("collaborative", "content"):
        spec = meta["ann"].get(name)
        if spec is not None:
            index = AnnIndex.load(
                target / f"ann_{name}.usearch",
                spec["dimensions"],
                spec["metric"],
                spec["dtype"],
                spec["scale"],
            )
            setattr(indexes, name, index)
    return HybridRecommender(
        catalogue,
        store,
        CooccurrenceModel.from_similarity(similarity, item_counts),
        ImplicitFactorization.from_factors(user_factors, item_factors),
        ContentModel.from_vectors(content_vectors),
        popularity,
        settings,
        customer_profiles=meta.get("customer_profiles") or {},
        customer_segments={key: int(value) for key, value in (meta.get("customer_segments") or {}).items()},
        ann=indexes,
        version=int(meta["model_version"]),
    )
