"""The API over a real HTTP server and a real Redis: hits, misses, cold start, 404, 422, Redis killed,
replicas agreeing, and the online metrics."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from consumers.recommendations.cache import RecommendationCache, make_redis_client
from consumers.recommendations.precompute import Precomputer
from consumers.recommendations.redis_server import LocalRedis
from consumers.recommendations.serving_settings import RecommendationServingSettings
from tests.consumers.recommendations.conftest import ApiFactory, redis_settings
from tests.consumers.recommendations.support import CovisitationRecommender, load_recommender


def _metric(text: str, name: str, **labels: str) -> float:
    """One sample's value from a Prometheus exposition (0 when absent)."""
    wanted = {"service": "recommendations-api", **labels}
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        label_text = line[len(name) + 1 : line.index("}")]
        found = dict(part.split("=", 1) for part in label_text.split(",") if part)
        if {key: value.strip('"') for key, value in found.items()} == wanted:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def _precompute(cache: RecommendationCache, recommender: CovisitationRecommender, top_n: int = 20) -> None:
    Precomputer(recommender, cache, top_n=top_n).precompute_all(["c-00001", "c-00002"], ["p-0001", "p-0002"])


@pytest.fixture
def api(
    apis: ApiFactory,
    redis_url: str,
    serving: RecommendationServingSettings,
    cache: RecommendationCache,
    recommender: CovisitationRecommender,
) -> httpx.Client:
    _precompute(cache, recommender)
    server, _state = apis.start(recommender, redis_url, serving)
    return httpx.Client(base_url=server.url, timeout=10)


def test_a_precomputed_customer_is_a_cache_hit(api: httpx.Client, cache: RecommendationCache) -> None:
    response = api.get("/recommendations/c-00001", params={"k": 5})
    assert response.status_code == 200
    body = response.json()
    cached = cache.get("customer", "c-00001")
    assert cached is not None
    assert body["cache"] == "hit" and body["degraded"] is False and body["cold_start"] is False
    assert [item["item_id"] for item in body["items"]] == [item.item_id for item in cached.items[:5]]
    assert body["recommendation_id"] == cached.recommendation_id
    assert body["model_version"] == 1


def test_a_known_customer_not_precomputed_is_a_miss_answered_by_the_fallback(
    api: httpx.Client, recommender: CovisitationRecommender
) -> None:
    body = api.get("/recommendations/c-00100").json()
    assert body["cache"] == "miss" and body["degraded"] is False and body["cold_start"] is False
    expected = recommender.recommend("c-00100", 10)
    assert [item["item_id"] for item in body["items"]] == [item.item_id for item in expected.items]
    assert len(body["recommendation_id"]) == 16


def test_an_unknown_customer_gets_a_cold_start_list_flagged(
    api: httpx.Client, recommender: CovisitationRecommender
) -> None:
    body = api.get("/recommendations/someone-new", params={"k": 3, "details": "true"}).json()
    assert body["cold_start"] is True
    assert [item["item_id"] for item in body["items"]] == recommender.ranked_popular[:3]
    assert all(item["source"] == "popular" and item["name"] for item in body["items"])
    metrics = api.get("/metrics").text
    assert (
        _metric(metrics, "streaming_recommendation_cold_start_answers_total", endpoint="recommendations") == 1
    )


def test_similar_items_hit_miss_and_unknown(api: httpx.Client, recommender: CovisitationRecommender) -> None:
    hit = api.get("/items/p-0001/similar", params={"k": 4}).json()
    assert hit["cache"] == "hit" and len(hit["items"]) == 4
    miss = api.get("/items/p-0050/similar").json()
    expected = recommender.similar_items("p-0050", 10)
    assert expected is not None
    assert miss["cache"] == "miss" and [i["item_id"] for i in miss["items"]] == [
        i.item_id for i in expected.items
    ]
    unknown = api.get("/items/p-9999/similar")
    assert unknown.status_code == 404 and "unknown item" in unknown.json()["detail"]
    assert api.get("/items/p-9999").status_code == 404
    assert api.get("/items/p-0001").json()["category"] == recommender.history.catalogue["p-0001"]["category"]


