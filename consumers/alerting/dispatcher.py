"""Fans each consumed alert out to every subscriber's worker and tracks which offsets may be committed."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from consumers.alerting.breaker import CircuitBreaker
from consumers.alerting.delivery import DeadLetterFunction, DeliveryReport, SubscriberWorker
from consumers.alerting.filters import SubscriberFilter
from consumers.alerting.retry import RetryPolicy
from consumers.alerting.settings import SubscriberSettings
from consumers.alerting.sinks import Sink, make_sink
from consumers.alerting.tracker import CommitTracker, Ticket, TopicPartition
from contracts import Alert

log = logging.getLogger(__name__)


class AlertDispatcher:
    """The subscribers' workers plus the commit tracker; independent of how alerts are consumed.

    `submit` never waits for a delivery: it only queues (and waits for room while a subscriber's queue is
    full). The consume loop then commits no further than
    `allowed_offsets` says, which is the lowest offset some subscriber has not finished.

    >>> import io
    >>> from consumers.alerting.sinks import ConsoleSink
    >>> from consumers.alerting.settings import SubscriberSettings
    >>> out = io.StringIO()
    >>> dispatcher = AlertDispatcher([SubscriberSettings(name="screen", sink="console")], RetryPolicy(),
    ...     dead_letter=lambda *args: None, sinks={"screen": ConsoleSink(out)})
    >>> dispatcher.start()
    >>> alert = Alert(alert_id="a-1", kind="fraud", entity_id="c-1", severity="info", event_time=1.7e9,
    ...     created_at=1.7e9)
    >>> dispatcher.submit(alert, "alerts", 0, 41)
    >>> dispatcher.wait_idle(timeout=5)
    True
    >>> dispatcher.allowed_offsets({("alerts", 0): 42})
    {('alerts', 0): 42}
    >>> dispatcher.stop()
    >>> "c-1" in out.getvalue()
    True
    """

    def __init__(
        self,
        subscribers: Sequence[SubscriberSettings],
        retry: RetryPolicy,
        dead_letter: DeadLetterFunction,
        sinks: dict[str, Sink] | None = None,
        on_report: Callable[[DeliveryReport], None] | None = None,
        breaker_failures: int = 5,
        breaker_max_probe_seconds: float = 30.0,
        parked_in_memory: int = 100_000,
    ) -> None:
        if not subscribers:
            raise ValueError("no alert subscribers configured (settings: alerts.subscribers)")
        self.tracker = CommitTracker()
        self.on_report = on_report
        self.reports: dict[str, int] = {}
        self._reports_lock = threading.Lock()
        given = sinks or {}
        self.workers = [
            SubscriberWorker(
                name=subscriber.name,
                sink=given.get(subscriber.name) or make_sink(subscriber),
                subscriber_filter=SubscriberFilter.from_settings(subscriber),
                retry=retry,
                dead_letter=dead_letter,
                on_done=self._done,
                queue_size=subscriber.queue_size,
                breaker=CircuitBreaker(
                    failure_threshold=breaker_failures,
                    initial_probe_seconds=min(1.0, breaker_max_probe_seconds),
                    max_probe_seconds=breaker_max_probe_seconds,
                ),
                parked_in_memory=parked_in_memory,
            )
            for subscriber in subscribers
        ]

    def start(self) -> None:
        for worker in self.workers:
            worker.start()

    def submit(self, alert: Alert, topic: str, partition: int, offset: int) -> None:
        ticket = self.tracker.add(topic, partition, offset, waiting=len(self.workers))
        for worker in self.workers:
            if not worker.submit(alert, ticket, timeout=1.0):
                log.warning(
                    "subscriber %s has %d alerts queued; waiting for room (commits are held back meanwhile)",
                    worker.name,
                    worker.queued(),
                )
                worker.submit(alert, ticket)

    def allowed_offsets(self, proposed: dict[TopicPartition, int]) -> dict[TopicPartition, int]:
        return self.tracker.allowed(proposed)

    def forget(self, partitions: list[TopicPartition]) -> None:
        self.tracker.forget(partitions)

    def wait_idle(self, timeout: float) -> bool:
        return self.tracker.wait_idle(timeout)

    def stop(self, timeout: float = 10.0, drain: bool = False) -> None:
        """Stop every worker. Without `drain`, alerts in flight stay uncommitted and are redelivered later."""
        deadline = time.monotonic() + timeout
        for worker in self.workers:
            worker.stop(timeout=max(0.1, deadline - time.monotonic()), drain=drain)

    def _done(self, ticket: Ticket, report: DeliveryReport) -> None:
        with self._reports_lock:
            key = f"{report.subscriber}:{report.outcome}"
            self.reports[key] = self.reports.get(key, 0) + 1
        if self.on_report is not None:
            self.on_report(report)
        self.tracker.done(ticket)
