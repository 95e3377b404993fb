"""Kafka's default key-to-partition mapping, worked out once per key for a replay.

kafka-python hashes every record's key in pure Python (murmur2, about 8 us a record, a sixth of a
replay's time). A replayed file repeats its keys (entity ids), so the replayer asks once per key
and passes the partition explicitly. The mapping is the Java client's and kafka-python's default, so
records land where any other producer would put the same key.
"""

from __future__ import annotations

from collections.abc import Iterable

from kafka.partitioner.default import murmur2


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
