"""Content-based part: item vectors from attributes and text, customer profiles from the items they touched.

Item features are one-hot category, subcategory and brand, a price band (quantiles of log price) and the
TF-IDF of the description (scikit-learn), reduced with truncated SVD to `dimensions` and L2-normalised, so
a dot product is a cosine. A customer's profile is the affinity-weighted mean of their items' vectors
(affinity already carries recency and event type), plus optionally the centroids of the preferred
categories from the churn job's customer profiles.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from consumers.recommendations.catalogue import UNKNOWN, Catalogue, ItemInfo

#: Relative weight of each feature block before the reduction.
BLOCK_WEIGHTS: dict[str, float] = {
    "category": 1.0,
    "subcategory": 1.0,
    "brand": 0.5,
    "price": 0.5,
    "text": 1.0,
}

#: What the churn job's `customer-profiles` say about a customer, as a plain dict for now, e.g.
#: {"preferred_categories": ["books", "toys"], "recency_days": 3, "frequency": 12, "monetary": 340.0}.
CustomerProfile = Mapping[str, Any]


class ContentModel:
    """Fits the feature encoders on a catalogue and keeps one vector per catalogue item.

    Parameters
    ----------
    dimensions
        Size of the vectors after the SVD (smaller catalogues get fewer).
    tfidf_max_features
        Vocabulary bound of the TF-IDF.
    price_bands
        Quantile bands of log price.
    seed
        Seed of the randomized SVD.

    >>> catalogue = Catalogue([ItemInfo("a", "books", "books/fiction", "Ink", 10.0, "a gripping crime novel"),
    ...     ItemInfo("b", "books", "books/fiction", "Ink", 12.0, "a dark crime novel"),
    ...     ItemInfo("c", "garden", "garden/tools", "Rake", 30.0, "a sturdy steel rake")])
    >>> model = ContentModel(dimensions=2, seed=0).fit(catalogue)
    >>> model.similar_items(0, 1)[0].tolist()
    [1]
    """

    def __init__(
        self, dimensions: int = 64, tfidf_max_features: int = 5_000, price_bands: int = 5, seed: int = 0
    ):
        self.dimensions = dimensions
        self.tfidf_max_features = tfidf_max_features
        self.price_bands = price_bands
        self.seed = seed
        self.vectors = np.zeros((0, dimensions), dtype=np.float32)
        self._encoders: dict[str, Any] = {}
        self._price_edges = np.zeros(0)
        self._reduction: Any = None
        self.fitted = False
        self._transform_ready = True

    @classmethod
    def from_vectors(cls, vectors: np.ndarray) -> ContentModel:
        """A model answering from stored vectors (artifacts); new items get zero vectors until a refit."""
        model = cls(dimensions=int(vectors.shape[1]) if vectors.ndim == 2 else 2)
        model.vectors = np.asarray(vectors, dtype=np.float32)
        model.fitted = bool(np.any(model.vectors))
        model._transform_ready = False
        return model

    # --- features ------------------------------------------------------------------------------------

    def _features(self, items: Sequence[ItemInfo], fit: bool) -> Any:
        import scipy.sparse as sp
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.preprocessing import OneHotEncoder

        blocks = []
        for name in ("category", "subcategory", "brand"):
            values = np.array([[getattr(item, name)] for item in items], dtype=object)
            if fit:
                self._encoders[name] = OneHotEncoder(handle_unknown="ignore").fit(values)
            blocks.append(self._encoders[name].transform(values) * BLOCK_WEIGHTS[name])
        prices = np.array([np.nan if item.price is None else np.log(max(item.price, 1e-6)) for item in items])
        if fit:
            known = prices[~np.isnan(prices)]
            quantiles = np.linspace(0, 1, self.price_bands + 1)[1:-1]
            self._price_edges = np.unique(np.quantile(known, quantiles)) if known.size else np.zeros(0)
        bands = np.where(np.isnan(prices), -1, np.searchsorted(self._price_edges, np.nan_to_num(prices)))
        band_count = len(self._price_edges) + 1
        known_rows = np.flatnonzero(bands >= 0)
        blocks.append(
            sp.csr_matrix(
                (np.full(len(known_rows), BLOCK_WEIGHTS["price"]), (known_rows, bands[known_rows])),
                shape=(len(items), band_count),
            )
        )
        texts = [item.description or "" for item in items]
        if fit:
            self._encoders["text"] = TfidfVectorizer(
                max_features=self.tfidf_max_features, sublinear_tf=True, stop_words="english", min_df=1
            )
            try:
                self._encoders["text"].fit(texts)
            except ValueError:  # no words at all (no descriptions): the text block stays empty
                self._encoders["text"] = None
        if self._encoders.get("text") is not None:
            blocks.append(self._encoders["text"].transform(texts) * BLOCK_WEIGHTS["text"])
        return sp.hstack(blocks).tocsr()

    def _reduce(self, features: Any, fit: bool) -> np.ndarray:
        from sklearn.decomposition import TruncatedSVD

        if fit:
            components = min(self.dimensions, features.shape[1] - 1, features.shape[0] - 1)
            # A catalogue of identical items has no variance: the explained-variance ratio divides by zero.
            with np.errstate(divide="ignore", invalid="ignore"):
                self._reduction = (
                    TruncatedSVD(n_components=components, random_state=self.seed).fit(features)
                    if components >= 2
                    else None
                )
        reduced = self._reduction.transform(features) if self._reduction is not None else features.toarray()
        norms = np.linalg.norm(reduced, axis=1, keepdims=True)
        return (reduced / np.where(norms > 0, norms, 1.0)).astype(np.float32)

    # --- fitting and growing -------------------------------------------------------------------------

    def fit(self, catalogue: Catalogue) -> ContentModel:
        """Fits encoders and SVD on the items with metadata; items without any stay at the zero vector."""
        described = [
            position for position, info in enumerate(catalogue.info) if catalogue.has_metadata(info.item_id)
        ]
        if len(described) < 2:
            self.vectors = np.zeros((len(catalogue), max(2, min(self.dimensions, 2))), dtype=np.float32)
            self.fitted = False
            return self
        reduced = self._reduce(self._features([catalogue.info[p] for p in described], fit=True), fit=True)
        self.vectors = np.zeros((len(catalogue), reduced.shape[1]), dtype=np.float32)
        self.vectors[described] = reduced
        self.fitted = True
        self._transform_ready = True
        return self

    def update(self, catalogue: Catalogue, positions: Iterable[int]) -> None:
        """Vectors for new or changed items from the fitted encoders: a new product has neighbours at once."""
        if len(self.vectors) < len(catalogue):
            grown = np.zeros((len(catalogue), self.vectors.shape[1]), dtype=np.float32)
            grown[: len(self.vectors)] = self.vectors
            self.vectors = grown
        chosen = [p for p in positions if catalogue.has_metadata(catalogue.info[p].item_id)]
        if not self.fitted or not chosen or not self._transform_ready:
            return
        self.vectors[chosen] = self._reduce(
            self._features([catalogue.info[p] for p in chosen], fit=False), False
        )

    # --- using the vectors ---------------------------------------------------------------------------

    def category_centroids(self, catalogue: Catalogue, categories: Iterable[str]) -> np.ndarray | None:
        wanted = {category for category in categories if category != UNKNOWN}
        if not wanted or not self.fitted:
            return None
        mask = np.array([info.category in wanted for info in catalogue.info[: len(self.vectors)]], dtype=bool)
        if not mask.any():
            return None
        return self.vectors[: len(mask)][mask].mean(axis=0)

    def profile(
        self,
        items: np.ndarray,
        affinities: np.ndarray,
        catalogue: Catalogue | None = None,
        customer_profile: CustomerProfile | None = None,
        profile_weight: float = 0.5,
    ) -> np.ndarray | None:
        """A customer's taste in content space, or None when nothing is known."""
        vector = None
        known = items < len(self.vectors)
        if known.any() and affinities[known].sum() > 0:
            weights = affinities[known] / affinities[known].sum()
            vector = weights @ self.vectors[items[known]]
        if customer_profile and catalogue is not None:
            centroid = self.category_centroids(catalogue, customer_profile.get("preferred_categories") or ())
            if centroid is not None:
                vector = centroid * profile_weight if vector is None else vector + profile_weight * centroid
        if vector is None or not np.any(vector):
            return None
        return vector.astype(np.float32)

    def scores(self, profile: np.ndarray | None, size: int) -> np.ndarray:
        out = np.zeros(size)
        if profile is not None:
            part = self.vectors[:size] @ profile
            out[: len(part)] = part
        return out

    def similar_items(self, item: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact cosine neighbours of an item (the ANN index answers the same question faster)."""
        if item >= len(self.vectors) or not self.vectors[item].any():
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        similarity = self.vectors @ self.vectors[item]
        similarity[item] = -np.inf
        count = min(k, len(similarity) - 1)
        top = np.argpartition(-similarity, count - 1)[:count] if count > 0 else np.zeros(0, dtype=np.int64)
        top = top[np.lexsort((top, -similarity[top]))]
        keep = np.isfinite(similarity[top]) & (similarity[top] > 0)
        return top[keep].astype(np.int64), similarity[top][keep]
