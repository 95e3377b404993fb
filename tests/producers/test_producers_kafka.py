"""The producers against the real broker: rate, determinism, labels, faults, metrics, CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from prometheus_client import REGISTRY

from contracts import SensorReadingBatch
from producers.sensors import SensorProducer
from producers.transactions import TransactionProducer
from streaming.config import Settings
from streaming.schemas import Codec, EventDecodeError
from tests.support.kafka import read_all
from tests.support.processes import start_cli, wait_for_log

pytestmark = pytest.mark.kafka
START = 1_700_000_000.0


def _with_producers(settings: Settings, **updates: object) -> Settings:
    return settings.model_copy(update={"producers": settings.producers.model_copy(update=updates)})


def test_rate_is_accurate_within_five_percent(topics: Settings) -> None:
    """A modest target (2,000 readings/s for 3 s); the tolerance is the issue's 5 %."""
    summary = SensorProducer(topics, machines=50, seed=1, start_time=START).run(
        count=6_000, rate=2_000.0, progress=False
    )
    assert summary.events == 6_000
    assert summary.error_count == 0
    assert summary.events_per_second == pytest.approx(2_000.0, rel=0.05)
    records = read_all(topics, topics.topic_name("sensor_readings"), expected=summary.records)
    assert sum(len(orjson.loads(record.value)["event_time"]) for record in records) == 6_000
    name = topics.topic_name("sensor_readings")
    assert (
        REGISTRY.get_sample_value(
            "streaming_producer_events_total", {"service": "producer-sensors", "topic": name}
        )
        == 6_000
    )


def test_same_seed_gives_the_same_events_on_the_broker(settings: Settings) -> None:
    def produce(prefix: str) -> list[tuple[bytes, bytes, int]]:
        scoped = settings.model_copy(update={"topics": settings.topics.model_copy(update={"prefix": prefix})})
        TransactionProducer(scoped, cards=300, seed=21, start_time=START, fraud_rate=0.05).run(
            count=1_500, rate="max", progress=False
        )
        records = read_all(scoped, scoped.topic_name("transactions"), expected=1_500)
        return sorted((record.key, record.value, record.timestamp) for record in records)

    first = produce(settings.topics.prefix + "a.")
    second = produce(settings.topics.prefix + "b.")
    assert len(first) == 1_500
    assert first == second


def test_chargebacks_reach_the_labels_topic_late_and_keyed_by_card(topics: Settings) -> None:
    summary = TransactionProducer(
        topics, cards=400, seed=3, start_time=START, fraud_rate=0.05, chargeback_delay_seconds=600.0
    ).run(count=2_000, rate="max", progress=False)
    transactions = {
        orjson.loads(record.value)["transaction_id"]: record
        for record in read_all(topics, topics.topic_name("transactions"), expected=2_000)
    }
    labels = read_all(topics, topics.topic_name("labels"), expected=summary.labels)
    assert summary.labels > 20 and len(labels) == summary.labels
    for record in labels:
        label = orjson.loads(record.value)
        assert label["kind"] == "chargeback"
        assert record.key == label["entity_id"].encode()
        assert record.timestamp == int(label["reported_time"] * 1000)
        assert 300.0 - 1e-3 <= label["reported_time"] - label["event_time"] <= 900.0 + 1e-3
        assert transactions[label["transaction_id"]].key == record.key


def test_faults_are_injected_as_counted(topics: Settings) -> None:
    settings = _with_producers(
        topics, bad_fraction=0.2, duplicate_fraction=0.1, out_of_order_fraction=0.1, late_fraction=0.05
    )
    summary = SensorProducer(settings, machines=20, seed=4, start_time=START).run(
        count=3_000, rate="max", progress=False
    )
    assert summary.error_count == 0
    malformed = sum(number for kind, number in summary.injected.items() if kind.startswith("malformed_"))
    assert malformed > 0 and summary.injected["duplicate"] > 0 and summary.injected["late"] > 0
    records = read_all(settings, settings.topic_name("sensor_readings"), expected=summary.records)
    codec = Codec(SensorReadingBatch, max_bytes=settings.topics.max_message_bytes)
    rejected = 0
    readings = 0
    for record in records:
        try:
            readings += codec.decode(record.value).count
        except EventDecodeError:
            rejected += 1
    assert rejected == malformed
    assert len(records) == 300 + summary.injected["duplicate"] + malformed
    duplicated = sum(10 for _ in range(summary.injected["duplicate"]))
    assert readings == 3_000 + duplicated


