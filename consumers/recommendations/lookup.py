"""Answering one question (a customer's top-k, an item's similar items): Redis first, the fallback after.

A cache hit is the precomputed list. A miss (never precomputed, expired, evicted) is answered by the
fallback recommender, the one built from the learner's artifacts with its ANN index. When Redis does not
answer, the fallback answers too and the answer is flagged degraded; Redis is then left alone for
`retry_after_seconds`, so a dead or hung Redis costs one timeout per interval instead of one per request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from consumers.recommendations.cache import CacheUnavailable, EntryKind, RecommendationCache
from consumers.recommendations.interface import RecommendationList, Recommender
from consumers.recommendations.listing_ids import with_recommendation_id
from consumers.recommendations.serving_metrics import ServingMetrics

CacheOutcome = Literal["hit", "miss", "unavailable"]


@dataclass(frozen=True)
class ServedList:
    """A list and how it was found."""

    listing: RecommendationList
    cache: CacheOutcome

    @property
    def degraded(self) -> bool:
        return self.cache == "unavailable"


class RecommendationLookup:
    """Cache, then fallback.

    Parameters
    ----------
    cache
        The precomputed lists.
    fallback
        Answers misses and everything while Redis is unavailable; `set_fallback` swaps in newer artifacts.
    metrics
        Cache outcomes and degraded answers; None records nothing.
    retry_after_seconds
        How long Redis is skipped after it failed.
    clock
        Monotonic seconds (tests pass their own).

    >>> from consumers.recommendations.cache import make_redis_client
    >>> from consumers.recommendations.interface import Recommendation
    >>> class Popular:
    ...     model_version = 1
    ...     def recommend(self, customer_id, k):
    ...         return RecommendationList((Recommendation("p-1", 1.0, "popular"),), 1, cold_start=True)
    ...     def similar_items(self, item_id, k): return None
    ...     def knows_item(self, item_id): return False
    >>> nowhere = RecommendationCache(make_redis_client("redis://127.0.0.1:1/0"))
    >>> lookup = RecommendationLookup(nowhere, Popular())
    >>> served = lookup.for_customer("c-1", 10)   # no Redis there: the fallback answers, degraded
    >>> served.degraded, served.listing.cold_start, served.listing.items[0].item_id
    (True, True, 'p-1')
    >>> lookup.for_item("p-404", 10) is None
    True
    """

    def __init__(
        self,
        cache: RecommendationCache,
        fallback: Recommender,
        metrics: ServingMetrics | None = None,
        retry_after_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cache = cache
        self.fallback = fallback
        self.metrics = metrics
        self.retry_after_seconds = retry_after_seconds
        self.clock = clock
        self._skip_redis_until = float("-inf")
        self._lock = threading.Lock()

    def set_fallback(self, recommender: Recommender) -> None:
        self.fallback = recommender

    @property
    def redis_skipped(self) -> bool:
        return self.clock() < self._skip_redis_until

    def for_customer(self, customer_id: str, k: int) -> ServedList:
        cached, outcome = self._cached("customer", customer_id)
        if cached is not None:
            return ServedList(_first(cached, k), "hit")
        listing = self.fallback.recommend(customer_id, k)
        return ServedList(with_recommendation_id("customer", customer_id, _first(listing, k)), outcome)

    def for_item(self, item_id: str, k: int) -> ServedList | None:
        """None when the item is unknown (the API answers 404)."""
        cached, outcome = self._cached("item", item_id)
        if cached is not None:
            return ServedList(_first(cached, k), "hit")
        listing = self.fallback.similar_items(item_id, k)
        if listing is None:
            return None
        return ServedList(with_recommendation_id("item", item_id, _first(listing, k)), outcome)

    def _cached(self, kind: EntryKind, entity_id: str) -> tuple[RecommendationList | None, CacheOutcome]:
        outcome: CacheOutcome
        cached = None
        if self.redis_skipped:
            outcome = "unavailable"
        else:
            try:
                cached = self.cache.get(kind, entity_id)
                outcome = "miss" if cached is None else "hit"
            except CacheUnavailable:
                with self._lock:
                    self._skip_redis_until = self.clock() + self.retry_after_seconds
                outcome = "unavailable"
        if self.metrics is not None:
            service = self.metrics.service
            self.metrics.cache_lookups.labels(service, kind, outcome).inc()
            if outcome == "unavailable":
                endpoint = "recommendations" if kind == "customer" else "similar"
                self.metrics.degraded.labels(service, endpoint).inc()
        return cached, outcome


def _first(listing: RecommendationList, k: int) -> RecommendationList:
    return listing if len(listing.items) <= k else replace(listing, items=listing.items[:k])
