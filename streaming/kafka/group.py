"""A consumer-group member as the consume loop uses it: subscription with rebalance callbacks, polls,
commits and seeks, in the project's own terms (offsets are ints, callbacks get lists of partitions)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from kafka import ConsumerRebalanceListener, KafkaConsumer
from kafka.coordinator.assignors.cooperative_sticky import CooperativeStickyAssignor
from kafka.coordinator.assignors.range import RangePartitionAssignor

from streaming.config import Settings
from streaming.kafka.clients import make_consumer
from streaming.kafka.structs import ConsumerRecord, TopicPartition, offsets_metadata

PartitionsCallback = Callable[[list[TopicPartition]], None]


class GroupConsumer:
    """One member of a consumer group, reading committed data only, committing by hand.

    Parameters
    ----------
    settings, bootstrap
        Where the cluster is and how to talk to it.
    group_id
        The full group id (prefix included).
    role
        Part of the client id, seen in broker logs.
    co_partitioned
        The subscribed topics are co-partitioned (e.g. events and their labels): the same partition
        numbers must land on one member, which range assignment guarantees and cooperative sticky does not.

    >>> from streaming.config import Settings
    >>> GroupConsumer.assignors(co_partitioned=True)[0].name
    'range'
    """

    def __init__(
        self, settings: Settings, bootstrap: str, group_id: str, role: str, co_partitioned: bool = False
    ) -> None:
        self._consumer: KafkaConsumer = make_consumer(
            settings,
            bootstrap,
            group_id=group_id,
            role=role,
            partition_assignment_strategy=self.assignors(co_partitioned),
        )

    @staticmethod
    def assignors(co_partitioned: bool) -> tuple[Any, ...]:
        return (RangePartitionAssignor,) if co_partitioned else (CooperativeStickyAssignor,)

    def wait_for_metadata(self, topics: Iterable[str], timeout_seconds: float = 30.0) -> None:
        """Know every topic's partitions before joining: an assignor that runs without them assigns nothing
        and the group needs another round (seen with cooperative-sticky under load)."""
        deadline = time.monotonic() + timeout_seconds
        for topic in topics:
            while not self._consumer.partitions_for_topic(topic) and time.monotonic() < deadline:
                time.sleep(0.1)

    def subscribe(
        self,
        topics: list[str],
        on_assigned: PartitionsCallback,
        on_revoked: PartitionsCallback,
        on_lost: PartitionsCallback,
    ) -> None:
        """Join the group. The callbacks run on the consumer's IO thread, inside `poll()`."""
        self._consumer.subscribe(topics, listener=_Listener(on_assigned, on_revoked, on_lost))

    def poll(
        self, timeout_ms: int, max_records: int | None = None
    ) -> dict[TopicPartition, list[ConsumerRecord]]:
        return self._consumer.poll(timeout_ms=timeout_ms, max_records=max_records)

    def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self._consumer.commit(offsets_metadata(offsets))

    # Every blocking metadata call is bounded: without a timeout, kafka-python retries some of them forever
    # (seen after a broker restart: end_offsets blocked for minutes while the broker answered others).
    #: Milliseconds a metadata call (committed, end offsets, position) may block.
    CALL_TIMEOUT_MS = 30_000

    def committed(self, partition: TopicPartition) -> int | None:
        committed = self._consumer.committed(partition, timeout_ms=self.CALL_TIMEOUT_MS)
        return None if committed is None else int(committed)

    def seek(self, partition: TopicPartition, offset: int) -> None:
        self._consumer.seek(partition, offset)

    def seek_to_beginning(self, partition: TopicPartition) -> None:
        self._consumer.seek_to_beginning(partition)

    def assignment(self) -> set[TopicPartition]:
        return set(self._consumer.assignment())

    def pause(self, partitions: Iterable[TopicPartition]) -> None:
        self._consumer.pause(*partitions)

    def resume(self, partitions: Iterable[TopicPartition]) -> None:
        self._consumer.resume(*partitions)

    def end_offsets(self, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        return dict(self._consumer.end_offsets(list(partitions), timeout_ms=self.CALL_TIMEOUT_MS))

    def position(self, partition: TopicPartition) -> int:
        return int(self._consumer.position(partition, timeout_ms=self.CALL_TIMEOUT_MS))

    def group_metadata(self) -> Any:
        return self._consumer.group_metadata()

    def can_fetch(self) -> bool:
        """Whether the group coordinator and the leader of every assigned partition are reachable now.

        An empty poll looks the same whether the topic is quiet or the broker is down; this tells them
        apart (kafka-python exposes no public call for it, so it reads the client's connection state)."""
        consumer = self._consumer
        try:
            if consumer._coordinator.coordinator_unknown():
                return False
            client = consumer._client
            for partition in consumer.assignment():
                leader = client.cluster.leader_for_partition(partition)
                if leader is None or leader == -1 or not client.connected(leader):
                    return False
        except Exception:  # internals moved in a new kafka-python: assume the best, as before
            return True
        return True

    def awaiting_committed_offsets(self) -> set[TopicPartition]:
        """Assigned partitions that have no position yet: their committed offsets are still being fetched
        (kafka-python keeps asking inside `poll()`, e.g. while the broker answers UNSTABLE_OFFSET_COMMIT)."""
        try:
            missing = self._consumer._subscription.missing_fetch_positions()
        except Exception:  # internals moved in a new kafka-python: nothing can be told
            return set()
        return {TopicPartition(partition.topic, partition.partition) for partition in missing}

    def close(self) -> None:
        self._consumer.close()


class _Listener(ConsumerRebalanceListener):
    def __init__(self, assigned: PartitionsCallback, revoked: PartitionsCallback, lost: PartitionsCallback):
        self._assigned, self._revoked, self._lost = assigned, revoked, lost

    def on_partitions_revoked(self, revoked: Any) -> None:
        if revoked:
            self._revoked(list(revoked))

    def on_partitions_assigned(self, assigned: Any) -> None:
        if assigned:
            self._assigned(list(assigned))

    def on_partitions_lost(self, lost: Any) -> None:
        # Lost, not revoked: another member may already own them, so nothing may be committed for them.
        if lost:
            self._lost(list(lost))
