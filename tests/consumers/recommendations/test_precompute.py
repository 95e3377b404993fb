"""Precompute into a real Redis: debounced, with a bounded delay, popular items only, lag measured, and
failures retried."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry

from consumers.recommendations.cache import RecommendationCache, make_redis_client
from consumers.recommendations.precompute import PrecomputeLoop, Precomputer
from consumers.recommendations.redis_server import LocalRedis
from consumers.recommendations.serving_metrics import PrecomputeMetrics
from tests.consumers.recommendations.conftest import redis_settings
from tests.consumers.recommendations.support import CovisitationRecommender


class Clock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, {"service": "recommendations", **labels})
    return 0.0 if value is None else value


def test_a_burst_of_changes_is_one_recomputation_after_the_quiet_time(
    cache: RecommendationCache, recommender: CovisitationRecommender
) -> None:
    clock = Clock()
    registry = CollectorRegistry()
    precomputer = Precomputer(
        recommender,
        cache,
        top_n=20,
        debounce_seconds=2,
        max_delay_seconds=30,
        metrics=PrecomputeMetrics(registry),
        clock=clock,
    )
    for step in range(5):
        clock.now = 1_000.0 + step * 0.5
        precomputer.customer_changed("c-00001")
        assert precomputer.run_due().customers == 0
    assert cache.get("customer", "c-00001") is None
    clock.now = 1_004.0  # 2 s after the last change
    assert precomputer.run_due().customers == 1
    cached = cache.get("customer", "c-00001")
    assert cached is not None
    assert [item.item_id for item in cached.items] == [
        item.item_id for item in recommender.recommend("c-00001", 20).items
    ]
    assert len(cached.recommendation_id) == 16
    assert precomputer.pending("customer") == 0
    # Lag runs from the first unprocessed change (t=1000) to the write (t=1004).
    assert _sample(registry, "streaming_recommendation_precompute_lag_seconds_sum", kind="customer") == 4.0
    assert _sample(registry, "streaming_recommendation_precomputed_lists_total", kind="customer") == 1


def test_a_customer_who_never_pauses_is_refreshed_after_the_maximum_delay(
    cache: RecommendationCache, recommender: CovisitationRecommender
) -> None:
    clock = Clock()
    precomputer = Precomputer(recommender, cache, debounce_seconds=2, max_delay_seconds=5, clock=clock)
    for step in range(12):
        clock.now = 1_000.0 + step * 0.5
        precomputer.customer_changed("c-00002")
        written = precomputer.run_due().customers
        if clock.now - 1_000.0 >= 5:
            break
        assert written == 0
    assert written == 1 and cache.get("customer", "c-00002") is not None


def test_only_popular_items_get_similar_lists_and_unknown_items_are_dropped(
    cache: RecommendationCache, recommender: CovisitationRecommender
) -> None:
    clock = Clock()
    precomputer = Precomputer(recommender, cache, debounce_seconds=0, popular_items=2, clock=clock)
    for item_id, changes in (("p-0001", 5), ("p-0002", 4), ("p-0003", 1), ("p-9999", 6)):
        for _ in range(changes):
            precomputer.item_changed(item_id)
    report = precomputer.run_due()
    assert report.items == 1 and report.unknown_items == 1 and report.not_popular == 2
    assert cache.get("item", "p-0001") is not None
    assert cache.get("item", "p-0002") is None and cache.get("item", "p-9999") is None


def test_precompute_all_writes_every_customer_and_item(
    cache: RecommendationCache, recommender: CovisitationRecommender
) -> None:
    precomputer = Precomputer(recommender, cache, top_n=10, batch_size=64)
    done: list[int] = []
    report = precomputer.precompute_all(recommender.customers(), recommender.items(), progress=done.append)
    assert report.customers == len(recommender.customers())
    assert report.items == len(recommender.items())
    assert sum(done) == report.customers + report.items
    listing = cache.get("item", "p-0005")
    assert listing is not None and len(listing.items) == 10


def test_entries_redis_refused_stay_pending_until_it_is_back(
    tmp_path: Path, recommender: CovisitationRecommender
) -> None:
    server = LocalRedis(redis_settings(tmp_path))
    server.start()
    registry = CollectorRegistry()
    cache = RecommendationCache(make_redis_client(server.url, 0.2))
    precomputer = Precomputer(recommender, cache, debounce_seconds=0, metrics=PrecomputeMetrics(registry))
    try:
        server.kill()
        precomputer.customer_changed("c-00003")
        report = precomputer.run_due()
        assert report.failed == 1 and report.customers == 0
        assert precomputer.pending("customer") == 1
        assert _sample(registry, "streaming_recommendation_precompute_failures_total", kind="customer") == 1
        assert _sample(registry, "streaming_recommendation_precompute_pending", kind="customer") == 1
        server.start()
        assert precomputer.run_due().customers == 1
        assert cache.get("customer", "c-00003") is not None
    finally:
        server.stop()


def test_the_loop_precomputes_in_the_background(
    cache: RecommendationCache, recommender: CovisitationRecommender
) -> None:
    precomputer = Precomputer(recommender, cache, debounce_seconds=0)
    loop = PrecomputeLoop(precomputer, interval_seconds=0.01)
    precomputer.customer_changed("c-00004")
    loop.start()
    try:
        import time

        deadline = time.monotonic() + 10
        while cache.get("customer", "c-00004") is None and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        loop.stop()
    assert cache.get("customer", "c-00004") is not None
    assert loop.totals.customers == 1
