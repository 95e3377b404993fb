"""What a service plugs into the consume loop: a `Processor`, wired with one `app.add(processor)`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from streaming.app.context import Context
from streaming.app.record import Record
from streaming.schemas import Codec
from streaming.state import ChangelogStore

log = logging.getLogger(__name__)

#: The offsets about to be committed, {(topic, partition): next offset}.
Offsets = dict[tuple[str, int], int]


@dataclass(frozen=True)
class Source:
    """A topic a processor reads: its catalog name and the codec its records decode with.

    >>> from contracts import Label
    >>> Source("labels", Codec(Label)).topic
    'labels'
    """

    topic: str
    codec: Codec[Any]


@dataclass
class Batch:
    """Consecutive decoded records of one partition of one source, in offset order.

    `topic` is the source's catalog name (as in `Source.topic`); each item is `(event, record)`.
    """

    topic: str
    partition: int
    items: list[tuple[Any, Record]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items)


@runtime_checkable
class Processor(Protocol):
    """Everything the consume loop calls on a service's logic. `ProcessorBase` gives defaults for all.

    - `sources`: the topics it reads;
    - `stores`: its changelog-backed stores (partitioned like its single source; restored on assignment,
      written in the same transaction as the outputs and offsets);
    - `timer_interval_seconds`: how often `on_timer` runs (wall clock), or None;
    - `on_batch(batch, context)`: a polled batch of one partition;
    - `on_assigned(partitions)` / `on_revoked(partitions)`: after its stores were restored / before they
      are dropped;
    - `on_timer(now, context)`: periodic work (idle windows, metrics);
    - `snapshot()` / `restore(snapshot)`: its whole state, for services that checkpoint to files;
    - `allowed_offsets(offsets)`: may lower the offsets about to be committed (work still in flight);
    - `on_stop()`: once when the loop ends, before the final commit.
    """

    @property
    def name(self) -> str: ...

    @property
    def sources(self) -> Sequence[Source]: ...

    @property
    def stores(self) -> Sequence[ChangelogStore]: ...

    @property
    def timer_interval_seconds(self) -> float | None: ...

    def on_batch(self, batch: Batch, context: Context) -> None: ...

    def on_assigned(self, partitions: list[int]) -> None: ...

    def on_revoked(self, partitions: list[int]) -> None: ...

    def on_timer(self, now: float, context: Context) -> None: ...

    def snapshot(self) -> Any: ...

    def restore(self, snapshot: Any) -> None: ...

    def allowed_offsets(self, offsets: Offsets) -> Offsets: ...

    def on_stop(self) -> None: ...


class ProcessorBase:
    """Defaults for every `Processor` hook. A record-at-a-time processor overrides `on_record`: a record
    whose handling raises becomes a dead letter (`processing_error`) and the others go on.

    Parameters
    ----------
    name
        The processor's name in checkpoints and logs.
    sources
        The topics it reads.

    >>> from contracts import Label
    >>> class CountLabels(ProcessorBase):
    ...     def __init__(self):
    ...         super().__init__("count-labels", [Source("labels", Codec(Label))])
    ...         self.count = 0
    ...     def on_record(self, event, record, context):
    ...         self.count += 1
    >>> CountLabels().sources[0].topic
    'labels'
    """

    timer_interval_seconds: float | None = None

    def __init__(self, name: str, sources: Sequence[Source], stores: Sequence[ChangelogStore] = ()) -> None:
        self.name = name
        self.sources = list(sources)
        self.stores = list(stores)

    def on_batch(self, batch: Batch, context: Context) -> None:
        for event, record in batch.items:
            try:
                self.on_record(event, record, context)
            except Exception as error:
                log.debug("%s failed on %s@%s", self.name, record.topic, record.offset, exc_info=True)
                context.dead_letter(record, "processing_error", error)

    def on_record(self, event: Any, record: Record, context: Context) -> None:
        raise NotImplementedError(f"{type(self).__name__} implements neither on_batch nor on_record")

    def on_assigned(self, partitions: list[int]) -> None:
        return None

    def on_revoked(self, partitions: list[int]) -> None:
        return None

    def on_timer(self, now: float, context: Context) -> None:
        return None

    def snapshot(self) -> Any:
        return None

    def restore(self, snapshot: Any) -> None:
        return None

    def allowed_offsets(self, offsets: Offsets) -> Offsets:
        return offsets

    def on_stop(self) -> None:
        return None


class RecordHandler(ProcessorBase):
    """The smallest processor: one source, one function called for each record.

    Parameters
    ----------
    topic
        The catalog name of the source topic.
    codec
        How its records decode.
    handler
        `handler(event, record, context)`; raising dead-letters that record.
    name
        The processor's name (default: `<topic>-handler`).

    >>> from contracts import Label
    >>> seen = []
    >>> handler = RecordHandler("labels", Codec(Label), lambda event, record, context: seen.append(event))
    >>> handler.name
    'labels-handler'
    """

    def __init__(
        self,
        topic: str,
        codec: Codec[Any],
        handler: Callable[[Any, Record, Context], None],
        name: str | None = None,
    ) -> None:
        super().__init__(name or f"{topic}-handler", [Source(topic, codec)])
        self.handler = handler

    def on_record(self, event: Any, record: Record, context: Context) -> None:
        self.handler(event, record, context)
