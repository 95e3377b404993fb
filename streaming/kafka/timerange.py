"""Reading the records of a time range of a topic in batches, for batch jobs (a weekly ETL): Kafka's time
index (offsets_for_times) finds where the range starts and how far to scan for late arrivals."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from kafka import TopicPartition

from streaming.config import Settings
from streaming.kafka.clients import make_consumer
from streaming.kafka.ranges import OffsetRange, offset_ranges

#: Milliseconds a metadata call may block (kafka-python retries some forever without a limit).
CALL_TIMEOUT_MS = 30_000


@dataclass
class TimeRangeBatches:
    """The committed records with a timestamp in `[start_ms, end_ms)`, in batches of (value, timestamp_ms)
    pairs, partition by partition in offset order. Records of the range that arrived late, after the first
    record stamped at or past `end_ms`, are found by scanning on up to `scan_until_ms`.

    Parameters
    ----------
    settings, bootstrap
        Where the cluster is.
    topic
        The full topic name.
    start_ms, end_ms
        The time range (record timestamps, which the project's producers set to event time).
    scan_until_ms
        How far past the range to read for late records (default: `end_ms`, no lateness).
    partitions
        Only these partition numbers (a worker's share); default all.
    batch_size
        Records per batch at most.

    After iterating: `bytes_read` (record values of the range), `records_read`, and `ranges` (the offsets).
    """

    settings: Settings
    bootstrap: str
    topic: str
    start_ms: int
    end_ms: int
    scan_until_ms: int | None = None
    partitions: Iterable[int] | None = None
    batch_size: int = 100_000
    bytes_read: int = 0
    records_read: int = 0
    ranges: list[OffsetRange] = field(default_factory=list)

    def __iter__(self) -> Iterator[list[tuple[bytes, int]]]:
        consumer = make_consumer(self.settings, self.bootstrap, group_id=None, role="time-range")
        try:
            stop_ms = max(self.end_ms, self.scan_until_ms or self.end_ms)
            ranges = offset_ranges(consumer, self.topic, self.start_ms, stop_ms)
            if self.partitions is not None:
                wanted = set(self.partitions)
                unknown = wanted - {item.partition.partition for item in ranges}
                if unknown:
                    raise LookupError(f"{self.topic} has no partitions {sorted(unknown)}")
                ranges = [item for item in ranges if item.partition.partition in wanted]
            self.ranges = ranges
            for item in ranges:
                yield from self._read(consumer, item)
        finally:
            consumer.close()

    def _read(self, consumer: Any, item: OffsetRange) -> Iterator[list[tuple[bytes, int]]]:
        if item.size <= 0:
            return
        partition: TopicPartition = item.partition
        consumer.assign([partition])
        consumer.seek(partition, item.start)
        batch: list[tuple[bytes, int]] = []
        last_progress = time.monotonic()
        while True:
            position = consumer.position(partition, timeout_ms=CALL_TIMEOUT_MS)
            if position >= item.stop:
                break
            polled = consumer.poll(timeout_ms=500, max_records=self.batch_size)
            records = polled.get(partition, [])
            if records:
                last_progress = time.monotonic()
            elif time.monotonic() - last_progress > 60:
                raise TimeoutError(f"no records from {self.topic}[{partition.partition}] for 60 s")
            for record in records:
                if record.offset >= item.stop:
                    break
                if self.start_ms <= record.timestamp < self.end_ms and record.value is not None:
                    batch.append((record.value, record.timestamp))
                    self.bytes_read += len(record.value)
                    self.records_read += 1
                    if len(batch) >= self.batch_size:
                        yield batch
                        batch = []
        if batch:
            yield batch


def edge_timestamps(
    settings: Settings, bootstrap: str, topic: str, tail_records: int = 64
) -> tuple[int | None, int | None]:
    """Where a topic's event time starts and how far it has got (ms): the smallest timestamp of the first
    record of each partition, and the largest timestamp among the last `tail_records` of each. None where
    the topic is empty."""
    consumer = make_consumer(settings, bootstrap, group_id=None, role="time-edges")
    try:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            return None, None
        tps = [TopicPartition(topic, number) for number in sorted(partitions)]
        beginning = consumer.beginning_offsets(tps, timeout_ms=CALL_TIMEOUT_MS)
        end = consumer.end_offsets(tps, timeout_ms=CALL_TIMEOUT_MS)
        firsts: list[int] = []
        lasts: list[int] = []
        for tp in tps:
            if end[tp] <= beginning[tp]:
                continue
            head = _timestamps(consumer, tp, beginning[tp], min(end[tp], beginning[tp] + 1))
            tail = _timestamps(consumer, tp, max(beginning[tp], end[tp] - tail_records), end[tp])
            firsts.extend(head[:1])
            lasts.extend(tail)
        return (min(firsts) if firsts else None), (max(lasts) if lasts else None)
    finally:
        consumer.close()


def _timestamps(consumer: Any, tp: TopicPartition, start: int, stop: int) -> list[int]:
    """Timestamps of the committed records in offsets [start, stop) (markers and aborted records have
    offsets but no record, so fewer may come back)."""
    consumer.assign([tp])
    consumer.seek(tp, start)
    found: list[int] = []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        for record in consumer.poll(timeout_ms=300).get(tp, []):
            if record.offset >= stop:
                return found
            found.append(int(record.timestamp))
        if consumer.position(tp, timeout_ms=CALL_TIMEOUT_MS) >= stop:
            break
    return found
