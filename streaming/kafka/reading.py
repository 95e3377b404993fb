"""Reading whole partitions and following topics, outside any consumer group."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

from streaming.config import Settings
from streaming.kafka.clients import make_consumer
from streaming.kafka.errors import KafkaError
from streaming.kafka.structs import ConsumerRecord, TopicPartition

log = logging.getLogger(__name__)


def read_partition(
    settings: Settings,
    bootstrap: str,
    topic: str,
    partition: int,
    role: str = "restore",
    timeout_seconds: float = 120.0,
) -> Iterator[tuple[bytes, bytes | None]]:
    """Every committed (key, value) of one partition, from its beginning to its end at the call.

    A changelog restore reads this way: compaction may have removed old values, and a None value is a
    tombstone, which the reader applies as a delete.
    """
    consumer = make_consumer(settings, bootstrap, group_id=None, role=role)
    try:
        topic_partition = TopicPartition(topic, partition)
        consumer.assign([topic_partition])
        consumer.seek_to_beginning(topic_partition)
        end = consumer.end_offsets([topic_partition], timeout_ms=30_000)[topic_partition]
        deadline = time.monotonic() + timeout_seconds
        while consumer.position(topic_partition, timeout_ms=30_000) < end:
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic}[{partition}] took over {timeout_seconds:.0f} s")
            for records in consumer.poll(timeout_ms=200).values():
                for record in records:
                    yield record.key, record.value
    finally:
        consumer.close()


def read_topic(
    settings: Settings,
    bootstrap: str,
    topic: str,
    role: str = "read",
    timeout_seconds: float = 120.0,
) -> Iterator[ConsumerRecord]:
    """Every committed record of every partition of `topic`, from the beginning to its end at the call
    (each partition in offset order), with keys, headers and timestamps.

    A missing topic is a LookupError: there is nothing to read, which the caller may well say so.
    """
    consumer = make_consumer(settings, bootstrap, group_id=None, role=role)
    try:
        partitions = consumer.partitions_for_topic(topic)
        deadline = time.monotonic() + 5.0
        while not partitions and time.monotonic() < deadline:
            time.sleep(0.1)
            partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            raise LookupError(f"topic {topic} does not exist")
        assigned = [TopicPartition(topic, partition) for partition in sorted(partitions)]
        ends = consumer.end_offsets(assigned, timeout_ms=30_000)
        consumer.assign(assigned)
        consumer.seek_to_beginning(*assigned)
        deadline = time.monotonic() + timeout_seconds
        remaining = {partition for partition in assigned if ends[partition] > 0}
        while remaining:
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic} took over {timeout_seconds:.0f} s")
            for records in consumer.poll(timeout_ms=200).values():
                yield from (
                    record
                    for record in records
                    if record.offset < ends[TopicPartition(record.topic, record.partition)]
                )
            # Transaction markers occupy offsets without being returned, so positions tell when to stop.
            remaining = {
                partition
                for partition in remaining
                if consumer.position(partition, timeout_ms=30_000) < ends[partition]
            }
    finally:
        consumer.close()


class TopicTail:
    """Follows every partition of a topic in a daemon thread, from its end (or beginning), and hands each
    committed record to `on_record`. It joins no consumer group, so it never disturbs anyone's offsets.

    Parameters
    ----------
    settings, bootstrap
        Where the cluster is.
    topic
        The full topic name.
    on_record
        Called on the tail's thread with each record.
    from_beginning
        Start at the beginning instead of the end.
    """

    def __init__(
        self,
        settings: Settings,
        bootstrap: str,
        topic: str,
        on_record: Callable[[ConsumerRecord], None],
        from_beginning: bool = False,
        role: str = "tail",
    ) -> None:
        self.settings = settings
        self.bootstrap = bootstrap
        self.topic = topic
        self.on_record = on_record
        self.from_beginning = from_beginning
        self.role = role
        self.error: str | None = None
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"tail-{topic}", daemon=True)

    def start(self, wait_seconds: float = 15.0) -> TopicTail:
        """Start following; returns once the start position is fixed (or after `wait_seconds`)."""
        self._thread.start()
        self._ready.wait(wait_seconds)
        return self

    def stop(self, timeout_seconds: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_seconds)

    def _run(self) -> None:
        try:
            consumer = make_consumer(self.settings, self.bootstrap, group_id=None, role=self.role)
        except KafkaError as error:
            self.error = f"cannot read {self.topic}: {error}"
            self._ready.set()
            return
        try:
            partitions: set[int] = set()
            deadline = time.monotonic() + 10
            while not partitions and time.monotonic() < deadline and not self._stop.is_set():
                partitions = consumer.partitions_for_topic(self.topic) or set()
                if not partitions:
                    self._stop.wait(0.2)
            assigned = [TopicPartition(self.topic, partition) for partition in sorted(partitions)]
            consumer.assign(assigned)
            if self.from_beginning:
                consumer.seek_to_beginning(*assigned)
            else:
                consumer.seek_to_end(*assigned)
                for partition in assigned:
                    consumer.position(
                        partition, timeout_ms=30_000
                    )  # resolve "end" now, not at the first poll
            self._ready.set()
            while not self._stop.is_set():
                for records in consumer.poll(timeout_ms=300).values():
                    for record in records:
                        self.on_record(record)
        except KafkaError as error:
            self.error = f"reading {self.topic} stopped: {error}"
            log.warning("%s", self.error)
        finally:
            self._ready.set()
            consumer.close()
