"""`streaming consume recommendations` on the real broker and Redis: the simulated shop goes in, Redis gets
precomputed lists, artifacts are saved for the API, and the API serves lists that follow the simulated
customers' hidden tastes better than popularity does. A restart relearns from its checkpoint."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx
import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from consumers.recommendations.api import create_app
from consumers.recommendations.artifacts import load_artifacts
from consumers.recommendations.cache import RecommendationCache, make_redis_client
from consumers.recommendations.learner_service import build
from consumers.recommendations.reloading import ReloadingRecommender
from consumers.recommendations.service import BackgroundServer, build_state
from consumers.recommendations.serving_settings import RecommendationServingSettings
from producers.shop_producer import ShopProducer
from streaming.config import Settings

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

T0 = 1_767_225_600.0


def _settings(topics: Settings, tmp_path: Path, key_prefix: str) -> Settings:
    return topics.model_copy(
        update={
            "shop": topics.shop.model_copy(
                update={"customers": 300, "products": 150, "sessions_per_customer_day": 20.0}
            ),
            "recommendation_serving": topics.recommendation_serving.model_copy(
                update={"artifacts_dir": tmp_path / "artifacts", "key_prefix": key_prefix}
            ),
            "recommendations": topics.recommendations.model_copy(
                update={
                    "artifacts_interval_seconds": 1.0,
                    "checkpoint_interval_seconds": 3_600.0,
                    "fold_in_events": 500,
                }
            ),
        }
    )


def test_the_learner_feeds_redis_and_the_api_and_follows_hidden_tastes(
    topics: Settings, tmp_path: Path, redis_url: str, key_prefix: str
) -> None:
    settings = _settings(topics, tmp_path, key_prefix)
    producer = ShopProducer(settings, seed=5, start_time=T0)
    summary = producer.run(count=20_000, rate="max", progress=False)
    assert summary.error_count == 0
    app, learner = build(settings, settings.kafka.bootstrap_servers, redis_url=redis_url)
    app.run(idle_exit_seconds=4.0, duration=240)
    assert learner.events_seen >= 15_000 and len(learner.products) >= 150

    cache = RecommendationCache(make_redis_client(redis_url, 2.0), key_prefix)
    world = producer.world
    customers = [f"u-{index:06d}" for index in range(0, 300, 7)]
    cached = [cache.get("customer", customer) for customer in customers]
    assert sum(entry is not None for entry in cached) >= len(customers) * 0.8, "precomputed lists in Redis"

    fallback = ReloadingRecommender(tmp_path / "artifacts", load_artifacts)
    assert fallback.model_version > 0, "the learner saved artifacts the API can load"
    serving = settings.section("recommendation_serving", RecommendationServingSettings)
    state = build_state(
        settings,
        fallback,
        redis_url,
        registry=CollectorRegistry(),
        producer_factory=lambda: None,
        serving=serving,
    )
    # Popularity, the baseline to beat: the products most interacted with.
    counts = Counter(event.product_id for event in learner.recent if event.event_type != "impression")
    popular = [product for product, _ in counts.most_common(10)]
    catalogue = sorted(learner.products)
    with BackgroundServer(create_app(state)) as server:
        by_model, by_popularity = [], []
        for customer in customers:
            answer = httpx.get(f"{server.url}/recommendations/{customer}", params={"k": 10}, timeout=5).json()
            items = [entry["item_id"] for entry in answer["items"]]
            assert len(items) == 10
            utility = dict(zip(catalogue, world.utility(customer, catalogue), strict=True))
            by_model.append(np.mean([utility[item] for item in items]))
            by_popularity.append(np.mean([utility[item] for item in popular]))
        metrics = httpx.get(f"{server.url}/metrics", timeout=5).text
    assert np.mean(by_model) > np.mean(by_popularity), (np.mean(by_model), np.mean(by_popularity))
    # The artifacts' catalogue is the coverage's denominator: the real fallback reports it too.
    assert "streaming_recommendation_catalogue_coverage_ratio{" in metrics
