"""Alerts as they fire: a background reader of the alerts topic, for the live view and the alert timeline."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from kafka import TopicPartition
from kafka.errors import KafkaError

from contracts import Alert
from streaming.config import Settings
from streaming.kafka import make_consumer
from streaming.schemas import Codec, EventDecodeError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SeenAlert:
    seen_at: float  # wall time the demo read it
    alert: Alert


class AlertFeed:
    """Reads the alerts topic from its end at start (committed records only) in a daemon thread.

    It uses no consumer group, so it never disturbs the dispatcher's offsets.
    """

    def __init__(self, settings: Settings, bootstrap: str, from_beginning: bool = False) -> None:
        self.settings = settings
        self.bootstrap = bootstrap
        self.from_beginning = from_beginning
        self.topic = settings.topic_name("alerts")
        self.alerts: list[SeenAlert] = []
        self.undecodable = 0
        self.error: str | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-alert-feed", daemon=True)

    def start(self, wait_seconds: float = 15.0) -> AlertFeed:
        self._thread.start()
        self._ready.wait(wait_seconds)
        return self

    def recent(self, count: int = 8) -> list[SeenAlert]:
        with self._lock:
            return list(self.alerts[-count:])

    def snapshot(self) -> list[SeenAlert]:
        with self._lock:
            return list(self.alerts)

    def _run(self) -> None:
        codec = Codec(Alert)
        try:
            consumer = make_consumer(self.settings, self.bootstrap, group_id=None, role="demo-alert-feed")
        except KafkaError as error:
            self.error = f"cannot read {self.topic}: {error}"
            self._ready.set()
            return
        try:
            partitions: set[int] = set()
            deadline = time.monotonic() + 10
            while not partitions and time.monotonic() < deadline and not self._stop.is_set():
                partitions = consumer.partitions_for_topic(self.topic) or set()
                if not partitions:
                    time.sleep(0.2)
            assigned = [TopicPartition(self.topic, partition) for partition in sorted(partitions)]
            consumer.assign(assigned)
            if self.from_beginning:
                consumer.seek_to_beginning(*assigned)
            else:
                consumer.seek_to_end(*assigned)
                for partition in assigned:
                    consumer.position(partition)  # resolve "end" now, not at the first poll
            self._ready.set()
            while not self._stop.is_set():
                batch = consumer.poll(timeout_ms=300)
                for records in batch.values():
                    for record in records:
                        try:
                            alert = codec.decode(record.value)
                        except EventDecodeError:
                            self.undecodable += 1
                            continue
                        with self._lock:
                            self.alerts.append(SeenAlert(time.time(), alert))
        except KafkaError as error:
            self.error = f"alert feed stopped: {error}"
            log.warning("%s", self.error)
        finally:
            self._ready.set()
            consumer.close()

    def stop(self, timeout_seconds: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_seconds)
