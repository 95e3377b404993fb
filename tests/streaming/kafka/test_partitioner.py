"""The remembering partitioner puts every key where kafka-python's default partitioner does."""

from __future__ import annotations

import numpy as np
from kafka.partitioner.default import DefaultPartitioner

from streaming.kafka.partitioner import RememberingPartitioner


class Cluster:
    def __init__(self, partitions: int) -> None:
        self.partitions = set(range(partitions))

    def partitions_for_topic(self, topic: str) -> set[int]:
        return self.partitions

    def available_partitions_for_topic(self, topic: str) -> set[int]:
        return self.partitions

    def topics(self) -> set[str]:
        return {"t"}


def test_every_key_lands_where_the_default_partitioner_puts_it_also_after_partitions_are_added() -> None:
    rng = np.random.default_rng(3)
    keys = [bytes(rng.integers(0, 256, size=int(rng.integers(1, 40))).tolist()) for _ in range(500)]
    partitioner, default = RememberingPartitioner(max_keys=300), DefaultPartitioner()
    for partitions in (1, 4, 7, 4):
        cluster = Cluster(partitions)
        for _round in range(2):
            assert [partitioner.partition("t", None, key, None, None, cluster) for key in keys] == [
                default.partition("t", None, key, None, None, cluster) for key in keys
            ]
    assert len(partitioner._known) == 300


def test_a_record_without_a_key_is_spread_as_by_default() -> None:
    assert RememberingPartitioner().partition("t", None, None, b"v", b"v", Cluster(3)) in {0, 1, 2}
