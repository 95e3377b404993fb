"""The consume loop's context in memory: drive a processor without a broker, in unit tests and examples.

>>> from contracts import Label
>>> from streaming.app.processor import ProcessorBase, Source
>>> from streaming.schemas import Codec
>>> class Echo(ProcessorBase):
...     def __init__(self):
...         super().__init__("echo", [Source("labels", Codec(Label))])
...     def on_record(self, event, record, context):
...         context.emit("dead_letters", event)
>>> label = Label(kind="chargeback", entity_id="c-1", event_time=1.7e9, reported_time=1.7e9,
...     transaction_id="t-1")
>>> context = MemoryContext()
>>> feed(Echo(), "labels", [label], context)
>>> [record.key for record in context.sent_to("dead_letters")]
[b'c-1']
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec

from streaming.app.context import Context
from streaming.app.processor import Batch, Processor
from streaming.app.record import Record
from streaming.config import Settings
from streaming.schemas import encode

EventT = TypeVar("EventT")


@dataclass(frozen=True)
class SentRecord:
    """One record a processor produced, as it would have gone to Kafka."""

    topic: str
    key: bytes | None
    value: bytes | None
    timestamp_ms: int | None = None
    partition: int | None = None
    headers: tuple[tuple[str, bytes], ...] = ()

    def decode(self, event_type: type[EventT]) -> EventT:
        assert self.value is not None, "a tombstone has no event"
        return msgspec.json.decode(self.value, type=event_type)


class MemoryContext(Context):
    """A `Context` whose outputs, dead letters and late events are kept in `sent`.

    Parameters
    ----------
    settings
        Settings for topic names (default: the defaults).
    service, group_id
        As a real service's context has them.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        service: str = "test",
        group_id: str = "test",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sent: list[SentRecord] = []
        self.stopped = False
        super().__init__(
            settings or Settings(), service, group_id, self._keep, stop=self._stop_requested, clock=clock
        )

    def _keep(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        timestamp_ms: int | None = None,
        partition: int | None = None,
        headers: Sequence[tuple[str, bytes]] | None = None,
    ) -> None:
        self.sent.append(SentRecord(topic, key, value, timestamp_ms, partition, tuple(headers or ())))

    def _stop_requested(self) -> None:
        self.stopped = True

    def sent_to(self, logical_topic: str) -> list[SentRecord]:
        """What went to one catalog topic, in order."""
        topic = self.topic(logical_topic)
        return [record for record in self.sent if record.topic == topic]

    def events(self, logical_topic: str, event_type: type[EventT]) -> list[EventT]:
        return [record.decode(event_type) for record in self.sent_to(logical_topic)]

    def flush_stores(self, processor: Processor) -> int:
        """Write the processor's dirty state as changelog records, as a commit would."""
        return sum(store.flush(self._keep) for store in processor.stores)


def records_of(
    events: Iterable[Any], topic: str, partition: int = 0, first_offset: int = 0, key: str | None = None
) -> list[tuple[Any, Record]]:
    """(event, record) pairs as the consume loop hands them over: encoded, keyed by entity, stamped with
    the event time."""
    items = []
    for offset, event in enumerate(events, start=first_offset):
        stamp = getattr(event, "event_time", 0.0)
        timestamp = stamp[0] if isinstance(stamp, list) else stamp
        record_key = (key if key is not None else event.entity_key()).encode()
        items.append(
            (event, Record(topic, partition, offset, record_key, encode(event), int(timestamp * 1000)))
        )
    return items


def feed(
    processor: Processor,
    logical_topic: str,
    events: Iterable[Any],
    context: Context,
    partition: int = 0,
    first_offset: int = 0,
) -> None:
    """Hand `events` to `processor.on_batch` as one batch of one partition."""
    topic = context.topic(logical_topic)
    processor.on_batch(
        Batch(logical_topic, partition, records_of(events, topic, partition, first_offset)), context
    )
