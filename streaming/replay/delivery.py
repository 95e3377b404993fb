"""Sending with accounting: every record gets a callback and an errback; failures are counted by reason."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from typing import Any

log = logging.getLogger(__name__)


class DeliveryTracker:
    """Wraps `producer.send` so that no delivery error goes unseen.

    >>> tracker = DeliveryTracker()
    >>> tracker.failed(TimeoutError("no ack"))
    >>> tracker.errors, tracker.error_count
    ({'TimeoutError': 1}, 1)
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._errors: Counter[str] = Counter()
        self.sent = 0
        self.bytes = 0
        self._acknowledged = 0

    def send(
        self,
        producer: Any,
        topic: str,
        key: bytes | None = None,
        value: bytes | None = None,
        timestamp_ms: int | None = None,
        headers: list[tuple[str, bytes]] | None = None,
        partition: int | None = None,
    ) -> None:
        try:
            future = producer.send(
                topic, key=key, value=value, timestamp_ms=timestamp_ms, headers=headers, partition=partition
            )
        except Exception as error:
            self.failed(error)
            return
        self.sent += 1
        if value:
            self.bytes += len(value)
        future.add_callback(self._acknowledge)
        future.add_errback(self.failed)

    def _acknowledge(self, _metadata: Any) -> None:
        with self._lock:
            self._acknowledged += 1

    def failed(self, error: BaseException) -> None:
        with self._lock:
            self._errors[type(error).__name__] += 1
            first = sum(self._errors.values()) <= 5
        if first:
            log.error("delivery failed: %r", error)

    @property
    def acknowledged(self) -> int:
        with self._lock:
            return self._acknowledged

    @property
    def errors(self) -> dict[str, int]:
        with self._lock:
            return dict(self._errors)

    @property
    def error_count(self) -> int:
        with self._lock:
            return sum(self._errors.values())

    def finish(self, producer: Any, timeout_seconds: float = 60.0) -> None:
        """Flush, then count records neither acknowledged nor failed as `unacknowledged`."""
        producer.flush(timeout=timeout_seconds)
        with self._lock:
            missing = self.sent - self._acknowledged - sum(self._errors.values())
            if missing > 0:
                self._errors["unacknowledged"] += missing
