"""The producer a service writes its outputs with: plain (idempotent) or transactional."""

from __future__ import annotations

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
