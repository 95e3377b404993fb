"""One delivery worker per subscriber: its own thread and bounded queue, so a slow one holds up no other.

The worker filters, sends, and retries with backoff for up to `max_retry_seconds`. It reports each alert as
finished only once its fate is settled (delivered, rejected and dead-lettered, filtered, duplicate, parked,
or dead-lettered after the time limit); an alert in flight when the worker is stopped is *not* reported, so
its offset stays uncommitted and it is delivered again after a restart.

A subscriber that keeps failing opens its circuit breaker. Its alerts are then *parked*: written to the
alert dead-letter topic (durable, so their offsets can be committed and the other subscribers go on), and
kept in memory. One probe at a time tests the subscriber; when a probe gets through, the parked alerts are
delivered in order. Whatever is still parked when the worker stops, or after `max_retry_seconds`, stays
in the dead-letter topic for `streaming alerts redrive`.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from consumers.alerting import metrics
from consumers.alerting.breaker import CircuitBreaker
from consumers.alerting.filters import SubscriberFilter
from consumers.alerting.retry import RetryPolicy
from consumers.alerting.sinks import SendResult, Sink
from consumers.alerting.tracker import Ticket
from contracts import Alert

log = logging.getLogger(__name__)

FinalOutcome = Literal["delivered", "rejected", "dead_lettered", "filtered", "duplicate", "parked"]

#: Prefix of the dead-letter reason of a parked alert (the dead-letter writer marks those records).
PARKED = "parked"

#: Seconds between the log lines of a subscriber that stays unreachable.
STILL_DOWN_LOG_SECONDS = 60.0


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


@dataclass(frozen=True)
class ParkedAlert:
    alert: Alert
    parked_at: float  # wall-clock seconds


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
        breaker: CircuitBreaker | None = None,
        parked_in_memory: int = 100_000,
    ) -> None:
        self.name = name
        self.sink = sink
        self.filter = subscriber_filter
        self.retry = retry
        self.dead_letter = dead_letter
        self.on_done = on_done
        self.clock = clock
        self.breaker = breaker or CircuitBreaker(max_probe_seconds=max(1.0, retry.max_backoff_seconds))
        self.parked: deque[ParkedAlert] = deque()
        self.parked_in_memory = parked_in_memory
        self.redelivered = 0
        self._parked_only_durable = 0
        self._last_error = ""
        self._still_down_logged_at = 0.0
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
        try:
            self._loop()
        finally:
            self._report_parked_left()

    def _loop(self) -> None:
        while not self._stop.is_set():
            if self.breaker.is_open:
                self._while_open()
            elif self.parked:
                self._redeliver_parked()
                continue
            try:
                item = self._queue.get(timeout=self._idle_wait())
            except queue.Empty:
                continue
            if item is None:
                return
            alert, ticket = item
            metrics.QUEUE_DEPTH.labels(self.name).set(self._queue.qsize())
            if self.breaker.is_open and not (self.breaker.probe_due() and not self.parked):
                report = self._park(alert, ticket)
            else:
                report = self._deliver(alert, ticket)
            if report is None:
                return  # stopped mid-delivery: leave the offset uncommitted
            metrics.DELIVERIES.labels(self.name, report.outcome).inc()
            self.on_done(ticket, report)

    def _idle_wait(self) -> float:
        if self.breaker.is_open and self.parked:
            return min(0.1, max(0.005, self.breaker.seconds_to_probe()))
        return 0.1

    def _attempt(self, alert: Alert) -> SendResult:
        """One send, counted by the breaker (a rejection counts as reachable)."""
        try:
            result = self.sink.send(alert)
        except Exception as error:  # a failing sink (full disk, bad URL) is a failed attempt
            result = SendResult("retry", f"{type(error).__name__}: {error}"[:300])
        if result.outcome == "retry":
            self._last_error = result.detail
            if self.breaker.record_failure():
                metrics.BREAKER_OPEN.labels(self.name).set(1)
                log.warning(
                    "subscriber %s: circuit open after %d failed attempts in a row (last: %s); its alerts "
                    "are parked in the alert dead-letter topic and delivered when a probe gets through",
                    self.name,
                    self.breaker.consecutive_failures,
                    result.detail,
                )
                self._still_down_logged_at = time.monotonic()
        elif self.breaker.record_success():
            metrics.BREAKER_OPEN.labels(self.name).set(0)
            log.warning(
                "subscriber %s: reachable again (circuit closed); delivering %d parked alerts",
                self.name,
                len(self.parked),
            )
        return result

    def _deliver(self, alert: Alert, ticket: Ticket) -> DeliveryReport | None:
        skip = self.filter.reason_to_skip(alert)
        if skip is not None:
            return DeliveryReport(self.name, alert.alert_id, "filtered", 0, skip)
        if alert.alert_id in self._delivered_ids:
            return DeliveryReport(self.name, alert.alert_id, "duplicate", 0, "already delivered")

        def retrying(result: SendResult, attempts: int, delay: float) -> None:
            log.info("subscriber %s: %s, retry %d in %.2fs", self.name, result.detail, attempts, delay)
            metrics.RETRIES.labels(self.name).inc()

        def circuit_open(result: SendResult) -> str | None:
            return "circuit open" if self.breaker.is_open else None

        outcome = self.retry.run(lambda: self._attempt(alert), self._stop.wait, retrying, circuit_open)
        result, attempts = outcome.result, outcome.attempts
        if outcome.stopped:
            return None
        if result.outcome == "delivered":
            self._delivered(alert)
            return DeliveryReport(self.name, alert.alert_id, "delivered", attempts, result.detail)
        if result.outcome == "reject":
            if not self._dead_letter(alert, ticket, f"rejected by {self.name}: {result.detail}"):
                return None
            return DeliveryReport(self.name, alert.alert_id, "rejected", attempts, result.detail)
        if outcome.gave_up == "circuit open":
            return self._park(alert, ticket)
        reason = f"{self.name}: {outcome.gave_up}; last error: {result.detail}"
        if not self._dead_letter(alert, ticket, reason):
            return None
        return DeliveryReport(self.name, alert.alert_id, "dead_lettered", attempts, reason)

    def _delivered(self, alert: Alert) -> None:
        metrics.DELIVERY_SECONDS.labels(self.name).observe(max(0.0, self.clock() - alert.created_at))
        self._remember(alert.alert_id)

    def _park(self, alert: Alert, ticket: Ticket) -> DeliveryReport | None:
        """Make the alert durable in the dead-letter topic, and keep it for delivery on recovery."""
        skip = self.filter.reason_to_skip(alert)
        if skip is not None:
            return DeliveryReport(self.name, alert.alert_id, "filtered", 0, skip)
        if alert.alert_id in self._delivered_ids:
            return DeliveryReport(self.name, alert.alert_id, "duplicate", 0, "already delivered")
        reason = (
            f"{PARKED}: {self.name} unavailable for {self.breaker.open_seconds():.0f} s (circuit open); "
            f"last error: {self._last_error}"
        )
        if not self._dead_letter(alert, ticket, reason, counter=metrics.PARKED):
            return None
        if len(self.parked) < self.parked_in_memory:
            self.parked.append(ParkedAlert(alert, self.clock()))
        else:
            self._parked_only_durable += 1
        return DeliveryReport(self.name, alert.alert_id, "parked", 0, reason)

    def _while_open(self) -> None:
        """Probe when due (with the oldest parked alert); expire what has waited too long; log rarely."""
        self._expire_parked()
        if self.parked and self.breaker.probe_due():
            head = self.parked[0]
            result = self._attempt(head.alert)
            if result.outcome != "retry":
                self.parked.popleft()
                if result.outcome == "delivered":
                    self._delivered(head.alert)
                    self._count_redelivered()
                else:
                    log.warning(
                        "subscriber %s rejected parked alert %s (%s); it stays in the dead-letter topic",
                        self.name,
                        head.alert.alert_id,
                        result.detail,
                    )
        if self.breaker.is_open and time.monotonic() - self._still_down_logged_at >= STILL_DOWN_LOG_SECONDS:
            self._still_down_logged_at = time.monotonic()
            log.warning(
                "subscriber %s still unreachable after %.0f s: %d alerts parked, next probe in %.0f s (%s)",
                self.name,
                self.breaker.open_seconds(),
                len(self.parked) + self._parked_only_durable,
                self.breaker.seconds_to_probe(),
                self._last_error,
            )

    def _redeliver_parked(self) -> None:
        """Deliver the parked alerts in order, until one fails again (the breaker reopens) or a stop."""
        while self.parked and not self.breaker.is_open and not self._stop.is_set():
            head = self.parked[0]
            if head.alert.alert_id in self._delivered_ids:
                self.parked.popleft()
                continue
            alert = head.alert
            outcome = self.retry.run(
                lambda: self._attempt(alert),  # noqa: B023 (called before the loop moves on)
                self._stop.wait,
                None,
                lambda result: "circuit open" if self.breaker.is_open else None,
            )
            if outcome.stopped or outcome.result.outcome == "retry":
                if not self.breaker.is_open and not outcome.stopped:
                    # Retried past the time limit without the breaker opening: it stays dead-lettered.
                    self.parked.popleft()
                return
            self.parked.popleft()
            if outcome.result.outcome == "delivered":
                self._delivered(head.alert)
                self._count_redelivered()
        if not self.parked and self._parked_only_durable:
            log.warning(
                "subscriber %s: %d alerts parked beyond the %d kept in memory are only in the dead-letter "
                "topic; re-deliver them with `streaming alerts redrive --subscriber %s`",
                self.name,
                self._parked_only_durable,
                self.parked_in_memory,
                self.name,
            )
            self._parked_only_durable = 0

    def _count_redelivered(self) -> None:
        self.redelivered += 1
        metrics.DELIVERIES.labels(self.name, "redelivered").inc()

    def _expire_parked(self) -> None:
        cutoff = self.clock() - self.retry.max_retry_seconds
        expired = 0
        while self.parked and self.parked[0].parked_at < cutoff:
            self.parked.popleft()
            expired += 1
        if expired:
            log.error(
                "subscriber %s: %d parked alerts waited over %.0f s and are given up; they stay in the "
                "dead-letter topic for `streaming alerts redrive --subscriber %s`",
                self.name,
                expired,
                self.retry.max_retry_seconds,
                self.name,
            )

    def _report_parked_left(self) -> None:
        left = len(self.parked) + self._parked_only_durable
        if not left:
            return
        since = self.parked[0].parked_at if self.parked else self.clock()
        log.warning(
            "subscriber %s: stopping with %d parked alerts not yet delivered; they are in the dead-letter "
            "topic: streaming alerts redrive --subscriber %s --since %s",
            self.name,
            left,
            self.name,
            datetime.fromtimestamp(since, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )

    def _dead_letter(
        self, alert: Alert, ticket: Ticket, reason: str, counter: object = metrics.DEAD_LETTERS
    ) -> bool:
        """Write the dead letter, retrying until it is durable or the worker stops."""

        def write() -> SendResult:
            self.dead_letter(alert, ticket, self.name, reason)
            return SendResult("delivered", "dead letter written")

        def retrying(result: SendResult, attempts: int, delay: float) -> None:
            log.warning("subscriber %s: dead letter not written (%s); retrying", self.name, result.detail)

        outcome = RetryPolicy.until_done().run(write, self._stop.wait, retrying)
        if outcome.result.outcome != "delivered":
            return False
        counter.labels(self.name).inc()  # type: ignore[attr-defined]
        return True

    def _remember(self, alert_id: str) -> None:
        self._delivered_ids[alert_id] = None
        while len(self._delivered_ids) > self._remembered_ids:
            self._delivered_ids.popitem(last=False)
