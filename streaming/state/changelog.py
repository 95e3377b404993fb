"""Per-partition key-value state backed by a compacted Kafka changelog topic.

State of source partition p lives in changelog partition p. Changes are written to the changelog inside the
same Kafka transaction as the outputs and the input offsets, so after a crash the restored state matches the
committed offsets exactly. When a partition moves to another process, that process restores it from Kafka:
nothing lives only on one host's disk.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import msgspec

from streaming.metrics import STATE_ENTRIES, STATE_RESTORE_SECONDS


def _encode_extra(value: Any) -> Any:
    # State holds numpy arrays that are updated in place; they become plain lists only when written.
    tolist = getattr(value, "tolist", None)
    if tolist is None:
        raise NotImplementedError(f"cannot store {type(value).__name__} in a changelog")
    return tolist()


_encoder = msgspec.msgpack.Encoder(enc_hook=_encode_extra)
_decoder = msgspec.msgpack.Decoder()

SendFunction = Callable[..., Any]


class ChangelogStore:
    """Key-value state per source partition, with a compacted changelog topic.

    Values must be msgpack-serialisable (dicts, lists, numbers, strings, numpy arrays, which come back as
    lists). `None` deletes.

    >>> store = ChangelogStore(name="windows", topic="g-windows-changelog", service="doc")
    >>> store.open_partition(0)
    >>> store.set(0, "m-1", {"open": [1, 2]})
    >>> store.get(0, "m-1")
    {'open': [1, 2]}
    >>> sorted(store.dirty_keys(0))
    ['m-1']
    """

    def __init__(self, name: str, topic: str = "", service: str = "") -> None:
        self.name = name
        self.topic = topic
        self.service = service
        self._partitions: dict[int, dict[str, Any]] = {}
        self._dirty: dict[int, set[str]] = {}

    def bind(self, topic: str, service: str) -> None:
        """Name the changelog topic and the service (the application does this when the store's owner is
        added to it)."""
        self.topic = topic
        self.service = service

    @property
    def partitions(self) -> list[int]:
        return sorted(self._partitions)

    def open_partition(self, partition: int, initial: dict[str, Any] | None = None) -> None:
        self._partitions[partition] = dict(initial or {})
        self._dirty[partition] = set()

    def close_partition(self, partition: int) -> None:
        self._partitions.pop(partition, None)
        self._dirty.pop(partition, None)
        self._update_gauge()

    def get(self, partition: int, key: str, default: Any = None) -> Any:
        return self._partitions[partition].get(key, default)

    def set(self, partition: int, key: str, value: Any) -> None:
        if value is None:
            self._partitions[partition].pop(key, None)
        else:
            self._partitions[partition][key] = value
        self._dirty[partition].add(key)

    def delete(self, partition: int, key: str) -> None:
        self.set(partition, key, None)

    def items(self, partition: int) -> Iterator[tuple[str, Any]]:
        yield from self._partitions[partition].items()

    def keys(self, partition: int) -> list[str]:
        return list(self._partitions[partition])

    def size(self) -> int:
        return sum(len(entries) for entries in self._partitions.values())

    def dirty_keys(self, partition: int) -> builtins.set[str]:
        return self._dirty.get(partition, set())

    def flush(self, send: SendFunction) -> int:
        """Write every changed key with `send(topic, key, value, partition=...)` (a tombstone for deleted
        ones). Returns records sent."""
        sent = 0
        for partition, keys in self._dirty.items():
            entries = self._partitions[partition]
            for key in keys:
                value = entries.get(key)
                payload = None if value is None else _encoder.encode(value)
                send(self.topic, key.encode(), payload, partition=partition)
                sent += 1
            keys.clear()
        self._update_gauge()
        return sent

    def _update_gauge(self) -> None:
        STATE_ENTRIES.labels(self.service, self.name).set(self.size())

    def restore(self, partition: int, records: Iterable[tuple[bytes, bytes | None]]) -> int:
        """Rebuild one partition's state from its changelog records, oldest first (a None value deletes).

        `records` is the changelog partition read to its end (`streaming.kafka.read_partition`). Returns
        how many keys were restored."""
        started = time.monotonic()
        entries: dict[str, Any] = {}
        for key, value in records:
            name = key.decode()
            if value is None:
                entries.pop(name, None)
            else:
                entries[name] = _decoder.decode(value)
        self.open_partition(partition, entries)
        STATE_RESTORE_SECONDS.labels(self.service).observe(time.monotonic() - started)
        self._update_gauge()
        return len(entries)
