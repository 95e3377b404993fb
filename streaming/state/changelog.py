"""Per-partition key-value state backed by a compacted Kafka changelog topic.

State of source partition p lives in changelog partition p. Changes are written to the changelog inside the
same Kafka transaction as the outputs and the input offsets, so after a crash the restored state matches the
committed offsets exactly. When a partition moves to another process, that process restores it from Kafka:
nothing lives only on one host's disk.

Two namespaces share the changelog, told apart by a prefix no input can produce on its own: the owner's
keys (entity ids, whatever bytes they hold) and the store's own metadata (a partition's watermark). A key
read from an input can therefore never overwrite internal state. Changelogs written before the prefixes
are read as before: `\x00partition` as the partition's metadata, anything else as an entity key.
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
SendManyFunction = Callable[..., Any]

#: Changelog key prefixes of the two namespaces.
KEY_PREFIX = b"\x01k"
META_PREFIX = b"\x01m"
#: The metadata key of changelogs written before the namespaces.
_LEGACY_META = {b"\x00partition": "partition"}


def meta_record(name: str, value: Any) -> tuple[bytes, bytes | None]:
    """The changelog (key, value) that sets the metadata `name` (tools write these while the owner is
    stopped, e.g. to reset a watermark).

    >>> meta_record("partition", {"max_event_time": 1.0})[0]
    b'\\x01mpartition'
    """
    return META_PREFIX + name.encode(), None if value is None else _encoder.encode(value)


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
        self._meta: dict[int, dict[str, Any]] = {}
        self._dirty: dict[int, set[str]] = {}
        self._dirty_meta: dict[int, set[str]] = {}

    def bind(self, topic: str, service: str) -> None:
        """Name the changelog topic and the service (the application does this when the store's owner is
        added to it)."""
        self.topic = topic
        self.service = service

    @property
    def partitions(self) -> list[int]:
        return sorted(self._partitions)

    def open_partition(
        self, partition: int, initial: dict[str, Any] | None = None, meta: dict[str, Any] | None = None
    ) -> None:
        self._partitions[partition] = dict(initial or {})
        self._meta[partition] = dict(meta or {})
        self._dirty[partition] = set()
        self._dirty_meta[partition] = set()

    def close_partition(self, partition: int) -> None:
        for table in (self._partitions, self._meta, self._dirty, self._dirty_meta):
            table.pop(partition, None)
        self._update_gauge()

    def get_meta(self, partition: int, name: str, default: Any = None) -> Any:
        """The store's own metadata of a partition (e.g. its watermark), apart from the owner's keys."""
        return self._meta[partition].get(name, default)

    def set_meta(self, partition: int, name: str, value: Any) -> None:
        if value is None:
            self._meta[partition].pop(name, None)
        else:
            self._meta[partition][name] = value
        self._dirty_meta[partition].add(name)

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
        """The owner's keys and metadata names changed since the last flush."""
        return self._dirty.get(partition, set()) | self._dirty_meta.get(partition, set())

    def flush(self, send: SendFunction, send_many: SendManyFunction | None = None) -> int:
        """Write every changed key with `send(topic, key, value, partition=...)` (a tombstone for deleted
        ones), or a partition's at once with `send_many(topic, [(key, value, None), ...], partition=...)`.
        Returns records sent."""
        sent = 0
        for partition, keys in self._dirty.items():
            entries = self._partitions[partition]
            records = []
            for key in keys:
                value = entries.get(key)
                payload = None if value is None else _encoder.encode(value)
                records.append((KEY_PREFIX + key.encode(), payload))
            if send_many is not None and records:
                send_many(self.topic, [(key, payload, None) for key, payload in records], partition=partition)
            else:
                for record_key, payload in records:
                    send(self.topic, record_key, payload, partition=partition)
            sent += len(records)
            keys.clear()
        for partition, names in self._dirty_meta.items():
            meta = self._meta[partition]
            for name in names:
                record_key, payload = meta_record(name, meta.get(name))
                send(self.topic, record_key, payload, partition=partition)
                sent += 1
            names.clear()
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
        meta: dict[str, Any] = {}
        for key, value in records:
            if key.startswith(KEY_PREFIX):
                table, name = entries, key[len(KEY_PREFIX) :].decode()
            elif key.startswith(META_PREFIX):
                table, name = meta, key[len(META_PREFIX) :].decode()
            elif key in _LEGACY_META:
                table, name = meta, _LEGACY_META[key]
            else:
                table, name = entries, key.decode()
            if value is None:
                table.pop(name, None)
            else:
                table[name] = _decoder.decode(value)
        self.open_partition(partition, entries, meta)
        STATE_RESTORE_SECONDS.labels(self.service).observe(time.monotonic() - started)
        self._update_gauge()
        return len(entries)
