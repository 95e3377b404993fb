"""Helpers of the learning service tests: feed a synthetic stream to the real broker while a service runs."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any

from contracts import Label, Score
from streaming.app import Application
from streaming.config import Settings
from streaming.kafka import ConsumerRecord, make_producer
from streaming.schemas import Codec, encode
from tests.support.kafka import read_all


def produce_progressively(
    settings: Settings,
    events: Iterable[Any],
    input_topic: str,
    chunk: int = 400,
    pause_seconds: float = 0.3,
) -> int:
    """Send events in event-time order, in chunks with pauses, like a live stream (labels to `labels`)."""
    producer = make_producer(settings, settings.kafka.bootstrap_servers or "", role="test-feed")
    sent = 0
    try:
        for event in events:
            topic = settings.topic_name("labels" if isinstance(event, Label) else input_topic)
            producer.send(
                topic,
                key=event.entity_key().encode(),
                value=encode(event),
                timestamp_ms=int(getattr(event, "event_time", getattr(event, "window_end", 0.0)) * 1000),
            )
            sent += 1
            if sent % chunk == 0:
                producer.flush(timeout=30)
                time.sleep(pause_seconds)
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=10)
    return sent


def run_in_thread(app: Application, **options: Any) -> tuple[threading.Thread, dict[str, Any]]:
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["summary"] = app.run(**options)
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, outcome


def read_scores(settings: Settings, expected: int | None = None, timeout: float = 30.0) -> list[Score]:
    codec = Codec(Score)
    records: list[ConsumerRecord] = read_all(
        settings, settings.topic_name("scores"), expected=expected, timeout_seconds=timeout
    )
    return [codec.decode(record.value) for record in records]


def wait_for_leaders(settings: Settings, logical_topics: Iterable[str], timeout: float = 30.0) -> None:
    """Wait until every partition of the topics has a leader: a consumer group that joins before that
    may get an empty assignment (kafka-python's range assignor logs "No partition metadata")."""
    from streaming.kafka import make_admin

    names = [settings.topic_name(topic) for topic in logical_topics]
    admin = make_admin(settings, settings.kafka.bootstrap_servers or "")
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            described = admin.describe_topics(names)
            ready = all(
                topic.get("error_code", 0) == 0
                and topic["partitions"]
                and all(partition.get("leader_id", -1) >= 0 for partition in topic["partitions"])
                for topic in described
            )
            if ready:
                return
            time.sleep(0.2)
    finally:
        admin.close()
    raise TimeoutError(f"no leaders for {names} after {timeout}s")
