"""Every event type survives a trip through the real broker, and topic creation is idempotent."""

from __future__ import annotations

import pytest

from contracts import (
    Alert,
    FeatureContribution,
    Label,
    Score,
    SensorReadingBatch,
    Transaction,
    stable_alert_id,
)
from streaming.config import Settings
from streaming.kafka import ensure_topics, make_admin, topic_specs
from streaming.schemas import Codec, DeadLetter, WindowAggregate, encode
from streaming.services import registry
from tests.support.kafka import produce, read_all

pytestmark = pytest.mark.kafka

T0 = 1_767_225_600.0

EXAMPLES = [
    (
        "sensor_readings",
        SensorReadingBatch(
            machine_id="m-1",
            machine_type="H",
            event_time=[T0, T0 + 1],
            air_temperature_k=[298.1, 298.2],
            process_temperature_k=[308.5, 308.6],
            rotational_speed_rpm=[1503.0, 1499.5],
            torque_nm=[41.2, 40.8],
            vibration_mm_s=[2.1, 2.2],
            tool_wear_min=[12.0, 12.0],
        ),
    ),
    (
        "transactions",
        Transaction(
            transaction_id="t-1",
            card_id="c-1",
            customer_id="u-1",
            merchant_id="mer-9",
            merchant_category="electronics",
            amount=1299.99,
            currency="EUR",
            event_time=T0,
            latitude=48.85,
            longitude=2.35,
            device_id="d-7",
            channel="online",
            country="FR",
        ),
    ),
    (
        "labels",
        Label(
            kind="chargeback",
            entity_id="c-1",
            event_time=T0,
            reported_time=T0 + 86400,
            transaction_id="t-1",
            fraud_pattern="account_takeover",
        ),
    ),
    (
        "labels",
        Label(
            kind="machine_failure",
            entity_id="m-1",
            event_time=T0,
            reported_time=T0,
            failure_mode="heat_dissipation",
        ),
    ),
    (
        "sensor_windows",
        WindowAggregate(
            key="m-1",
            window_start=T0,
            window_end=T0 + 10,
            count=10,
            aggregates={"torque_nm": {"mean": 41.0, "p95": 44.2}},
            closed_by="watermark",
            attributes={"machine_type": "H"},
            emitted_at=T0 + 11,
        ),
    ),
    (
        "scores",
        Score(
            kind="fraud",
            entity_id="c-1",
            event_id="t-1",
            event_time=T0,
            score=0.93,
            threshold=0.7,
            decision=True,
            model_name="logistic+under",
            model_version=4,
            rule=None,
            anomaly_score=None,
            top_features=[FeatureContribution("amount_ratio", 2.4)],
            processing_latency_seconds=0.0004,
            event_to_score_latency_seconds=0.012,
            scored_at=T0 + 0.012,
        ),
    ),
    (
        "alerts",
        Alert(
            alert_id=stable_alert_id("fraud", "c-1", "t-1"),
            kind="fraud",
            entity_id="c-1",
            severity="critical",
            score=0.93,
            threshold=0.7,
            model_name="logistic+under",
            model_version=4,
            explanation="amount_ratio=2.4",
            event_time=T0,
            created_at=T0 + 0.02,
        ),
    ),
]


def test_every_event_type_round_trips_through_kafka(topics: Settings) -> None:
    for logical_topic, event in EXAMPLES:
        topic = topics.topic_name(logical_topic)
        produce(topics, topic, [(event.entity_key().encode(), encode(event))])
    for logical_topic, event in EXAMPLES:
        records = read_all(topics, topics.topic_name(logical_topic), idle_seconds=1.0)
        decoded = [Codec(type(event)).decode(record.value) for record in records]
        assert event in decoded, logical_topic
        assert all(
            record.key == event.entity_key().encode()
            for record in records
            if Codec(type(event)).decode(record.value) == event
        )


def test_dead_letter_schema_round_trips(topics: Settings) -> None:
    letter = DeadLetter(
        reason="validation_error",
        error_class="EventDecodeError",
        error_message="bad",
        source_topic="x",
        partition=1,
        offset=2,
        original_value=b"\x00\xff{",
        original_key=b"k",
        failed_at=T0,
    )
    produce(topics, topics.topic_name("dead_letters"), [(b"k", encode(letter))])
    import msgspec

    (record,) = read_all(topics, topics.topic_name("dead_letters"), expected=1)
    assert msgspec.json.decode(record.value, type=DeadLetter) == letter


def test_topic_creation_is_idempotent(settings: Settings) -> None:
    admin = make_admin(settings, settings.kafka.bootstrap_servers or "")
    try:
        first = ensure_topics(admin, settings)
        second = ensure_topics(admin, settings)
        described = {t["name"]: t for t in admin.describe_topics(list(first))}
    finally:
        admin.close()
    assert set(first.values()) == {"created"}
    assert set(second.values()) == {"exists"}
    assert set(first) == set(topic_specs(settings)) and len(first) == len(registry().topics)
    assert all(len(t["partitions"]) == settings.topics.partitions for t in described.values())
