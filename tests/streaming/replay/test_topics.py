"""Time-range copy, record then replay, and rewind then reprocess, against the real broker."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from streaming.config import Settings
from streaming.kafka import make_consumer
from streaming.kafka.groups import GroupActiveError, rewind_group
from streaming.replay.copier import TopicRangeCopier
from streaming.replay.player import FileReplayer
from streaming.replay.recorder import TopicRecorder
from tests.support.kafka import read_all

pytestmark = pytest.mark.kafka
START = 1_700_000_000.0


def _fill(settings: Settings, topic: str, count: int = 200) -> None:
    from streaming.kafka import make_producer

    producer = make_producer(settings, settings.kafka.bootstrap_servers or "", role="test")
    for index in range(count):
        value = b"\xff\xfebinary" if index == 7 else b'{"n": %d}' % index
        key = None if index == 9 else f"k-{index % 7}".encode()
        producer.send(topic, key=key, value=value, timestamp_ms=int((START + index) * 1000))
    producer.flush(30)
    producer.close()


def _triples(records: list) -> list[tuple[bytes | None, bytes | None, int]]:
    return sorted(
        ((record.key, record.value, record.timestamp) for record in records), key=lambda item: item[2]
    )


def test_time_range_copy_gives_exactly_the_records_of_the_range(topics: Settings) -> None:
    source, destination = topics.topic_name("transactions"), topics.topics.prefix + "backtest"
    _fill(topics, source)
    summary = TopicRangeCopier(
        topics, source, destination, start=START + 50, end=START + 150, progress=False
    ).run()
    assert summary.records == 100 and summary.error_count == 0
    copied = read_all(topics, destination, expected=100)
    expected = [
        item
        for item in _triples(read_all(topics, source, expected=200))
        if START + 50 <= item[2] / 1000 < START + 150
    ]
    assert _triples(copied) == expected
    originals = {record.timestamp: record.partition for record in read_all(topics, source, expected=200)}
    assert all(record.partition == originals[record.timestamp] for record in copied)


@pytest.mark.parametrize("suffix", ["parquet", "jsonl"])
def test_record_then_replay_round_trips(topics: Settings, tmp_path: Path, suffix: str) -> None:
    source = topics.topic_name("labels")
    _fill(topics, source, count=120)
    out = tmp_path / f"capture.{suffix}"
    recorded = TopicRecorder(topics, source, out, start=START + 20, progress=False).run()
    assert recorded.records == 100 and out.is_file()
    replayed_topic = topics.topics.prefix + "replayed"
    summary = FileReplayer(topics, out, replayed_topic, progress=False).run()
    assert summary.records == 100 and summary.bad_row_count == 0 and summary.error_count == 0
    expected = [
        item for item in _triples(read_all(topics, source, expected=120)) if item[2] >= (START + 20) * 1000
    ]
    replayed = read_all(topics, replayed_topic, expected=100)
    assert _triples(replayed) == expected  # keys (one None), values (one not UTF-8) and timestamps
    by_key: dict[bytes | None, list[int]] = {}
    for record in sorted(replayed, key=lambda item: (item.partition, item.offset)):
        by_key.setdefault(record.key, []).append(record.timestamp)
    assert all(times == sorted(times) for times in by_key.values())  # order kept


def _consume(settings: Settings, topic: str, group: str, expected: int) -> list[tuple[bytes, int]]:
    """A plain service: reads its group's share from the committed offsets, 'processes', commits."""
    consumer = make_consumer(settings, settings.kafka.bootstrap_servers or "", group_id=group)
    consumer.subscribe([topic])
    output: list[tuple[bytes, int]] = []
    deadline = time.monotonic() + 30
    try:
        while len(output) < expected and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=200).values():
                output.extend((record.value, record.timestamp) for record in records)
        consumer.commit()
    finally:
        consumer.close()
    return output


def test_rewind_then_reprocess_gives_the_same_output(topics: Settings) -> None:
    topic = topics.topic_name("sensor_windows")
    group = topics.topics.prefix + "svc"
    _fill(topics, topic, count=100)
    first = _consume(topics, topic, group, expected=100)
    assert len(first) == 100
    plan = rewind_group(topics, group, START + 40, bootstrap=topics.kafka.bootstrap_servers)
    assert plan.applied and {item["topic"] for item in plan.partitions} == {topic}
    second = _consume(topics, topic, group, expected=60)
    assert sorted(second) == sorted(item for item in first if item[1] >= (START + 40) * 1000)
    assert len(second) == 60


def test_rewind_refuses_while_the_group_is_active(topics: Settings) -> None:
    topic = topics.topic_name("scores")
    group = topics.topics.prefix + "busy"
    _fill(topics, topic, count=10)
    member = make_consumer(topics, topics.kafka.bootstrap_servers or "", group_id=group)
    member.subscribe([topic])
    try:
        deadline = time.monotonic() + 20
        while not member.assignment() and time.monotonic() < deadline:
            member.poll(timeout_ms=200)
        with pytest.raises(GroupActiveError, match="active"):
            rewind_group(topics, group, START, topics=[topic], bootstrap=topics.kafka.bootstrap_servers)
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "streaming.cli.main",
                "rewind",
                "--group",
                group,
                "--to",
                "2023-11-14T22:13:20Z",
                "--topic",
                topic,
                "--bootstrap",
                topics.kafka.bootstrap_servers or "",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 3
        assert "refused" in result.stderr and "Stop its consumers" in result.stderr
    finally:
        member.close()
