"""A broker outage is not silence: while the downsampler cannot fetch, its idle clock stands still, so no
window is closed as idle during the outage and the readings that were waiting in the broker are not late."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from consumers.downsampler.service import build
from streaming.broker import LocalBroker
from streaming.config import Settings
from streaming.kafka import ensure_topics, make_admin
from streaming.schemas import WindowAggregate
from tests.consumers.downsampler.test_idle_and_ttl import reading, wait_until
from tests.support.brokers import killable_broker
from tests.support.kafka import produce, read_all

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

IDLE_TIMEOUT = 2.0


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[LocalBroker]:
    broker = killable_broker(tmp_path / "broker")
    broker.start()
    try:
        yield broker
    finally:
        broker.kill()


def test_no_idle_close_while_the_broker_is_down(broker: LocalBroker, tmp_path: Path) -> None:
    settings = Settings(
        kafka={"bootstrap_servers": broker.bootstrap},
        topics={"prefix": "outage."},
        processing={
            "state_dir": str(tmp_path / "state"),
            "commit_interval_ms": 100,
            "commit_timeout_seconds": 5.0,
        },
        windows={
            "window_size_seconds": 10.0,
            "allowed_lateness_seconds": 0.0,
            "idle_timeout_seconds": IDLE_TIMEOUT,
            "state_ttl_seconds": 60.0,
        },
    )
    admin = make_admin(settings, broker.bootstrap)
    try:
        ensure_topics(admin, settings)
    finally:
        admin.close()
    source = settings.topic_name("sensor_readings")
    app = build(settings)
    runner = threading.Thread(target=app.run, kwargs={"duration": 150})
    runner.start()
    try:
        produce(settings, source, [reading("m-1", second) for second in (1.0, 2.0)])
        wait_until(lambda: app.summary.records_in >= 2, timeout_seconds=60)
        broker.kill()
        # The outage lasts several idle timeouts of the processing clock's own measure: it must not move.
        wait_until(lambda: app.clock.paused, timeout_seconds=60)
        paused_at = app.clock()
        deadline = time.monotonic() + 5 * IDLE_TIMEOUT
        while time.monotonic() < deadline:
            assert app.clock() == paused_at
            time.sleep(0.2)
        broker.start()
        # Waiting in the broker (and in the producer) across the outage: the same window, then a reading
        # that moves the watermark past it.
        produce(settings, source, [reading("m-1", 4.0), reading("m-1", 15.0)])
        wait_until(lambda: app.summary.records_in >= 4, timeout_seconds=90)
        windows = [
            msgspec.json.decode(record.value, type=WindowAggregate)
            for record in read_all(
                settings, settings.topic_name("sensor_windows"), expected=1, timeout_seconds=60
            )
        ]
    finally:
        app.stop()
        runner.join(timeout=60)

    assert [(window.window_start % 100, window.count, window.closed_by) for window in windows] == [
        (0.0, 3, "watermark")
    ]
    assert read_all(settings, settings.topic_name("late_events"), idle_seconds=1.0) == []
