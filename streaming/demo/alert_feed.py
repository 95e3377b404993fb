"""Alerts as they fire: a background reader of the alerts topic, for the live view and the alert timeline."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from contracts import Alert
from streaming.config import Settings
from streaming.kafka import ConsumerRecord, TopicTail
from streaming.schemas import Codec, EventDecodeError


@dataclass(frozen=True)
class SeenAlert:
    seen_at: float  # wall time the demo read it
    alert: Alert


class AlertFeed:
    """Follows the alerts topic (committed records only) from its end, or its beginning, in a thread."""

    def __init__(self, settings: Settings, bootstrap: str, from_beginning: bool = False) -> None:
        self.topic = settings.topic_name("alerts")
        self.alerts: list[SeenAlert] = []
        self.undecodable = 0
        self._codec = Codec(Alert)
        self._lock = threading.Lock()
        self._tail = TopicTail(
            settings, bootstrap, self.topic, self._seen, from_beginning=from_beginning, role="demo-alert-feed"
        )

    @property
    def error(self) -> str | None:
        return self._tail.error

    def _seen(self, record: ConsumerRecord) -> None:
        try:
            alert = self._codec.decode(record.value)
        except EventDecodeError:
            self.undecodable += 1
            return
        with self._lock:
            self.alerts.append(SeenAlert(time.time(), alert))

    def start(self, wait_seconds: float = 15.0) -> AlertFeed:
        self._tail.start(wait_seconds)
        return self

    def recent(self, count: int = 8) -> list[SeenAlert]:
        with self._lock:
            return list(self.alerts[-count:])

    def snapshot(self) -> list[SeenAlert]:
        with self._lock:
            return list(self.alerts)

    def stop(self, timeout_seconds: float = 5.0) -> None:
        self._tail.stop(timeout_seconds)
