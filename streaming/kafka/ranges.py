"""Reading a time range of a topic: offsets_for_times for the bounds, records merged in timestamp order."""

from __future__ import annotations

import heapq
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord


@dataclass
class OffsetRange:
    """Offsets `[start, stop)` of one partition."""

    partition: TopicPartition
    start: int
    stop: int

    @property
    def size(self) -> int:
        return max(0, self.stop - self.start)


def offset_ranges(
    consumer: KafkaConsumer,
    topic: str,
    start_ms: int | None,
    end_ms: int | None,
    timeout_seconds: float = 30.0,
) -> list[OffsetRange]:
    """Per partition: from the first offset with timestamp >= start (or the beginning) to the first offset
    with timestamp >= end (or the current end). Kafka's time index gives both (offsets_for_times)."""
    deadline = time.monotonic() + timeout_seconds
    partitions = consumer.partitions_for_topic(topic)
    while not partitions and time.monotonic() < deadline:
        time.sleep(0.05)
        partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        raise LookupError(f"topic {topic!r} does not exist or has no partitions")
    tps = [TopicPartition(topic, partition) for partition in sorted(partitions)]
    beginning = consumer.beginning_offsets(tps, timeout_ms=30_000)
    end = consumer.end_offsets(tps, timeout_ms=30_000)
    starts = dict(beginning)
    if start_ms is not None:
        found = consumer.offsets_for_times(dict.fromkeys(tps, start_ms), timeout_ms=30_000)
        starts = {tp: found[tp].offset if found.get(tp) is not None else end[tp] for tp in tps}
    stops = dict(end)
    if end_ms is not None:
        found = consumer.offsets_for_times(dict.fromkeys(tps, end_ms), timeout_ms=30_000)
        stops = {tp: found[tp].offset if found.get(tp) is not None else end[tp] for tp in tps}
    return [OffsetRange(tp, starts[tp], max(starts[tp], stops[tp])) for tp in tps]


def read_ranges(
    consumer: KafkaConsumer,
    ranges: list[OffsetRange],
    start_ms: int | None = None,
    end_ms: int | None = None,
    idle_timeout_seconds: float = 30.0,
) -> Iterator[ConsumerRecord]:
    """The records of `ranges`, merged across partitions by timestamp (each partition keeps its order).

    Records in the offset range whose timestamp is outside `[start_ms, end_ms)` (out-of-order stragglers)
    are skipped, so the result is exactly the records of the time range between those offsets.
    """
    active = [item for item in ranges if item.size > 0]
    if not active:
        return
    consumer.assign([item.partition for item in active])
    for item in active:
        consumer.seek(item.partition, item.start)
    stops = {item.partition: item.stop for item in active}
    buffers: dict[TopicPartition, deque[ConsumerRecord]] = {item.partition: deque() for item in active}
    finished: set[TopicPartition] = set()
    consumed: dict[TopicPartition, int] = {item.partition: item.start for item in active}
    heads: list[tuple[int, int, int, TopicPartition]] = []  # (timestamp, partition, offset, tp)
    in_heap: set[TopicPartition] = set()
    last_progress = time.monotonic()

    def fill_heads() -> None:
        for tp, buffer in buffers.items():
            if tp not in in_heap and buffer:
                record = buffer[0]
                heapq.heappush(heads, (record.timestamp, tp.partition, record.offset, tp))
                in_heap.add(tp)

    while True:
        waiting = [tp for tp in buffers if tp not in finished and not buffers[tp]]
        if waiting:
            batch = consumer.poll(timeout_ms=200, max_records=10_000)
            for tp, records in batch.items():
                for record in records:
                    if record.offset >= stops[tp]:
                        finished.add(tp)
                        break
                    buffers[tp].append(record)
                    consumed[tp] = record.offset + 1
                if consumed[tp] >= stops[tp]:
                    finished.add(tp)
                if tp in finished:
                    consumer.pause(tp)
            if batch:
                last_progress = time.monotonic()
            for tp in waiting:
                # Transaction markers and aborted records occupy offsets without being returned.
                if tp not in finished and consumer.position(tp, timeout_ms=30_000) >= stops[tp]:
                    finished.add(tp)
            if time.monotonic() - last_progress > idle_timeout_seconds:
                missing = {f"{tp.topic}[{tp.partition}]": stops[tp] - consumed[tp] for tp in waiting}
                raise TimeoutError(f"no records for {idle_timeout_seconds:.0f} s; still expected: {missing}")
            waiting = [tp for tp in buffers if tp not in finished and not buffers[tp]]
            if waiting:
                continue
        fill_heads()
        if not heads:
            return
        _timestamp, _partition, _offset, tp = heapq.heappop(heads)
        in_heap -= {tp}
        record = buffers[tp].popleft()
        if (start_ms is None or record.timestamp >= start_ms) and (
            end_ms is None or record.timestamp < end_ms
        ):
            yield record
