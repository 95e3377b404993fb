"""The hybrid recommender: collaborative (ALS + co-occurrence) and content scores, blended, with cold start.

Each part's scores for a customer are divided by that part's best score for them, so every part counts
in [.., 1] and the blend weights (`BlendWeights`, tuned offline) mean the same for every customer. Cold
start: a customer with no history gets popular items (in their preferred categories when the churn job's
profile names some, or of their segment when the batch segmentation placed them); a customer with fewer
than `min_interactions_collaborative` events gets popular items of the categories they touched first; a
new product's similar items are its content neighbours. Items a customer bought are not recommended again
unless their category is repeat-purchase (groceries, beauty, pharmacy).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from consumers.recommendations.catalogue import UNKNOWN, Catalogue
from consumers.recommendations.content import ContentModel, CustomerProfile
from consumers.recommendations.cooccurrence import CooccurrenceModel
from consumers.recommendations.factorization import ImplicitFactorization
from consumers.recommendations.interactions import InteractionStore
from consumers.recommendations.interface import Recommendation, RecommendationList, Source
from consumers.recommendations.popularity import PopularityModel
from consumers.recommendations.settings import BlendWeights, RecommendationSettings

if TYPE_CHECKING:
    from consumers.recommendations.ann import ItemIndexes

PARTS: tuple[str, ...] = ("factorization", "cooccurrence", "content", "popularity")


def scaled(scores: np.ndarray) -> np.ndarray:
    """Scores divided by their maximum (rows of a 2-d array each by their own); all-zero stays zero.

    >>> scaled(np.array([2.0, 1.0, -1.0])).tolist(), scaled(np.zeros(2)).tolist()
    ([1.0, 0.5, -0.5], [0.0, 0.0])
    """
    top = scores.max(axis=-1, keepdims=True) if scores.size else np.ones((*scores.shape[:-1], 1))
    return np.divide(scores, top, out=np.zeros_like(scores, dtype=np.float64), where=top > 0)


def blend(parts: Mapping[str, np.ndarray], weights: BlendWeights) -> np.ndarray:
    """The weighted sum of the scaled parts (parts with weight 0 are not even scaled).

    >>> weights = BlendWeights(factorization=1.0, cooccurrence=0.5, content=0.0, popularity=0.0)
    >>> blend({"factorization": np.array([4.0, 2.0]), "cooccurrence": np.array([0.0, 3.0])}, weights).tolist()
    [1.0, 1.0]
    """
    total: np.ndarray | None = None
    for name, scores in parts.items():
        weight = float(getattr(weights, name))
        if weight == 0.0:
            continue
        part = weight * scaled(scores)
        total = part if total is None else total + part
    if total is None:
        first = next(iter(parts.values()))
        return np.zeros_like(first, dtype=np.float64)
    return total


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k best finite scores, best first, ties by index."""
    finite = int(np.isfinite(scores).sum())
    count = min(k, finite)
    if count <= 0:
        return np.zeros(0, dtype=np.int64)
    top = np.argpartition(-scores, count - 1)[:count]
    return top[np.lexsort((top, -scores[top]))].astype(np.int64)


def recommendation_id(subject: str, version: int, items: Sequence[str]) -> str:
    """The same list for the same subject and model version gets the same id, on every replica.

    >>> recommendation_id("u-1", 3, ["p-1", "p-2"]) == recommendation_id("u-1", 3, ["p-1", "p-2"])
    True
    """
    digest = hashlib.blake2b(f"{subject}|{version}|{'|'.join(items)}".encode(), digest_size=8).hexdigest()
    return f"r-{digest}"


