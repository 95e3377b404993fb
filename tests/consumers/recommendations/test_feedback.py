"""Feedback through the real API to the real Kafka: it reaches `shop-events`, malformed feedback writes
nothing, and while Kafka is unreachable feedback is buffered up to the bound, then refused with 503."""

from __future__ import annotations

import httpx
import pytest

from consumers.recommendations.feedback import RecordProducer
from consumers.recommendations.service import feedback_producer_factory, shop_events_topic
from consumers.recommendations.serving_settings import RecommendationServingSettings
from contracts.shop import ShopEvent
from streaming.config import Settings
from streaming.kafka.bootstrap import with_bootstrap
from streaming.schemas import Codec
from tests.consumers.recommendations.conftest import ApiFactory
from tests.consumers.recommendations.support import CovisitationRecommender, free_port
from tests.support.kafka import read_all

pytestmark = pytest.mark.kafka

CODEC = Codec(ShopEvent)


def test_feedback_reaches_the_topic_keyed_by_customer(
    apis: ApiFactory,
    settings: Settings,
    redis_url: str,
    serving: RecommendationServingSettings,
    recommender: CovisitationRecommender,
) -> None:
    server, state = apis.start(
        recommender, redis_url, serving, settings, producer_factory=feedback_producer_factory(settings, 10.0)
    )
    client = httpx.Client(base_url=server.url, timeout=10)
    listing = client.get("/recommendations/c-00003", params={"k": 3}).json()
    shown = [item["item_id"] for item in listing["items"]]
    list_id = listing["recommendation_id"]
    bodies = [
        {"kind": "impression", "customer_id": "c-00003", "recommendation_id": list_id, "item_ids": shown},
        {
            "kind": "click",
            "customer_id": "c-00003",
            "recommendation_id": list_id,
            "item_id": shown[1],
            "position": 1,
            "feedback_id": "click-1",
        },
        {"kind": "purchase", "customer_id": "c-00003", "item_id": shown[1], "event_time": 1.75e9},
    ]
    assert client.post("/feedback", json={"kind": "click", "customer_id": "c-00003"}).status_code == 422
    for body in bodies:
        assert client.post("/feedback", json=body).status_code == 202
    assert state.feedback.wait_until_empty(60)
    records = read_all(settings, shop_events_topic(settings), expected=5)
    events = [CODEC.decode(record.value) for record in records]
    assert len(events) == 5  # three impressions, one click, one purchase: the 422 wrote nothing
    assert {record.key for record in records} == {b"c-00003"}
    by_type = {event.event_type: [e for e in events if e.event_type == event.event_type] for event in events}
    assert sorted(event.product_id for event in by_type["impression"]) == sorted(shown)
    assert {event.recommendation_id for event in by_type["impression"]} == {list_id}
    (click,) = by_type["click"]
    assert (click.event_id, click.product_id, click.position, click.list_kind) == (
        "click-1-0",
        shown[1],
        1,
        "customer",
    )
    (purchase,) = by_type["purchase"]
    assert purchase.event_time == 1.75e9 and purchase.source == "storefront"
    assert len({event.event_id for event in events}) == 5


def test_kafka_unreachable_buffers_up_to_the_bound_then_503_then_drains(
    apis: ApiFactory,
    settings: Settings,
    redis_url: str,
    key_prefix: str,
    recommender: CovisitationRecommender,
) -> None:
    target = {"bootstrap": f"127.0.0.1:{free_port()}"}  # nothing listens there

    def factory() -> RecordProducer:
        return feedback_producer_factory(with_bootstrap(settings, target["bootstrap"]), 3.0)()

    serving = RecommendationServingSettings(key_prefix=key_prefix, feedback_buffer_events=5, top_n=20)
    server, state = apis.start(recommender, redis_url, serving, settings, producer_factory=factory)
    client = httpx.Client(base_url=server.url, timeout=10)
    impression = {
        "kind": "impression",
        "customer_id": "c-00004",
        "recommendation_id": "r-1",
        "item_ids": ["p-0001", "p-0002", "p-0003"],
    }
    click = {"kind": "click", "customer_id": "c-00004", "recommendation_id": "r-1", "item_id": "p-0002"}
    assert client.post("/feedback", json=impression).json() == {"accepted": 3, "buffered": 3}
    assert client.post("/feedback", json=click).status_code == 202
    assert client.post("/feedback", json=impression).status_code == 503  # 3 more do not fit: none taken
    assert client.post("/feedback", json=click).status_code == 202  # the fifth fits exactly
    refused = client.post("/feedback", json=click)
    assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
    assert state.feedback.buffered == 5
    assert client.get("/healthz").json()["kafka"] == "not connected"
    metrics = client.get("/metrics").text
    assert 'streaming_recommendation_feedback_buffered{service="recommendations-api"} 5.0' in metrics
    assert 'kind="click",outcome="refused",service="recommendations-api"} 1.0' in metrics
    # Kafka becomes reachable: the buffer drains into the topic, and feedback is taken again.
    target["bootstrap"] = settings.kafka.bootstrap_servers or ""
    assert state.feedback.wait_until_empty(60)
    assert client.post("/feedback", json=click).status_code == 202
    assert state.feedback.wait_until_empty(30)
    records = read_all(settings, shop_events_topic(settings), expected=6)
    kinds = sorted(CODEC.decode(record.value).event_type for record in records)
    assert kinds == ["click", "click", "click", "impression", "impression", "impression"]
