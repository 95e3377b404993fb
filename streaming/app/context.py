"""What a handler may do: emit outputs, send dead letters and late events, read the clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from streaming.app.record import Record
from streaming.config import Settings
from streaming.metrics import DEAD_LETTERS, EVENT_TO_OUTPUT_SECONDS, EVENTS_OUT, LATE_EVENTS
from streaming.schemas import DeadLetter, DeadLetterReason, encode
from streaming.schemas.base import Event

#: How much of an oversize record its dead letter keeps.
MAX_KEPT_PREFIX = 64 * 1024

#: `send(topic, key, value, timestamp_ms=None, partition=None, headers=None)`: one record into the current
#: commit (transaction) of the service.
SendFunction = Callable[..., Any]


class Context:
    """Handed to every handler. Everything emitted through it is part of the current commit.

    Under exactly-once, outputs, state changes and input offsets commit in one Kafka transaction; under
    at-least-once, outputs are flushed before offsets are committed.
    """

    def __init__(
        self,
        settings: Settings,
        service: str,
        group_id: str,
        send: SendFunction,
        stop: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.service = service
        self.group_id = group_id
        self._send = send
        self._stop = stop
        self.dead_letters = 0
        self.late_events = 0

    def stop(self) -> None:
        """Ask the service to stop after the current batch (e.g. a bounded run that has seen enough)."""
        if self._stop is not None:
            self._stop()

    @staticmethod
    def now() -> float:
        """Wall-clock seconds. Use event time for anything that must replay identically."""
        return time.time()

    def processing_time(self) -> float:
        """Wall-clock seconds that stand still while the service cannot fetch its input (see
        `streaming.app.clock.ProcessingClock`): what idle timeouts and TTLs should measure."""
        return self.clock()

    def topic(self, logical_name: str) -> str:
        return self.settings.topic_name(logical_name)

    def emit(
        self,
        logical_topic: str,
        event: Event,
        key: str | None = None,
        timestamp: float | None = None,
        event_time: float | None = None,
    ) -> None:
        """Produce an event to a catalog topic, keyed by its entity and stamped with its event time.

        `event_time`, when given, is the time of the input that caused this output; the
        event-to-output latency histogram is observed from it.
        """
        topic = self.topic(logical_topic)
        record_key = (key if key is not None else event.entity_key()).encode()
        stamp = timestamp if timestamp is not None else getattr(event, "event_time", None)
        timestamp_ms = int(stamp * 1000) if isinstance(stamp, int | float) else None
        self._send(topic, record_key, encode(event), timestamp_ms)
        EVENTS_OUT.labels(self.service, topic).inc()
        if event_time is not None:
            EVENT_TO_OUTPUT_SECONDS.labels(self.service).observe(max(0.0, time.time() - event_time))

    def dead_letter(self, record: Record, reason: DeadLetterReason, error: BaseException | str) -> None:
        """Send the untouched record to the dead-letter topic with why it failed."""
        error_class = type(error).__name__ if isinstance(error, BaseException) else "Error"
        value = record.value
        size = len(value) if value is not None else 0
        # An oversize record would make an oversize dead letter, which the broker refuses in turn: keep a
        # prefix large enough to identify it and say that it was cut.
        keep = self.settings.topics.max_message_bytes // 2
        truncated = size > keep
        letter = DeadLetter(
            reason=reason,
            error_class=error_class,
            error_message=str(error)[:2000],
            source_topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            original_value=value[:MAX_KEPT_PREFIX] if truncated and value is not None else value,
            original_key=record.key,
            original_timestamp_ms=record.timestamp_ms,
            original_size_bytes=size,
            original_value_truncated=truncated,
            consumer_group=self.group_id,
            failed_at=time.time(),
        )
        topic = self.topic("dead_letters")
        self._send(topic, record.key, encode(letter), record.timestamp_ms)
        DEAD_LETTERS.labels(self.service, record.topic, reason).inc()
        self.dead_letters += 1

    def late(self, record: Record, detail: str) -> None:
        """Send a record whose event time is past the allowed lateness to the late-events topic, whole."""
        headers = [
            ("source-topic", record.topic.encode()),
            ("source-partition", str(record.partition).encode()),
            ("source-offset", str(record.offset).encode()),
            ("late-detail", detail.encode()),
        ]
        self._send(self.topic("late_events"), record.key, record.value, record.timestamp_ms, headers=headers)
        LATE_EVENTS.labels(self.service, record.topic).inc()
        self.late_events += 1
