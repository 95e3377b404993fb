"""Kafka's default key-to-partition mapping, worked out once per key for a replay.

kafka-python hashes every record's key in pure Python (murmur2, about 8 us a record, a sixth of a
replay's time). A replayed file repeats its keys (entity ids), so the replayer asks once per key
and passes the partition explicitly. The mapping is the Java client's and kafka-python's default, so
records land where any other producer would put the same key.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kafka.partitioner.default import DefaultPartitioner, murmur2


class KeyPartitioner:
    """The partition of a key among `partitions` (sorted), as Kafka's default partitioner picks it.

    Keys are remembered up to `max_keys`; beyond that they are hashed each time. A key of None gets None
    (the producer then spreads such records itself). The partition count is the one at the start of the
    replay, which keeps each key on one partition (and in order) even if partitions are added meanwhile.

    >>> partitioner = KeyPartitioner(range(3))
    >>> [partitioner(key) for key in (b"c-1", b"c-2", b"m-0002", b"c-1", None)]
    [2, 1, 2, 2, None]
    """

    def __init__(self, partitions: Iterable[int], max_keys: int = 200_000) -> None:
        self.partitions = sorted(partitions)
        if not self.partitions:
            raise ValueError("a topic has at least one partition")
        self.max_keys = max_keys
        self._known: dict[bytes, int] = {}

    def __call__(self, key: bytes | None) -> int | None:
        if key is None:
            return None
        partition = self._known.get(key)
        if partition is None:
            partition = self.partitions[(murmur2(key) & 0x7FFFFFFF) % len(self.partitions)]
            if len(self._known) < self.max_keys:
                self._known[key] = partition
        return partition


class RememberingPartitioner(DefaultPartitioner):
    """kafka-python's default partitioner, remembering each key's partition per topic and partition count.

    A service's outputs are keyed by entity ids, which repeat: hashing each record's key in pure Python
    (murmur2) took half of kafka-python's `send` (about 25 of 51 us a record). The partition is still the
    default partitioner's for the partition count the producer currently sees.

    Parameters
    ----------
    max_keys
        Keys remembered at most; past that, the others are hashed each time.

    >>> class Cluster:
    ...     def partitions_for_topic(self, topic):
    ...         return {0, 1, 2}
    ...     available_partitions_for_topic = partitions_for_topic
    ...     def topics(self):
    ...         return {"t"}
    >>> partitioner, default = RememberingPartitioner(), DefaultPartitioner()
    >>> keys = [b"c-1", b"c-2", b"m-0002", b"c-1"]
    >>> [partitioner.partition("t", None, key, None, None, Cluster()) for key in keys]
    [2, 1, 2, 2]
    >>> [default.partition("t", None, key, None, None, Cluster()) for key in keys]
    [2, 1, 2, 2]
    """

    def __init__(self, max_keys: int = 200_000) -> None:
        self.max_keys = max_keys
        self._known: dict[tuple[str, bytes, int], int] = {}

    def partition(
        self,
        topic: str,
        key: Any,
        serialized_key: bytes | None,
        value: Any,
        serialized_value: bytes | None,
        cluster: Any,
    ) -> int:
        partitions = cluster.partitions_for_topic(topic) if serialized_key is not None else None
        if not partitions:
            return super().partition(topic, key, serialized_key, value, serialized_value, cluster)
        remembered = (topic, bytes(serialized_key), len(partitions))  # type: ignore[arg-type]
        partition = self._known.get(remembered)
        if partition is None:
            partition = sorted(partitions)[(murmur2(serialized_key) & 0x7FFFFFFF) % len(partitions)]
            if len(self._known) < self.max_keys:
                self._known[remembered] = partition
        return partition
