"""One delivery worker per subscriber: its own thread and bounded queue, so a slow one holds up no other.

The worker filters, sends, retries with backoff, and dead-letters after the cap. It reports each alert as
finished only once its fate is settled (delivered, rejected and dead-lettered, filtered, duplicate, or
dead-lettered after the cap); an alert in flight when the worker is stopped is *not* reported, so its
offset stays uncommitted and it is delivered again after a restart.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from consumers.alerting import metrics
from consumers.alerting.filters import SubscriberFilter
from consumers.alerting.retry import RetryPolicy
from consumers.alerting.sinks import SendResult, Sink
from consumers.alerting.tracker import Ticket
from contracts import Alert

log = logging.getLogger(__name__)

FinalOutcome = Literal["delivered", "rejected", "dead_lettered", "filtered", "duplicate"]


@dataclass(frozen=True)
class DeliveryReport:
    """How one alert ended for one subscriber."""

    subscriber: str
    alert_id: str
    outcome: FinalOutcome
    attempts: int
    detail: str


#: Called with (alert, ticket, subscriber, reason) and must return only once the dead letter is durable.
DeadLetterFunction = Callable[[Alert, Ticket, str, str], None]


class SubscriberWorker:
    """Delivers alerts to one subscriber, in order, on its own thread.

    >>> from consumers.alerting.sinks import ConsoleSink
    >>> import io
    >>> reports = []
    >>> worker = SubscriberWorker("console", ConsoleSink(io.StringIO()), SubscriberFilter(), RetryPolicy(),
    ...     dead_letter=lambda *args: None, on_done=lambda ticket, report: reports.append(report))
    >>> worker.start()
    >>> alert = Alert(alert_id="a-1", kind="fraud", entity_id="c-1", severity="info", event_time=1.7e9,
    ...     created_at=1.7e9)
    >>> worker.submit(alert, Ticket("alerts", 0, 0))
    True
    >>> worker.stop(timeout=5)
    >>> [(report.outcome, report.attempts) for report in reports]
    [('delivered', 1)]
    """

    def __init__(
        self,
        name: str,
        sink: Sink,
        subscriber_filter: SubscriberFilter,
        retry: RetryPolicy,
        dead_letter: DeadLetterFunction,
        on_done: Callable[[Ticket, DeliveryReport], None],
        queue_size: int = 10_000,
        remembered_ids: int = 50_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self.sink = sink
        self.filter = subscriber_filter
        self.retry = retry
        self.dead_letter = dead_letter
        self.on_done = on_done
        self.clock = clock
        self._queue: queue.Queue[tuple[Alert, Ticket] | None] = queue.Queue(maxsize=queue_size)
        self._stop = threading.Event()
        self._delivered_ids: OrderedDict[str, None] = OrderedDict()
        self._remembered_ids = remembered_ids
        self._thread = threading.Thread(target=self._run, name=f"alert-subscriber-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, alert: Alert, ticket: Ticket, timeout: float | None = None) -> bool:
        """Queue an alert; blocks while the queue is full (backpressure), False on timeout or stop."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._stop.is_set():
            try:
                self._queue.put((alert, ticket), timeout=0.1)
            except queue.Full:
                if deadline is not None and time.monotonic() >= deadline:
                    return False
                continue
            metrics.QUEUE_DEPTH.labels(self.name).set(self._queue.qsize())
            return True
        return False

    def queued(self) -> int:
        return self._queue.qsize()

    def stop(self, timeout: float = 10.0, drain: bool = True) -> None:
        """Stop the thread. With `drain`, alerts already queued are handled first (bounded by `timeout`)."""
        if drain:
            with contextlib.suppress(queue.Full):
                self._queue.put(None, timeout=timeout)
            self._thread.join(timeout)
        self._stop.set()
        self._thread.join(timeout)
        self.sink.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                item = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            if item is None:
                return
            alert, ticket = item
            metrics.QUEUE_DEPTH.labels(self.name).set(self._queue.qsize())
            report = self._deliver(alert, ticket)
            if report is None:
                return  # stopped mid-delivery: leave the offset uncommitted
            metrics.DELIVERIES.labels(self.name, report.outcome).inc()
            self.on_done(ticket, report)

    def _deliver(self, alert: Alert, ticket: Ticket) -> DeliveryReport | None:
        skip = self.filter.reason_to_skip(alert)
        if skip is not None:
            return DeliveryReport(self.name, alert.alert_id, "filtered", 0, skip)
        if alert.alert_id in self._delivered_ids:
            return DeliveryReport(self.name, alert.alert_id, "duplicate", 0, "already delivered")

        def retrying(result: SendResult, attempts: int, delay: float) -> None:
            log.info("subscriber %s: %s, retry %d in %.2fs", self.name, result.detail, attempts, delay)
            metrics.RETRIES.labels(self.name).inc()

        # A failing sink (full disk, bad URL) is retried and then dead-lettered like a failing server.
        outcome = self.retry.run(lambda: self.sink.send(alert), self._stop.wait, retrying)
        result, attempts = outcome.result, outcome.attempts
        if outcome.stopped:
            return None
        if result.outcome == "delivered":
            metrics.DELIVERY_SECONDS.labels(self.name).observe(max(0.0, self.clock() - alert.created_at))
            self._remember(alert.alert_id)
            return DeliveryReport(self.name, alert.alert_id, "delivered", attempts, result.detail)
        if result.outcome == "reject":
            if not self._dead_letter(alert, ticket, f"rejected by {self.name}: {result.detail}"):
                return None
            return DeliveryReport(self.name, alert.alert_id, "rejected", attempts, result.detail)
        reason = f"{self.name}: {outcome.gave_up}; last error: {result.detail}"
        if not self._dead_letter(alert, ticket, reason):
            return None
        return DeliveryReport(self.name, alert.alert_id, "dead_lettered", attempts, reason)

    def _dead_letter(self, alert: Alert, ticket: Ticket, reason: str) -> bool:
        """Write the dead letter, retrying until it is durable or the worker stops."""

        def write() -> SendResult:
            self.dead_letter(alert, ticket, self.name, reason)
            return SendResult("delivered", "dead letter written")

        def retrying(result: SendResult, attempts: int, delay: float) -> None:
            log.warning("subscriber %s: dead letter not written (%s); retrying", self.name, result.detail)

        outcome = RetryPolicy.until_done().run(write, self._stop.wait, retrying)
        if outcome.result.outcome != "delivered":
            return False
        metrics.DEAD_LETTERS.labels(self.name).inc()
        return True

    def _remember(self, alert_id: str) -> None:
        self._delivered_ids[alert_id] = None
        while len(self._delivered_ids) > self._remembered_ids:
            self._delivered_ids.popitem(last=False)