class HybridRecommender:
    """The `Recommender` over the live parts the learner updates (or over parts loaded from artifacts).

    Parameters
    ----------
    catalogue, store, cooccurrence, factorization, content, popularity
        The parts; the learner owns and updates them.
    settings
        Blend weights, cold-start threshold, exclusions.
    customer_profiles
        The churn job's profile per customer id (preferred categories, RFM), when available.
    customer_segments
        Segment per customer id from the batch segmentation, when available.
    ann
        Item indexes for candidate generation; None scores every item exactly.
    lock
        Held while a customer's inputs are read, so a learner thread can update the parts concurrently.

    >>> from consumers.recommendations.catalogue import ItemInfo
    >>> catalogue = Catalogue([ItemInfo(f"p-{n}", "books" if n < 3 else "toys") for n in range(6)])
    >>> settings = RecommendationSettings(min_interactions_collaborative=1, exclude_seen=True)
    >>> recommender = HybridRecommender.empty(catalogue, settings)
    >>> for customer, item in (("u-1", 0), ("u-1", 1), ("u-2", 0), ("u-2", 1), ("u-3", 0)):
    ...     recommender.learn(customer, item, 1.0, 1.7e9)
    >>> [entry.item_id for entry in recommender.recommend("u-3", 2).items]
    ['p-1', 'p-2']
    >>> recommender.recommend("u-new", 2).cold_start, recommender.similar_items("p-9", 2) is None
    (True, True)
    """

    def __init__(
        self,
        catalogue: Catalogue,
        store: InteractionStore,
        cooccurrence: CooccurrenceModel,
        factorization: ImplicitFactorization,
        content: ContentModel,
        popularity: PopularityModel,
        settings: RecommendationSettings,
        customer_profiles: dict[str, CustomerProfile] | None = None,
        customer_segments: dict[str, int] | None = None,
        ann: ItemIndexes | None = None,
        lock: threading.RLock | None = None,
        version: int = 0,
    ) -> None:
        self.catalogue = catalogue
        self.store = store
        self.cooccurrence = cooccurrence
        self.factorization = factorization
        self.content = content
        self.popularity = popularity
        self.settings = settings
        self.weights = settings.blend
        self.customer_profiles = customer_profiles if customer_profiles is not None else {}
        self.customer_segments = customer_segments if customer_segments is not None else {}
        self.ann = ann
        self.lock = lock
        self.version = version

    @classmethod
    def empty(cls, catalogue: Catalogue, settings: RecommendationSettings) -> HybridRecommender:
        """Fresh parts for a catalogue (content vectors fitted on it); for tests and offline evaluation."""
        return cls(
            catalogue,
            InteractionStore(settings.affinity_half_life_seconds, settings.max_history_items),
            CooccurrenceModel(settings.similar_items_kept, settings.similarity_rebuild_events),
            ImplicitFactorization(
                settings.factors, settings.regularization, settings.alpha, settings.iterations
            ),
            ContentModel(settings.content_dimensions, settings.tfidf_max_features, settings.price_bands).fit(
                catalogue
            ),
            PopularityModel(settings.affinity_half_life_seconds),
            settings,
        )

    def learn(self, customer_id: str, item: int, weight: float, at: float, purchase: bool = False) -> None:
        """The minimal per-event update of the parts (the learner adds cleaning, logging and fold-ins)."""
        customer = self.store.customers.add(customer_id)
        if customer < len(self.store.rows):
            history = self.store.items_of(customer)
        else:
            history = np.zeros(0, dtype=np.int64)
        if self.store.add(customer, item, weight, at, purchase):
            self.cooccurrence.learn_pair(item, history[history != item])
        self.popularity.learn(item, weight, at)

    # --- the Recommender protocol -------------------------------------------------------------------

    @property
    def model_version(self) -> int:
        return self.version

    @property
    def catalogue_size(self) -> int:
        """Items the model knows: the denominator of the API's catalogue coverage."""
        return len(self.catalogue)

    def knows_item(self, item_id: str) -> bool:
        return item_id in self.catalogue.index

    def recommend(self, customer_id: str, k: int) -> RecommendationList:
        with self._reading():
            customer = self.store.knows(customer_id)
            if (
                customer is None
                or self.store.interest_events[customer] < self.settings.min_interactions_collaborative
            ):
                return self._cold_start(customer_id, customer, k)
            items, affinities = self.store.decayed_row(customer)
            excluded = self._excluded(customer, items)
            profile = self.customer_profiles.get(customer_id)
        candidates = self._candidates(customer, items, affinities, profile)
        parts = self._parts(customer, items, affinities, profile, candidates)
        scores = blend(parts, self.weights)
        size = len(self.catalogue)
        if candidates is None:
            scores[excluded[excluded < size]] = -np.inf
            chosen = _top(scores, k)
        else:
            scores[np.isin(candidates, excluded)] = -np.inf
            chosen = candidates[_top(scores, k)]
            scores = dict(zip(candidates.tolist(), scores.tolist(), strict=True))  # type: ignore[assignment]
        entries = [Recommendation(self.catalogue.ids[i], float(scores[i]), "hybrid") for i in chosen.tolist()]
        if len(entries) < k:
            entries += self._popular_entries(k - len(entries), set(excluded.tolist()) | set(chosen.tolist()))
        return self._list(customer_id, entries, cold_start=False, strategy="hybrid")

    def recommend_many(
        self, customer_ids: Sequence[str], k: int, batch_size: int | None = None
    ) -> list[RecommendationList]:
        """`recommend` for many customers, scoring warm ones in blocks with matrix products (precompute).

        A block holds `batch_size` customers; by default as many as keep one dense part of the block within
        about 4 million scores (32 MB), whatever the catalogue's size.
        """
        if batch_size is None:
            batch_size = max(8, min(1_024, 4_000_000 // max(len(self.catalogue), 1)))
        results: dict[int, RecommendationList] = {}
        warm: list[tuple[int, int]] = []
        with self._reading():
            for position, customer_id in enumerate(customer_ids):
                customer = self.store.knows(customer_id)
                if (
                    customer is None
                    or self.store.interest_events[customer] < self.settings.min_interactions_collaborative
                ):
                    results[position] = self._cold_start(customer_id, customer, k)
                else:
                    warm.append((position, customer))
        size = len(self.catalogue)
        popularity = self.popularity.scores(size)
        repeatable = self.catalogue.repeatable_mask()
        for start in range(0, len(warm), batch_size):
            block = warm[start : start + batch_size]
            customers = np.array([customer for _position, customer in block], dtype=np.int64)
            with self._reading():
                affinity = self.store.matrix(customers, size)
                bought = self.store.purchased_matrix(customers, size)
            parts: dict[str, np.ndarray] = {}
            if self.weights.factorization:
                parts["factorization"] = self.factorization.scores_many(customers, size)
            if self.weights.cooccurrence:
                parts["cooccurrence"] = self.cooccurrence.scores_many(affinity, size)
            if self.weights.content:
                parts["content"] = self._content_many(affinity, [customer_ids[p] for p, _c in block], size)
            if self.weights.popularity:
                parts["popularity"] = np.broadcast_to(popularity, (len(block), size))
            scores = blend(parts, self.weights) if parts else np.zeros((len(block), size))
            excluded = (
                bought.multiply(~repeatable[None, :]).tocsr() if not self.settings.exclude_seen else affinity
            )
            rows, columns = excluded.nonzero()
            scores[rows, columns] = -np.inf
            for row, (position, _customer) in enumerate(block):
                chosen = _top(scores[row], k)
                entries = [
                    Recommendation(self.catalogue.ids[i], float(scores[row, i]), "hybrid")
                    for i in chosen.tolist()
                ]
                if len(entries) < k:
                    skip = set(columns[rows == row].tolist()) | set(chosen.tolist())
                    entries += self._popular_entries(k - len(entries), skip)
                results[position] = self._list(
                    customer_ids[position], entries, cold_start=False, strategy="hybrid"
                )
        return [results[position] for position in range(len(customer_ids))]

    def similar_items(self, item_id: str, k: int) -> RecommendationList | None:
        position = self.catalogue.index.get(item_id)
        if position is None:
            return None
        co_items, co_scores = self.cooccurrence.similar_items(position, max(k, self.settings.ann_candidates))
        if self.ann is not None and self.ann.has_content(position):
            content_items, content_scores = self.ann.similar_content(
                position, max(k, self.settings.ann_candidates)
            )
        else:
            content_items, content_scores = self.content.similar_items(
                position, max(k, self.settings.ann_candidates)
            )
        if len(co_items) == 0:
            entries = [
                Recommendation(self.catalogue.ids[i], float(s), "content")
                for i, s in zip(content_items[:k].tolist(), content_scores[:k].tolist(), strict=True)
            ]
            return self._list(item_id, entries, cold_start=True, strategy="content_neighbours")
        candidates = np.union1d(co_items, content_items)
        parts = {
            "cooccurrence": _scatter(candidates, co_items, co_scores),
            "content": _scatter(candidates, content_items, content_scores),
        }
        factors = self.factorization.item_factors
        if position < len(factors) and factors[position].any():
            known = candidates < len(factors)
            scores = np.zeros(len(candidates))
            norms = np.linalg.norm(factors[candidates[known]], axis=1) * np.linalg.norm(factors[position])
            scores[known] = (factors[candidates[known]] @ factors[position]) / np.where(norms > 0, norms, 1.0)
            parts["factorization"] = scores
        scores = blend(parts, self.weights)
        scores[candidates == position] = -np.inf
        chosen = _top(scores, k)
        entries = [
            Recommendation(self.catalogue.ids[candidates[i]], float(scores[i]), "similar")
            for i in chosen.tolist()
        ]
        return self._list(item_id, entries, cold_start=False, strategy="similar")

    # --- the parts ------------------------------------------------------------------------------------

    @contextmanager
    def _reading(self) -> Iterator[None]:
        with self.lock if self.lock is not None else nullcontext():
            yield

    def _excluded(self, customer: int, items: np.ndarray) -> np.ndarray:
        if self.settings.exclude_seen:
            return np.union1d(items, np.fromiter(self.store.purchased[customer], dtype=np.int64))
        bought = [item for item in self.store.purchased[customer] if not self.catalogue.repeatable(item)]
        return np.asarray(sorted(bought), dtype=np.int64)

    def _content_profile(
        self, items: np.ndarray, affinities: np.ndarray, profile: CustomerProfile | None
    ) -> np.ndarray | None:
        return self.content.profile(items, affinities, self.catalogue, profile)

    def _candidates(
        self, customer: int, items: np.ndarray, affinities: np.ndarray, profile: CustomerProfile | None
    ) -> np.ndarray | None:
        """Items worth scoring: all of them without an ANN index (or for a small catalogue)."""
        count = self.settings.ann_candidates
        if self.ann is None or len(self.catalogue) <= 2 * count:
            return None
        pools = [self.popularity.top(count, size=len(self.catalogue))]
        vector = self.factorization.user_vector(customer)
        if vector is not None:
            pools.append(self.ann.search_collaborative(vector, count))
        content_profile = self._content_profile(items, affinities, profile)
        if content_profile is not None:
            pools.append(self.ann.search_content(content_profile, count))
        similarity = self.cooccurrence.similarity()
        known = items[items < similarity.shape[0]]
        if len(known):
            pools.append(np.unique(similarity[known].indices))
        return np.unique(np.concatenate(pools)).astype(np.int64)

    def _parts(
        self,
        customer: int,
        items: np.ndarray,
        affinities: np.ndarray,
        profile: CustomerProfile | None,
        candidates: np.ndarray | None,
    ) -> dict[str, np.ndarray]:
        size = len(self.catalogue)
        parts: dict[str, np.ndarray] = {}
        weights = self.weights
        if weights.factorization:
            parts["factorization"] = self.factorization.scores(customer, size)
        if weights.cooccurrence:
            parts["cooccurrence"] = self.cooccurrence.scores(items, affinities, size)
        if weights.content:
            parts["content"] = self.content.scores(self._content_profile(items, affinities, profile), size)
        if weights.popularity:
            parts["popularity"] = self.popularity.scores(size)
        if candidates is not None:
            parts = {name: scores[candidates] for name, scores in parts.items()}
        if not parts:
            parts["popularity"] = (
                self.popularity.scores(size)
                if candidates is None
                else self.popularity.scores(size)[candidates]
            )
        return parts

    def _content_many(self, affinity: sp.csr_matrix, customer_ids: Sequence[str], size: int) -> np.ndarray:
        vectors = self.content.vectors[:size]
        totals = np.asarray(affinity[:, : len(vectors)].sum(axis=1)).ravel()
        normalised = (
            sp.diags(np.divide(1.0, totals, out=np.zeros_like(totals), where=totals > 0))
            @ affinity[:, : len(vectors)]
        )
        profiles = np.asarray(normalised @ vectors)
        for row, customer_id in enumerate(customer_ids):
            profile = self.customer_profiles.get(customer_id)
            if profile:
                centroid = self.content.category_centroids(
                    self.catalogue, profile.get("preferred_categories") or ()
                )
                if centroid is not None:
                    profiles[row] += 0.5 * centroid
        out = np.zeros((affinity.shape[0], size))
        out[:, : len(vectors)] = profiles @ vectors.T
        return out

    # --- cold start -------------------------------------------------------------------------------------

    def _cold_start(self, customer_id: str, customer: int | None, k: int) -> RecommendationList:
        size = len(self.catalogue)
        excluded: set[int] = set()
        categories: list[str] = []
        strategy = "popular"
        source: Source = "popular"
        if customer is not None:
            items = self.store.items_of(customer)
            excluded = set(self._excluded(customer, items).tolist())
            # The categories the customer touched first, in that order (the row keeps first-touch order
            # until an item is touched again, which is rare this early).
            for item in items.tolist():
                category = self.catalogue.category_of(item)
                if category != UNKNOWN and category not in categories:
                    categories.append(category)
            strategy = "first_categories"
        profile = self.customer_profiles.get(customer_id)
        if not categories and profile:
            categories = [c for c in profile.get("preferred_categories") or () if isinstance(c, str)]
            strategy = "profile_categories"
        entries: list[Recommendation] = []
        if categories:
            wanted = np.isin(self.catalogue.categories(), categories) if size else np.zeros(0, dtype=bool)
            chosen = self.popularity.top(k, exclude=excluded, allowed=wanted, size=size)
            entries = [
                Recommendation(self.catalogue.ids[i], float(self.popularity.values[i]), "popular")
                for i in chosen.tolist()
            ]
            excluded |= set(chosen.tolist())
        segment = self.customer_segments.get(customer_id)
        if len(entries) < k and segment is not None and segment in self.popularity.segment_top:
            if not entries:
                strategy, source = "segment", "segment"
            for item in self.popularity.segment_top[segment].tolist():
                if len(entries) >= k:
                    break
                if item not in excluded and item < size:
                    entries.append(
                        Recommendation(
                            self.catalogue.ids[item], float(self.popularity.values[item]), "segment"
                        )
                    )
                    excluded.add(item)
        if len(entries) < k:
            entries += self._popular_entries(k - len(entries), excluded)
        del source
        return self._list(customer_id, entries, cold_start=True, strategy=strategy)

    def _popular_entries(self, count: int, excluded: set[int]) -> list[Recommendation]:
        chosen = self.popularity.top(count, exclude=excluded, size=len(self.catalogue))
        return [
            Recommendation(self.catalogue.ids[i], float(self.popularity.values[i]), "popular")
            for i in chosen.tolist()
        ]

    def _list(
        self, subject: str, entries: list[Recommendation], cold_start: bool, strategy: str
    ) -> RecommendationList:
        return RecommendationList(
            items=tuple(entries),
            model_version=self.version,
            cold_start=cold_start,
            recommendation_id=recommendation_id(subject, self.version, [entry.item_id for entry in entries]),
            computed_at=time.time(),
            extra={"strategy": strategy},
        )


def _scatter(candidates: np.ndarray, items: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Scores of `items` placed at their positions in the sorted `candidates` (0 elsewhere)."""
    out = np.zeros(len(candidates))
    if len(items):
        out[np.searchsorted(candidates, items)] = scores
    return out
