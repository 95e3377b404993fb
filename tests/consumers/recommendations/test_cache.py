"""The cache in a real Redis: round trips, TTLs, compression when it pays, eviction under the LRU bound,
failure as `CacheUnavailable`, and the memory a million entries take."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from consumers.recommendations.cache import (
    CacheEntry,
    CacheUnavailable,
    ListCodec,
    RecommendationCache,
    make_redis_client,
    measure_memory,
)
from consumers.recommendations.interface import Recommendation, RecommendationList
from consumers.recommendations.redis_server import LocalRedis
from tests.consumers.recommendations.conftest import redis_settings
from tests.consumers.recommendations.support import CovisitationRecommender


def _listing(length: int, version: int = 4) -> RecommendationList:
    items = tuple(Recommendation(f"p-{index:06d}", 1.0 / (index + 1), "hybrid") for index in range(length))
    return RecommendationList(items, version, cold_start=False, recommendation_id="abc", computed_at=1.7e9)


def test_round_trip_keeps_everything_the_api_shows(cache: RecommendationCache) -> None:
    listing = RecommendationList(
        (Recommendation("p-1", 0.75, "collaborative"), Recommendation("p-2", 0.5, "content")),
        model_version=9,
        cold_start=True,
        recommendation_id="r-1",
        computed_at=1_700_000_000.25,
        extra={"segment": "3"},
    )
    cache.put("customer", "c-1", listing)
    assert cache.get("customer", "c-1") == listing
    assert cache.get("item", "c-1") is None  # kinds do not collide
    assert cache.get("customer", "c-2") is None


def test_every_entry_has_the_ttl(cache: RecommendationCache) -> None:
    cache.put_many([CacheEntry("item", f"p-{index}", _listing(3)) for index in range(5)])
    ttls = [cache.ttl("item", f"p-{index}") for index in range(5)]
    assert all(590 <= ttl <= 600 for ttl in ttls), ttls
    assert cache.ttl("item", "p-none") == -2


def test_compression_is_used_only_when_it_pays() -> None:
    codec = ListCodec(compress_min_bytes=256)
    short = codec.encode(_listing(3))
    long = codec.encode(_listing(100))
    assert short[:1] == b"\x00"
    assert long[:1] == b"\x01"
    assert len(long) < 0.9 * len(ListCodec(compress_min_bytes=10**9).encode(_listing(100)))
    assert codec.decode(long).items == codec.decode(ListCodec(10**9).encode(_listing(100))).items


def test_scores_survive_as_float32() -> None:
    codec = ListCodec()
    decoded = codec.decode(codec.encode(_listing(10)))
    assert [item.score for item in decoded.items] == pytest.approx(
        [1.0 / (i + 1) for i in range(10)], rel=1e-6
    )


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="format tag"):
        ListCodec().decode(b"\x07junk")


def test_a_down_redis_is_cache_unavailable_quickly() -> None:
    cache = RecommendationCache(make_redis_client("redis://127.0.0.1:1/0"))
    with pytest.raises(CacheUnavailable):
        cache.get("customer", "c-1")
    with pytest.raises(CacheUnavailable):
        cache.put("customer", "c-1", _listing(2))


def test_the_lru_bound_evicts_instead_of_refusing(tmp_path: Path) -> None:
    server = LocalRedis(redis_settings(tmp_path, redis_maxmemory_bytes=4 * 1024 * 1024))
    server.start()
    try:
        cache = RecommendationCache(make_redis_client(server.url, 2.0), ttl_seconds=600)
        listing = _listing(50)
        for start in range(0, 20_000, 1000):
            cache.put_many(
                CacheEntry("customer", f"c-{index}", listing) for index in range(start, start + 1000)
            )
        client = redis.Redis.from_url(server.url)
        info = client.info()
        assert int(info["evicted_keys"]) > 0
        assert int(info["used_memory"]) <= 4 * 1024 * 1024 * 1.05
        assert client.dbsize() < 20_000
        # Writes never failed, and what survived still decodes. Which keys survive is a matter of Redis's
        # sampling (its LRU clock has one-second resolution), and any command near the bound, a read too, may
        # evict one more: so look at a sample of survivors, not at one.
        survivors = [
            key.decode().split(":", 2)[2]
            for _, key in zip(range(50), client.scan_iter(count=100), strict=False)
        ]
        kept = [listing_ for listing_ in (cache.get("customer", name) for name in survivors) if listing_]
        assert kept and all(
            [item.item_id for item in entry.items] == [i.item_id for i in listing.items] for entry in kept
        )
        client.close()
    finally:
        server.stop()


def test_memory_per_million_is_measured_and_cleaned_up(
    cache: RecommendationCache, recommender: CovisitationRecommender
) -> None:
    entries = [(customer, recommender.recommend(customer, 20)) for customer in recommender.customers()]
    measurement = measure_memory(cache, "customer", entries)
    # At least the values themselves, and less than a few hundred bytes of overhead per key.
    assert measurement.used_memory_delta_bytes >= measurement.mean_value_bytes * len(entries)
    assert measurement.used_memory_delta_bytes / len(entries) < measurement.mean_value_bytes + 400
    assert measurement.as_dict()["mib_per_million"] > 0
    assert not cache.client.keys(f"{cache.key_prefix}-memory-*")
