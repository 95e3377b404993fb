"""A machine that stops sending still gets its window closed; silent machines are forgotten (TTL)."""

from __future__ import annotations

import threading
import time

import msgspec
import pytest

from consumers.downsampler.service import build
from contracts import SENSOR_FIELDS, SensorReadingBatch
from streaming.config import Settings
from streaming.kafka.topics import changelog_topic
from streaming.schemas import WindowAggregate, encode
from tests.support.kafka import produce, read_all

pytestmark = pytest.mark.kafka

T0 = 1_767_225_600.0


def reading(machine: str, second: float) -> tuple[bytes, bytes]:
    batch = SensorReadingBatch(
        machine_id=machine,
        machine_type="L",
        event_time=[T0 + second],
        **{name: [v] for name, v in zip(SENSOR_FIELDS, (298.0, 308.0, 1500.0, 40.0, 2.0, 1.0), strict=True)},
    )
    return machine.encode(), encode(batch)


def wait_until(condition: object, timeout_seconds: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise TimeoutError("condition not met in time")


def test_idle_machine_window_closes_then_late_reading_goes_to_late_topic_then_state_expires(
    topics: Settings,
) -> None:
    windows = topics.windows.model_copy(
        update={
            "window_size_seconds": 10.0,
            "allowed_lateness_seconds": 0.0,
            "idle_timeout_seconds": 2.0,
            "state_ttl_seconds": 4.0,
        }
    )
    settings = topics.model_copy(update={"windows": windows})
    app = build(settings)
    runner = threading.Thread(target=app.run, kwargs={"duration": 60})
    runner.start()
    try:
        # Three readings in [0, 10): the watermark never passes 10, so only idleness can close the window.
        produce(
            settings, settings.topic_name("sensor_readings"), [reading("m-idle", s) for s in (1.0, 2.0, 3.0)]
        )

        def window_out() -> list[WindowAggregate]:
            return [
                msgspec.json.decode(r.value, type=WindowAggregate)
                for r in read_all(settings, settings.topic_name("sensor_windows"), idle_seconds=0.5)
            ]

        wait_until(lambda: window_out(), timeout_seconds=30)
        (window,) = window_out()
        assert (window.key, window.window_start, window.count, window.closed_by) == ("m-idle", T0, 3, "idle")

        # A reading for the window already closed for idleness is late, not a second window record.
        produce(settings, settings.topic_name("sensor_readings"), [reading("m-idle", 4.0)])
        wait_until(lambda: read_all(settings, settings.topic_name("late_events"), idle_seconds=0.5))
        assert len(window_out()) == 1

        # Silent past the TTL: the key's state is deleted (a tombstone in the changelog).
        changelog = changelog_topic(settings, settings.windows.group_id, "windows")

        def tombstoned() -> bool:
            # Keys of the changelog carry their namespace (b"\x01k" for keys, b"\x01m" for store meta).
            records = [r for r in read_all(settings, changelog, idle_seconds=0.5) if r.key == b"\x01km-idle"]
            return bool(records) and records[-1].value is None

        wait_until(tombstoned, timeout_seconds=30)
    finally:
        app.stop()
        runner.join(timeout=30)
    assert not runner.is_alive()
