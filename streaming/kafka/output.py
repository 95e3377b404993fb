"""The producer a service writes its outputs with: plain (idempotent) or transactional."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from kafka import KafkaProducer

from streaming.config import Settings
from streaming.kafka.clients import make_producer
from streaming.kafka.partitioner import RememberingPartitioner
from streaming.kafka.structs import TopicPartition, offsets_metadata


class OutputProducer:
    """An idempotent producer; with `transactional_id`, a transactional one (KIP-98/447).

    Parameters
    ----------
    settings, bootstrap
        Where the cluster is and how to talk to it.
    role
        Part of the client id.
    transactional_id
        Set for exactly-once: the producer fences earlier incarnations with the same id at start, which
        aborts whatever transaction they left open.
    """

    def __init__(
        self,
        settings: Settings,
        bootstrap: str,
        role: str,
        transactional_id: str | None = None,
        **overrides: Any,
    ) -> None:
        self.transactional = transactional_id is not None
        # Outputs are keyed by entity ids, which repeat: their partitions are remembered, not rehashed.
        options: dict[str, Any] = {"linger_ms": 1, "partitioner": RememberingPartitioner(), **overrides}
        if transactional_id is not None:
            options.setdefault("transaction_timeout_ms", 30_000)
        self._producer: KafkaProducer = make_producer(
            settings, bootstrap, role=role, transactional_id=transactional_id, **options
        )
        if transactional_id is not None:
            self._producer.init_transactions()

    def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        timestamp_ms: int | None = None,
        partition: int | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> Any:
        return self._producer.send(
            topic, key=key, value=value, timestamp_ms=timestamp_ms, partition=partition, headers=headers
        )

    def send_many(
        self,
        topic: str,
        records: Sequence[tuple[bytes | None, bytes | None, int | None]],
        partition: int | None = None,
    ) -> None:
        """Send many `(key, value, timestamp_ms)` records to one topic, on their keys' partitions (or all on
        `partition`), with no futures to wait on (delivery failures surface as for `send`: in the
        transaction's commit, or in `flush`).

        kafka-python spends about 20 us of Python in each `send` (checks, a future per record, locks) and
        3 us encoding the record into its batch. Records that fit the open batch of their partition are
        appended to it directly, under the lock `send` takes; the first record of each new batch goes through
        `send`, which opens the batch and does all the checks. Where kafka-python's internals are not the ones
        this was written against (3.0.x), every record goes through `send`.
        """
        producer = self._producer
        accumulator: Any = getattr(producer, "_accumulator", None)
        if not _appendable(producer, accumulator):
            for key, value, timestamp_ms in records:
                producer.send(topic, key=key, value=value, timestamp_ms=timestamp_ms, partition=partition)
            return
        if producer._metadata.partitions_for_topic(topic) is None:
            producer.partitions_for(topic)  # waits for the topic's metadata, as `send` would
        by_partition: dict[int, Sequence[tuple[bytes | None, bytes | None, int | None]]]
        if partition is not None:
            by_partition = {partition: records}
        else:
            keyed: dict[int, list[tuple[bytes | None, bytes | None, int | None]]] = {}
            partitioner = producer.config["partitioner"]
            for record in records:
                chosen = partitioner.partition(topic, None, record[0], None, record[1], producer._metadata)
                keyed.setdefault(chosen, []).append(record)
            by_partition = dict(keyed)
        manager = producer._transaction_manager
        now = time.monotonic()
        for partition, batch in by_partition.items():
            target = TopicPartition(topic, partition)
            if manager is not None and manager.is_transactional():
                manager.maybe_add_partition_to_transaction(target)
            index = 0
            while index < len(batch):
                with accumulator._tp_lock(target):
                    queue = accumulator._batches[target]
                    if queue:
                        index = _append_open(queue[-1], batch, index, now)
                if index < len(batch):
                    key, value, timestamp_ms = batch[index]
                    producer.send(topic, key=key, value=value, partition=partition, timestamp_ms=timestamp_ms)
                    index += 1
        producer._sender.wakeup()

    def flush(self, timeout: float | None = None) -> None:
        self._producer.flush(timeout=timeout)

    def begin_transaction(self) -> None:
        self._producer.begin_transaction()

    def send_offsets_to_transaction(self, offsets: dict[TopicPartition, int], group_metadata: Any) -> None:
        self._producer.send_offsets_to_transaction(offsets_metadata(offsets), group_metadata)

    def commit_transaction(self) -> None:
        self._producer.commit_transaction()

    def abort_transaction(self) -> None:
        self._producer.abort_transaction()

    def close(self, timeout: float = 10.0) -> None:
        self._producer.close(timeout=timeout)


def _appendable(producer: Any, accumulator: Any) -> bool:
    """Whether the producer's internals are those `send_many` appends through (kafka-python 3.0.x)."""
    return (
        not getattr(producer, "_closed", True)
        and hasattr(accumulator, "_tp_lock")
        and hasattr(accumulator, "_batches")
        and hasattr(producer, "_sender")
        and hasattr(producer, "_metadata")
        and hasattr(producer, "_transaction_manager")
    )


def _append_open(
    batch: Any, records: Sequence[tuple[bytes | None, bytes | None, int | None]], index: int, now: float
) -> int:
    """Append `records[index:]` to the open producer batch while they fit; the index of the first that did
    not (the batch is full, or closed for sending)."""
    append = batch.records.append
    largest = batch.max_record_size
    while index < len(records):
        key, value, timestamp_ms = records[index]
        metadata = append(timestamp_ms, key, value, [])
        if metadata is None:
            break
        largest = max(largest, metadata.size)
        index += 1
    batch.max_record_size = largest
    batch.last_append = now
    return index
