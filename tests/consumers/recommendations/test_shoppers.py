"""The simulated shoppers against the real API over HTTP and a real Redis: every visit is answered, and
their feedback shows up in the API's online metrics."""

from __future__ import annotations

import httpx

from consumers.recommendations.cache import RecommendationCache
from consumers.recommendations.precompute import Precomputer
from consumers.recommendations.serving_settings import RecommendationServingSettings
from consumers.recommendations.shoppers import Shoppers
from tests.consumers.recommendations.conftest import ApiFactory
from tests.consumers.recommendations.support import CovisitationRecommender
from tests.consumers.recommendations.test_api import _metric


def test_shoppers_visit_click_and_buy_through_the_api(
    apis: ApiFactory,
    redis_url: str,
    serving: RecommendationServingSettings,
    cache: RecommendationCache,
    recommender: CovisitationRecommender,
) -> None:
    Precomputer(recommender, cache, top_n=20).precompute_all(["c-00001", "c-00002"], [])
    server, _state = apis.start(recommender, redis_url, serving)
    shoppers = Shoppers(server.url, customers=5, rate=1000.0, click_probability=1.0, seed=3)
    report = shoppers.run(count=40)

    assert report.visits == 40
    assert report.clicks == 40  # every visit got a list (cold start lists included) and clicked
    assert set(report.answers) <= {"200", "202"}
    with httpx.Client(base_url=server.url) as client:
        metrics = client.get("/metrics").text
    assert _metric(metrics, "streaming_recommendation_feedback_events_total", kind="click") == 40
    assert _metric(metrics, "streaming_recommendation_distinct_items") > 0


def test_shoppers_count_an_unreachable_api_instead_of_raising() -> None:
    report = Shoppers("http://127.0.0.1:9", customers=3, rate=1000.0, seed=1).run(count=3)
    assert report.visits == 3
    assert report.answers["ConnectError"] == 3


class _LoadsLater(CovisitationRecommender):
    """A fallback that knows no catalogue until its first artifacts arrive, as the reloading one does."""

    loaded = False

    @property
    def catalogue_size(self) -> int:
        return super().catalogue_size if self.loaded else 0


def test_coverage_appears_once_the_fallback_learns_its_catalogue(
    apis: ApiFactory,
    redis_url: str,
    serving: RecommendationServingSettings,
    recommender: CovisitationRecommender,
) -> None:
    later = _LoadsLater.__new__(_LoadsLater)
    later.__dict__.update(recommender.__dict__)
    server, _state = apis.start(later, redis_url, serving)
    with httpx.Client(base_url=server.url) as client:
        client.get("/recommendations/c-00001")
        assert "streaming_recommendation_catalogue_coverage_ratio{" not in client.get("/metrics").text
        later.loaded = True
        ratio = _metric(client.get("/metrics").text, "streaming_recommendation_catalogue_coverage_ratio")
    assert 0 < ratio <= 1