@pytest.mark.parametrize("k", ["0", "21", "-1", "ten", "2.5"])
def test_k_out_of_range_is_422(api: httpx.Client, k: str) -> None:
    assert api.get("/recommendations/c-00001", params={"k": k}).status_code == 422
    assert api.get("/items/p-0001/similar", params={"k": k}).status_code == 422


def test_an_overlong_id_is_422(api: httpx.Client) -> None:
    assert api.get("/recommendations/" + "c" * 129).status_code == 422


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "impression", "customer_id": "c-1", "recommendation_id": "r"},  # no items
        {"kind": "click", "customer_id": "c-1", "item_id": "p-1"},  # no list
        {"kind": "purchase", "customer_id": "c-1"},  # no item
        {"kind": "like", "customer_id": "c-1", "item_id": "p-1"},  # unknown kind
        {"kind": "click", "customer_id": "c-1", "item_id": "p-1", "recommendation_id": "r", "extra": 1},
        {"kind": "click", "customer_id": "", "item_id": "p-1", "recommendation_id": "r"},
        {"kind": "purchase", "customer_id": "c-1", "item_id": "p-1", "event_time": 1.7e12},  # milliseconds
    ],
)
def test_malformed_feedback_is_422_and_nothing_is_buffered(
    apis: ApiFactory,
    redis_url: str,
    serving: RecommendationServingSettings,
    recommender: CovisitationRecommender,
    body: dict[str, object],
) -> None:
    server, state = apis.start(recommender, redis_url, serving, start_sink=False)
    with httpx.Client(base_url=server.url) as client:
        assert client.post("/feedback", json=body).status_code == 422
        assert (
            client.post(
                "/feedback", content=b"{not json", headers={"content-type": "application/json"}
            ).status_code
            == 422
        )
        metrics = client.get("/metrics").text
    assert state.feedback.buffered == 0
    assert (
        _metric(
            metrics, "streaming_recommendation_feedback_requests_total", kind="unknown", outcome="invalid"
        )
        == 2
    )


def test_online_metrics_click_through_hit_rate_and_coverage(api: httpx.Client) -> None:
    listing = api.get("/recommendations/c-00002").json()
    shown = [item["item_id"] for item in listing["items"]]
    list_id = listing["recommendation_id"]
    impression = {
        "kind": "impression",
        "customer_id": "c-00002",
        "recommendation_id": list_id,
        "item_ids": shown,
    }
    assert api.post("/feedback", json=impression).status_code == 202
    click = {"kind": "click", "customer_id": "c-00002", "recommendation_id": list_id, "item_id": shown[2]}
    assert api.post("/feedback", json=click).status_code == 202
    for item_id in (shown[2], shown[3]):  # the first purchase after the list is a hit, the next has no list
        assert (
            api.post(
                "/feedback", json={"kind": "purchase", "customer_id": "c-00002", "item_id": item_id}
            ).status_code
            == 202
        )
    assert api.post("/feedback", json=impression).status_code == 202
    assert (
        api.post(
            "/feedback", json={"kind": "purchase", "customer_id": "c-00002", "item_id": "p-9999"}
        ).status_code
        == 202
    )
    metrics = api.get("/metrics").text
    assert _metric(metrics, "streaming_recommendation_feedback_events_total", kind="impression") == 2 * len(
        shown
    )
    assert _metric(metrics, "streaming_recommendation_feedback_events_total", kind="click") == 1
    assert _metric(metrics, "streaming_recommendation_purchases_total", outcome="hit") == 1
    assert _metric(metrics, "streaming_recommendation_purchases_total", outcome="no_list") == 1
    assert _metric(metrics, "streaming_recommendation_purchases_total", outcome="miss") == 1
    assert _metric(metrics, "streaming_recommendation_distinct_items") == len(shown)
    assert _metric(metrics, "streaming_recommendation_catalogue_coverage_ratio") == pytest.approx(
        len(shown) / 120
    )
    assert (
        _metric(
            metrics, "streaming_recommendation_request_seconds_count", endpoint="recommendations", cache="hit"
        )
        == 1
    )


