"""Changelog stores without a broker: what `flush` writes is exactly what `restore` rebuilds."""

from __future__ import annotations

import numpy as np

from streaming.state import ChangelogStore


def test_flush_writes_changed_keys_and_tombstones_and_restore_rebuilds_them() -> None:
    store = ChangelogStore("windows", topic="g-windows-changelog", service="test")
    store.open_partition(2)
    store.set(2, "a", {"sum": np.array([1.0, 2.0])})
    store.set(2, "b", {"n": 1})
    written: list[tuple[str, bytes, bytes | None, int | None]] = []

    def send(topic: str, key: bytes, value: bytes | None, partition: int | None = None) -> None:
        written.append((topic, key, value, partition))

    assert store.flush(send) == 2
    store.delete(2, "b")
    store.set(2, "a", {"sum": [3.0]})
    assert store.flush(send) == 2
    assert store.flush(send) == 0, "nothing changed since the last flush"
    assert {item[0] for item in written} == {"g-windows-changelog"} and {item[3] for item in written} == {2}

    restored = ChangelogStore("windows", topic="g-windows-changelog", service="test")
    assert restored.restore(2, [(key, value) for _topic, key, value, _partition in written]) == 1
    assert restored.get(2, "a") == {"sum": [3.0]} and restored.get(2, "b") is None
    assert restored.dirty_keys(2) == set()


def test_partitions_are_independent_and_close_forgets_one() -> None:
    store = ChangelogStore("s")
    store.open_partition(0)
    store.open_partition(1)
    store.set(0, "k", 1)
    store.set(1, "k", 2)
    store.close_partition(0)
    assert store.partitions == [1] and store.get(1, "k") == 2 and store.size() == 1
