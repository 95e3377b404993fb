"""Exactly-once window output across kill -9 and across a rebalance, with real processes and a real broker."""

from __future__ import annotations

import signal
from pathlib import Path

import msgspec
import pytest

from streaming.config import Settings
from streaming.schemas import WindowAggregate
from tests.support.kafka import produce, read_all
from tests.support.processes import start_cli, stop, wait_for_commits, wait_for_log
from tests.support.sensors import reference_windows, sensor_records

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

WINDOW_ENV = {
    "STREAMING_WINDOWS__WINDOW_SIZE_SECONDS": "10",
    "STREAMING_WINDOWS__ALLOWED_LATENESS_SECONDS": "5",
    "STREAMING_WINDOWS__IDLE_TIMEOUT_SECONDS": "3600",
    "STREAMING_WINDOWS__STATE_TTL_SECONDS": "7200",
    # Small polls make many small transactions, so the kills land mid-stream.
    "STREAMING_PROCESSING__MAX_POLL_RECORDS": "25",
}


def downsampler_arguments(
    settings: Settings, instance_id: str, idle_exit: float = 6.0, duration: float = 120.0
) -> list[str]:
    return [
        "consume",
        "windows",
        "--bootstrap",
        settings.kafka.bootstrap_servers or "",
        "--topic-prefix",
        settings.topics.prefix,
        "--instance-id",
        instance_id,
        "--idle-exit",
        str(idle_exit),
        "--duration",
        str(duration),
        "--no-metrics",
    ]


def assigned_partitions(log: Path) -> set[int]:
    """The partitions a process last reported as assigned, from its log line `assigned partitions [..]`."""
    lines = [line for line in log.read_text().splitlines() if "assigned partitions" in line]
    listed = lines[-1].split("assigned partitions [")[1].split("]")[0]
    return {int(number) for number in listed.split(",") if number.strip()}


def windows_output(settings: Settings, expected: int) -> list[WindowAggregate]:
    records = read_all(settings, settings.topic_name("sensor_windows"), expected=expected, idle_seconds=3.0)
    return [msgspec.json.decode(r.value, type=WindowAggregate) for r in records]


def assert_exactly_reference(outputs: list[WindowAggregate], expected: dict) -> None:
    keys = [(w.key, round(w.window_start, 3)) for w in outputs]
    assert len(keys) == len(set(keys)), f"{len(keys) - len(set(keys))} duplicate window records"
    assert set(keys) == set(expected), "windows lost or invented"
    for window in outputs:
        reference = expected[(window.key, round(window.window_start, 3))]
        assert window.count == reference["count"], "events lost or double-counted"
        assert window.aggregates["torque_nm"]["mean"] == pytest.approx(
            reference["torque_nm"]["mean"], rel=1e-9
        )
        assert window.aggregates["vibration_mm_s"]["last"] == pytest.approx(
            reference["vibration_mm_s"]["last"]
        )


def prepare(settings: Settings, machines: int, seconds: int) -> tuple[int, dict]:
    records = sensor_records(machines=machines, seconds=seconds, seed=11)
    produce(settings, settings.topic_name("sensor_readings"), records)
    consumed = read_all(settings, settings.topic_name("sensor_readings"), expected=len(records))
    expected, _late = reference_windows(
        [(r.partition, r.offset, r.value) for r in consumed], size=10.0, step=10.0, allowed_lateness=5.0
    )
    return len(records), expected


def test_kill_minus_nine_at_several_points_equals_uninterrupted(topics: Settings, tmp_path: Path) -> None:
    settings = topics
    total, expected = prepare(settings, machines=30, seconds=200)
    group = f"{settings.topics.prefix}downsampler"
    source = settings.topic_name("sensor_readings")
    log = tmp_path / "downsampler.log"
    for fraction in (0.2, 0.5, 0.8):
        process = start_cli(downsampler_arguments(settings, "crash"), log, WINDOW_ENV)
        try:
            wait_for_commits(settings, group, source, int(total * fraction), timeout_seconds=90)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
    final = start_cli(downsampler_arguments(settings, "crash"), log, WINDOW_ENV)
    assert final.wait(timeout=150) == 0, log.read_text()[-3000:]

    assert_exactly_reference(windows_output(settings, len(expected)), expected)


def test_rebalance_one_of_two_processes_stopped_mid_stream(topics: Settings, tmp_path: Path) -> None:
    settings = topics
    total, expected = prepare(settings, machines=30, seconds=200)
    group = f"{settings.topics.prefix}downsampler"
    source = settings.topic_name("sensor_readings")
    first = start_cli(downsampler_arguments(settings, "a", idle_exit=8.0), tmp_path / "a.log", WINDOW_ENV)
    second = start_cli(downsampler_arguments(settings, "b", idle_exit=8.0), tmp_path / "b.log", WINDOW_ENV)
    try:
        wait_for_log(tmp_path / "b.log", "assigned partitions", timeout_seconds=60)
        # Stop b only once it has committed state of its own, so the takeover has something to restore.
        b_partitions = assigned_partitions(tmp_path / "b.log")
        wait_for_commits(settings, group, source, 1, timeout_seconds=90, partitions=b_partitions)
        wait_for_commits(settings, group, source, int(total * 0.3), timeout_seconds=90)
        assert stop(second) == 0, (tmp_path / "b.log").read_text()[-3000:]
        assert first.wait(timeout=150) == 0, (tmp_path / "a.log").read_text()[-3000:]
    finally:
        stop(first)
        stop(second)

    # The surviving process took over the stopped one's partitions and restored their state from Kafka.
    takeovers = [
        line
        for line in (tmp_path / "a.log").read_text().splitlines()
        if "assigned partitions" in line and "restored 0 state keys" not in line
    ]
    assert takeovers, (tmp_path / "a.log").read_text()[-3000:]
    assert_exactly_reference(windows_output(settings, len(expected)), expected)