def test_healthz_answers(api: httpx.Client) -> None:
    body = api.get("/healthz").json()
    assert body["status"] == "ok" and body["fallback_model_version"] == 1


def test_redis_killed_gives_degraded_answers_and_a_counter_never_500(
    apis: ApiFactory, tmp_path: Path, recommender: CovisitationRecommender
) -> None:
    redis = LocalRedis(redis_settings(tmp_path))
    redis.start()
    serving = RecommendationServingSettings(
        top_n=20, redis_socket_timeout_seconds=0.2, redis_retry_after_seconds=0.3
    )
    try:
        cache = RecommendationCache(make_redis_client(redis.url, 2.0), serving.key_prefix)
        _precompute(cache, recommender)
        server, _state = apis.start(recommender, redis.url, serving)
        client = httpx.Client(base_url=server.url, timeout=10)
        assert client.get("/recommendations/c-00001").json()["cache"] == "hit"
        redis.kill()
        paths = ("/recommendations/c-00001", "/recommendations/nobody", "/items/p-0001/similar")
        answers = [client.get(path) for path in (*paths, "/recommendations/c-00001")]
        assert [answer.status_code for answer in answers] == [200, 200, 200, 200]
        assert all(answer.json()["degraded"] is True for answer in answers)
        assert all(answer.json()["cache"] == "unavailable" for answer in answers)
        assert answers[1].json()["cold_start"] is True
        expected = recommender.recommend("c-00001", 10)
        assert [i["item_id"] for i in answers[0].json()["items"]] == [i.item_id for i in expected.items]
        assert client.get("/items/p-9999/similar").status_code == 404
        feedback = {"kind": "purchase", "customer_id": "c-00001", "item_id": "p-0001"}
        assert client.post("/feedback", json=feedback).status_code == 202
        metrics = client.get("/metrics").text
        degraded = _metric(
            metrics, "streaming_recommendation_degraded_answers_total", endpoint="recommendations"
        )
        assert degraded == 3
        assert _metric(metrics, "streaming_recommendation_degraded_answers_total", endpoint="similar") == 2
        assert "skipped" in client.get("/healthz").json()["redis"]
        # Redis back (empty, as after a crash): the API uses it again once the retry interval passed.
        redis.start()
        deadline = time.monotonic() + 10
        body = client.get("/recommendations/c-00001").json()
        while body["cache"] == "unavailable" and time.monotonic() < deadline:
            body = client.get("/recommendations/c-00001").json()
        assert body["cache"] == "miss" and body["degraded"] is False
    finally:
        redis.stop()


def test_replicas_answer_identically_from_the_same_redis(
    apis: ApiFactory,
    tmp_path: Path,
    redis_url: str,
    serving: RecommendationServingSettings,
    cache: RecommendationCache,
    recommender: CovisitationRecommender,
) -> None:
    recommender.save(tmp_path / "artifacts")
    _precompute(cache, recommender)
    replicas = [apis.start(load_recommender(tmp_path / "artifacts"), redis_url, serving)[0] for _ in range(2)]
    clients = [httpx.Client(base_url=replica.url) for replica in replicas]
    paths = [
        "/recommendations/c-00001?k=7",  # hit
        "/recommendations/c-00150",  # miss
        "/recommendations/stranger",  # cold start
        "/items/p-0002/similar",  # hit
        "/items/p-0077/similar?k=3&details=true",  # miss
        "/items/p-9999/similar",  # 404
    ]
    for path in paths:
        first, second = (client.get(path) for client in clients)
        assert first.status_code == second.status_code, path
        assert first.content == second.content, path
