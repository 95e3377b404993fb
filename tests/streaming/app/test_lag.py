"""Consumer lag reaches 0 once a service has caught up, also on inputs written in transactions, whose
commit markers occupy offsets that no consumer ever reads."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from contracts import Label
from streaming.app import Application, RecordHandler
from streaming.config import Settings
from streaming.kafka import OutputProducer
from streaming.metrics import CONSUMER_LAG
from streaming.schemas import Codec, encode

pytestmark = pytest.mark.kafka

T0 = 1_767_225_600.0


def test_lag_is_zero_after_catching_up_on_a_transactional_input(topics: Settings) -> None:
    producer = OutputProducer(topics, topics.kafka.bootstrap_servers or "", "test", f"lag-{uuid.uuid4().hex}")
    for batch in range(5):
        producer.begin_transaction()
        for index in range(10):
            label = Label(
                kind="chargeback",
                entity_id="c-1",
                event_time=T0 + index,
                reported_time=T0 + index,
                transaction_id=f"t-{batch}-{index}",
            )
            producer.send(topics.topic_name("labels"), b"c-1", encode(label))
        producer.commit_transaction()
    producer.close()
    settings = topics.model_copy(
        update={"processing": topics.processing.model_copy(update={"lag_refresh_seconds": 0.2})}
    )
    service = f"lag-{uuid.uuid4().hex[:6]}"
    app = Application(settings, service=service, group_id=service, guarantee="at-least-once")
    app.add(RecordHandler("labels", Codec(Label), lambda event, record, context: None))
    runner = threading.Thread(target=app.run, kwargs={"duration": 60})
    runner.start()
    lags: dict[tuple[str, ...], float] = {}
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            lags = {
                labels: child._value.get()
                for labels, child in list(CONSUMER_LAG._metrics.items())
                if labels[0] == service
            }
            if app.summary.records_in == 50 and len(lags) == 4 and set(lags.values()) == {0.0}:
                break
            time.sleep(0.1)
    finally:
        app.stop()
        runner.join(timeout=30)
    assert app.summary.records_in == 50
    assert len(lags) == 4 and set(lags.values()) == {0.0}, lags