def test_the_simulated_clock_runs_speedup_times_faster(topics: Settings) -> None:
    summary = SensorProducer(topics, machines=10, seed=5, start_time=START).run(
        duration=2.0, speedup=600.0, progress=False
    )
    # 10 machines x 1 reading/s at 600x: 20 minutes of event time in 2 wall seconds.
    assert summary.event_time_end - summary.event_time_start == pytest.approx(1_200.0, rel=0.1)
    assert summary.events_per_second == pytest.approx(6_000.0, rel=0.1)


def test_cli_produces_and_prints_a_summary(topics: Settings) -> None:
    command = [
        sys.executable,
        "-m",
        "streaming.cli.main",
        "produce",
        "transactions",
        "--count",
        "300",
        "--rate",
        "max",
        "--seed",
        "8",
        "--start-time",
        "2023-11-14T22:13:20Z",
        "--fraud-rate",
        "0.05",
        "--metrics-port",
        "0",
        "--quiet",
        "--bootstrap",
        topics.kafka.bootstrap_servers or "",
        "--topic-prefix",
        topics.topics.prefix,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["events"] == 300 and summary["error_count"] == 0
    assert summary["event_time_start"] == START and summary["metrics_port"] > 0


def _stop_with_sigterm(process: subprocess.Popen[bytes], log_path: Path) -> dict[str, Any]:
    try:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=10)  # a behavioural bound: it stops by itself, no kill needed
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    output = log_path.read_text()
    assert code == 0, output
    summary: dict[str, Any] = json.loads(
        next(line for line in reversed(output.splitlines()) if line.startswith("{"))
    )
    assert summary["error_count"] == 0
    assert summary["delivered"] == summary["records"]  # flushed: everything sent was acknowledged
    return summary


def _cli(topics: Settings, *arguments: str) -> list[str]:
    connection = ["--bootstrap", topics.kafka.bootstrap_servers or "", "--topic-prefix", topics.topics.prefix]
    return ["produce", *arguments, "--seed", "9", "--no-metrics", *connection]


@pytest.mark.timeout(90)
def test_cli_paced_by_speedup_stops_on_sigterm_during_a_long_wait(topics: Settings, tmp_path: Path) -> None:
    """One machine, 30 readings a record, --speedup 1: the first record is 30 wall seconds away, so the
    producer is inside the pacer's wait when SIGTERM lands; it must end that wait, not sit it out."""
    log_path = tmp_path / "produce-sensors.log"
    arguments = _cli(topics, "sensors", "--machines", "1", "--readings-per-record", "30", "--speedup", "1")
    process = start_cli(arguments, log_path)
    wait_for_log(log_path, "paced by event time at 1x", timeout_seconds=60)
    time.sleep(1.0)  # into the wait
    summary = _stop_with_sigterm(process, log_path)
    assert summary["events"] == 0 and summary["records"] == 0  # its first record was not due yet


@pytest.mark.timeout(90)
def test_cli_paced_by_speedup_sends_then_stops_on_sigterm_and_flushes(
    topics: Settings, tmp_path: Path
) -> None:
    """Transactions at --speedup 600 (records flowing), then SIGTERM: flushed, summary printed, exit 0."""
    log_path = tmp_path / "produce-transactions.log"
    process = start_cli(_cli(topics, "transactions", "--cards", "500", "--speedup", "600"), log_path)
    read_all(topics, topics.topic_name("transactions"), expected=5, timeout_seconds=60)
    summary = _stop_with_sigterm(process, log_path)
    assert summary["events"] >= 5


@pytest.mark.timeout(90)
def test_cli_paced_by_rate_stops_on_sigterm_between_tokens(topics: Settings, tmp_path: Path) -> None:
    """--rate 0.05: the first payment goes at once, the next 20 s later; SIGTERM ends that wait."""
    log_path = tmp_path / "produce-rate.log"
    process = start_cli(_cli(topics, "transactions", "--cards", "50", "--rate", "0.05"), log_path)
    assert len(read_all(topics, topics.topic_name("transactions"), expected=1, timeout_seconds=60)) == 1
    time.sleep(0.5)
    summary = _stop_with_sigterm(process, log_path)
    assert summary["events"] == 1 and summary["records"] >= 1
