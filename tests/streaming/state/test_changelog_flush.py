"""A store's flush writes each changed key once, through `send` or a partition at once through `send_many`."""

from __future__ import annotations

from typing import Any

from streaming.state import ChangelogStore


def test_flush_through_send_many_writes_what_send_writes() -> None:
    def filled() -> ChangelogStore:
        store = ChangelogStore("windows", topic="g-windows-changelog", service="test")
        for partition in (0, 3):
            store.open_partition(partition)
            for key in ("m-1", "m-2", "m-3"):
                store.set(partition, key, {"w": {1000: [partition, key]}})
            store.delete(partition, "m-2")
        store.set_meta(0, "partition", {"max_event_time": 5.0})
        return store

    one_by_one: list[tuple[Any, ...]] = []
    filled().flush(
        lambda topic, key, value, partition=None: one_by_one.append((topic, key, value, partition))
    )
    at_once: list[tuple[Any, ...]] = []
    metadata: list[tuple[Any, ...]] = []
    store = filled()
    sent = store.flush(
        lambda topic, key, value, partition=None: metadata.append((topic, key, value, partition)),
        lambda topic, records, partition=None: at_once.extend(
            (topic, key, value, partition) for key, value, _stamp in records
        ),
    )
    assert sorted(at_once + metadata, key=repr) == sorted(one_by_one, key=repr)
    assert sent == len(one_by_one) == 7 and [m[1] for m in metadata] == [b"\x01mpartition"]
    assert store.dirty_keys(0) == set() and store.dirty_keys(3) == set()
