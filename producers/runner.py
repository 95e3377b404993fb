"""The producer loop shared by both simulators: pacing, faults, delivery accounting, metrics, progress."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

from producers import metrics
from producers.faults import FaultInjector
from producers.malformed import VARIANTS, MalformedRecords
from producers.pacing import TokenBucket
from producers.records import OutgoingRecord
from producers.settings import ProducerSettings
from streaming.config import Settings
from streaming.console import ProgressReporter
from streaming.kafka import ensure_topics, make_admin, make_producer, resolve_bootstrap, topic_configs
from streaming.metrics import start_metrics_server
from streaming.pacing import EventTimePacer

log = logging.getLogger(__name__)

Rate = float | Literal["max"] | None


class Simulator(Protocol):
    """What the loop needs from a simulated world."""

    service: str
    data_topic: str
    start_time: float
    numeric_fields: tuple[str, ...]
    required_fields: tuple[str, ...]

    def generate(self, max_events: int | None) -> list[OutgoingRecord]:
        """The next records in event-time order, data and labels, with at most `max_events` data events."""
        ...

    def finish(self) -> list[OutgoingRecord]:
        """Labels still pending at the end of a run (their timestamps stay their reported times)."""
        ...


@dataclass
class ProducerSummary:
    """What a run produced, for the CLI's final line, tests and the demo."""

    service: str
    events: int = 0
    labels: int = 0
    records: int = 0
    bytes: int = 0
    delivered: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    injected: dict[str, int] = field(default_factory=dict)
    labels_dropped: int = 0
    send_seconds: float = 0.0
    elapsed_seconds: float = 0.0
    events_per_second: float = 0.0
    event_time_start: float = 0.0
    event_time_end: float = 0.0
    metrics_port: int | None = None
    topics: dict[str, str] = field(default_factory=dict)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["error_count"] = self.error_count
        return data


def _error_reason(error: BaseException) -> str:
    name = type(error).__name__
    if "Timeout" in name:
        return "timeout"
    if "TooLarge" in name or "Size" in name:
        return "too_large"
    if "Authorization" in name or "Authentication" in name:
        return "auth"
    return "broker_error"


