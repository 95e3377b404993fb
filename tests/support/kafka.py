"""Small helpers tests use to put records into, and read them back from, the real broker."""

from __future__ import annotations

import time
from collections.abc import Iterable

from streaming.config import Settings
from streaming.kafka import ConsumerRecord, TopicPartition, make_consumer, make_producer


def produce(
    settings: Settings, topic: str, records: Iterable[tuple[bytes | None, bytes | None]], **options: object
) -> int:
    """Send (key, value) pairs and flush. Returns how many were sent."""
    producer = make_producer(
        settings, settings.kafka.bootstrap_servers or "", role="test-producer", **options
    )
    count = 0
    try:
        for key, value in records:
            producer.send(topic, key=key, value=value)
            count += 1
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=10)
    return count


def read_all(
    settings: Settings,
    topic: str,
    expected: int | None = None,
    timeout_seconds: float = 30.0,
    idle_seconds: float = 2.0,
) -> list[ConsumerRecord]:
    """Every committed record of a topic, from the beginning.

    Stops when `expected` records arrived, or, without `expected`, after `idle_seconds` with nothing new.
    """
    consumer = make_consumer(settings, settings.kafka.bootstrap_servers or "", group_id=None)
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        deadline = time.monotonic() + timeout_seconds
        while not partitions and time.monotonic() < deadline:
            time.sleep(0.1)
            partitions = consumer.partitions_for_topic(topic) or set()
        assigned = [TopicPartition(topic, partition) for partition in sorted(partitions)]
        consumer.assign(assigned)
        consumer.seek_to_beginning(*assigned)
        records: list[ConsumerRecord] = []
        last_arrival = time.monotonic()
        while time.monotonic() < deadline:
            batch = consumer.poll(timeout_ms=200)
            for partition_records in batch.values():
                records.extend(partition_records)
            if batch:
                last_arrival = time.monotonic()
            if expected is not None and len(records) >= expected:
                break
            if expected is None and time.monotonic() - last_arrival > idle_seconds:
                break
        return records
    finally:
        consumer.close()


def produce_stamped(
    settings: Settings, topic: str, records: Iterable[tuple[bytes | None, bytes | None, int]]
) -> int:
    """Send (key, value, timestamp_ms) triples, stamped as the producers stamp them (event time), and
    flush. Returns how many were sent."""
    producer = make_producer(settings, settings.kafka.bootstrap_servers or "", role="test-producer")
    count = 0
    try:
        for key, value, timestamp_ms in records:
            producer.send(topic, key=key, value=value, timestamp_ms=timestamp_ms)
            count += 1
        producer.flush(timeout=60)
    finally:
        producer.close(timeout=10)
    return count