class ProducerLoop:
    """Runs a simulator into Kafka until `duration` seconds or `count` events, whichever comes first.

    Pacing: `rate` events per wall second (a token bucket), `"max"` (as fast as the producer goes), or
    `None`: the simulated clock, where event time runs `speedup` times faster than wall time.
    Every send gets a callback and an errback: acknowledgements feed the latency histogram, failures are
    counted by reason, shown on the progress line and returned in the summary, never dropped unseen.
    """

    def __init__(
        self,
        settings: Settings,
        simulator: Simulator,
        rate: Rate = None,
        speedup: float | None = None,
        duration: float | None = None,
        count: int | None = None,
        bootstrap: str | None = None,
        metrics_port: int | None = None,
        progress: bool = True,
        flush_labels: bool = True,
        stop_event: threading.Event | None = None,
        fault_seed: int = 0,
    ) -> None:
        if duration is None and count is None and stop_event is None:
            log.info("no --duration or --count: producing until interrupted")
        self.settings = settings
        self.simulator = simulator
        self.rate = rate
        self.speedup = (
            speedup if speedup is not None else settings.section("producers", ProducerSettings).speedup
        )
        self.duration = duration
        self.count = count
        self.bootstrap = bootstrap
        self.metrics_port = metrics_port
        self.progress = progress
        self.flush_labels = flush_labels
        self.stop_event = stop_event or threading.Event()
        self.fault_seed = fault_seed
        self.summary = ProducerSummary(service=simulator.service)
        self._lock = threading.Lock()
        self._errors: Counter[str] = Counter()
        self._delivered = 0
        self._logged_errors = 0

    def _names(self) -> dict[str, str]:
        # A simulator may name its own topics (the shop writes products, not labels); default: data, labels.
        logical = getattr(self.simulator, "topics", None) or (self.simulator.data_topic, "labels")
        return {name: self.settings.topic_name(name) for name in logical}

    def _topic_limits(self, admin: Any, topic: str) -> dict[str, int]:
        """`max.message.bytes` and `message.timestamp.after.max.ms` of a topic, those the broker reports."""
        names = ("max.message.bytes", "message.timestamp.after.max.ms")
        try:
            return {name: int(value) for name, value in topic_configs(admin, topic, names).items()}
        except Exception as error:
            log.warning("could not read the configs of %s (%s)", topic, error)
            return {}

    def _check_timestamps(self, limits: dict[str, int], topic: str) -> None:
        ahead_ms = limits.get("message.timestamp.after.max.ms", 3_600_000)
        if ahead_ms < 10**15:
            log.warning(
                "topic %s rejects timestamps more than %.0f s ahead of the broker clock; "
                "simulated event time must not run that far ahead (use an earlier --start-time, "
                "or recreate the topic with `streaming topics create`)",
                topic,
                ahead_ms / 1000,
            )

    def _injector(self, limits: dict[str, int], topic: str) -> FaultInjector:
        producers = self.settings.section("producers", ProducerSettings)
        malformed = None
        if producers.bad_fraction > 0:
            variants = list(VARIANTS)
            accepted = limits.get("max.message.bytes", 1_048_588)
            if accepted <= self.settings.topics.max_message_bytes + 64 * 1024:
                log.warning(
                    "topic %s does not accept records over %d bytes: oversize records are not generated",
                    topic,
                    self.settings.topics.max_message_bytes,
                )
                variants.remove("oversize")
            malformed = MalformedRecords(
                numeric_fields=self.simulator.numeric_fields,
                required_fields=self.simulator.required_fields,
                max_bytes=self.settings.topics.max_message_bytes,
                seed=self.fault_seed + 1,
                variants=variants,
            )
        return FaultInjector(
            seed=self.fault_seed,
            out_of_order_fraction=producers.out_of_order_fraction,
            out_of_order_delay_seconds=producers.out_of_order_delay_seconds,
            late_fraction=producers.late_fraction,
            late_delay_seconds=producers.late_delay_seconds,
            duplicate_fraction=producers.duplicate_fraction,
            bad_fraction=producers.bad_fraction,
            malformed=malformed,
        )

    def run(self) -> ProducerSummary:
        service = self.simulator.service
        bootstrap = self.bootstrap or resolve_bootstrap(self.settings)
        names = self._names()
        self.summary.topics = names
        admin = make_admin(self.settings, bootstrap)
        try:
            ensure_topics(admin, self.settings, only=[*names, "dead_letters"])
            for logical in names:
                self._check_timestamps(self._topic_limits(admin, names[logical]), names[logical])
            data_topic = names[self.simulator.data_topic]
            injector = self._injector(self._topic_limits(admin, data_topic), data_topic)
        finally:
            admin.close()
        if self.metrics_port is not None:
            self.summary.metrics_port = start_metrics_server(self.metrics_port, self.settings.metrics.address)
        producer = make_producer(self.settings, bootstrap, role=service)
        for topic in names.values():
            producer.partitions_for(topic)  # connect and fetch metadata before the clock starts
        self._children = {
            logical: (
                metrics.EVENTS.labels(service, topic),
                metrics.RECORDS.labels(service, topic),
                metrics.BYTES.labels(service, topic),
            )
            for logical, topic in names.items()
        }
        self._latency = metrics.SEND_SECONDS.labels(service)
        numeric_rate = self.rate if isinstance(self.rate, int | float) else None
        metrics.TARGET_RATE.labels(service).set(numeric_rate or 0.0)
        stop = self.stop_event
        bucket = TokenBucket(numeric_rate, stop_event=stop) if numeric_rate else None
        pacer = (
            EventTimePacer(self.speedup, origin=self.simulator.start_time, stop_event=stop)
            if self.rate is None
            else None
        )
        self.summary.event_time_start = self.simulator.start_time
        if bucket is not None:
            pace = f"{numeric_rate:g} events/s"
        elif pacer is not None:
            pace = f"event time at {self.speedup:g}x wall time"
        else:
            pace = "as fast as possible"
        log.info("%s: producing to %s, paced by %s", service, ", ".join(names.values()), pace)
        started = time.monotonic()
        deadline = started + self.duration if self.duration is not None else None
        events = 0
        pending_progress = 0
        last_progress = started
        with ProgressReporter(
            service,
            total=self.count,
            unit="events",
            extra=self._progress_extra,
            interactive=None if self.progress else False,
            plain_interval_seconds=5.0 if self.progress else float("inf"),
        ) as progress:
            try:
                while not stop.is_set():
                    remaining = None if self.count is None else self.count - events
                    if remaining is not None and remaining <= 0:
                        break
                    if deadline is not None and time.monotonic() >= deadline:
                        break
                    for record in self.simulator.generate(remaining):
                        if record.topic == self.simulator.data_topic:
                            if bucket is not None:
                                bucket.acquire(record.events)
                            elif pacer is not None:
                                pacer.wait_until(record.due_time)
                        elif pacer is not None:
                            pacer.wait_until(record.due_time)
                        # A stop during the wait: this record's time has not come, so it is not sent.
                        if stop.is_set() or (deadline is not None and time.monotonic() >= deadline):
                            if bucket is not None and record.topic == self.simulator.data_topic:
                                bucket.refund(record.events)
                            break
                        if record.topic == self.simulator.data_topic:
                            events += record.events
                            pending_progress += record.events
                            for outgoing in injector.process(record, now=record.due_time):
                                self._send(producer, names, outgoing)
                        else:
                            for outgoing in injector.release(record.due_time):
                                self._send(producer, names, outgoing)
                            self._send(producer, names, record)
                        self.summary.event_time_end = max(self.summary.event_time_end, record.due_time)
                    now = time.monotonic()
                    if now - last_progress >= 0.25:
                        progress.advance(pending_progress)
                        pending_progress = 0
                        last_progress = now
                        metrics.SIMULATED_TIME.labels(service).set(self.summary.event_time_end)
            except KeyboardInterrupt:
                log.warning("interrupted: flushing what was generated")
            finished = time.monotonic()
            if bucket is not None and bucket.started is not None and events:
                # The paced interval: from the first admitted event to the end of the last one's share of
                # time at the target rate, so the achieved rate reads exactly the target when keeping up.
                # Setup (topics, metadata, first generate) is outside it; shortfalls under load show.
                send_seconds = max(finished, bucket.schedule_end) - bucket.started
            else:
                send_seconds = finished - started
            for outgoing in injector.drain():
                self._send(producer, names, outgoing)
            leftover = self.simulator.finish()
            if self.flush_labels:
                for record in leftover:
                    self._send(producer, names, record)
            else:
                self.summary.labels_dropped = len(leftover)
            progress.advance(pending_progress)
            producer.flush(timeout=60)
            producer.close(timeout=10)
        summary = self.summary
        summary.events = events
        summary.send_seconds = send_seconds
        summary.elapsed_seconds = time.monotonic() - started
        summary.events_per_second = events / send_seconds if send_seconds > 0 else 0.0
        summary.injected = dict(injector.counts)
        with self._lock:
            summary.errors = dict(self._errors)
            summary.delivered = self._delivered
        undelivered = summary.records - summary.delivered - summary.error_count
        if undelivered > 0:
            # flush() timed out: these were neither acknowledged nor failed. Say so, never hide it.
            summary.errors["unacknowledged"] = summary.errors.get("unacknowledged", 0) + undelivered
            metrics.ERRORS.labels(service, "unacknowledged").inc(undelivered)
        for kind, number in summary.injected.items():
            metrics.INJECTED.labels(service, kind).inc(number)
        return summary

    def _progress_extra(self) -> str:
        with self._lock:
            errors = sum(self._errors.values())
            delivered = self._delivered
        summary = self.summary
        return f"records {summary.records:,} acked {delivered:,} labels {summary.labels:,} errors {errors:,}"

    def _send(self, producer: Any, names: dict[str, str], record: OutgoingRecord) -> None:
        events_counter, records_counter, bytes_counter = self._children[record.topic]
        started = time.perf_counter()
        try:
            future = producer.send(
                names[record.topic], key=record.key, value=record.value, timestamp_ms=record.timestamp_ms
            )
        except Exception as error:
            self._failed(error, "send_failed")
            self.summary.records += 1
            return
        future.add_callback(self._acknowledged, started)
        future.add_errback(self._failed)
        self.summary.records += 1
        self.summary.bytes += len(record.value)
        records_counter.inc()
        bytes_counter.inc(len(record.value))
        if record.kind == "event":
            events_counter.inc(record.events)
            if record.topic == "labels":
                self.summary.labels += 1

    def _acknowledged(self, started: float, _metadata: Any) -> None:
        self._latency.observe(time.perf_counter() - started)
        with self._lock:
            self._delivered += 1

    def _failed(self, error: BaseException, reason: str | None = None) -> None:
        reason = reason or _error_reason(error)
        metrics.ERRORS.labels(self.simulator.service, reason).inc()
        with self._lock:
            self._errors[reason] += 1
            self._logged_errors += 1
            first = self._logged_errors <= 5
        if first:
            log.error("delivery failed (%s): %r", reason, error)


class SimulatedProducer:
    """What both simulators' producers share: run their world through the producer loop.

    A subclass sets `settings`, `seed` and `world` (a `Simulator`) in its constructor.
    """

    settings: Settings
    seed: int
    world: Simulator

    def run(
        self,
        duration: float | None = None,
        count: int | None = None,
        rate: Rate = None,
        speedup: float | None = None,
        bootstrap: str | None = None,
        metrics_port: int | None = None,
        progress: bool = True,
        flush_labels: bool = True,
        stop_event: threading.Event | None = None,
    ) -> ProducerSummary:
        """Produce until `duration` or `count`; labels still pending at the end go too unless
        `flush_labels` is off."""
        loop = ProducerLoop(
            self.settings,
            self.world,
            rate=rate,
            speedup=speedup,
            duration=duration,
            count=count,
            bootstrap=bootstrap,
            metrics_port=metrics_port,
            progress=progress,
            flush_labels=flush_labels,
            stop_event=stop_event,
            fault_seed=self.seed + 1_000,
        )
        return loop.run()
