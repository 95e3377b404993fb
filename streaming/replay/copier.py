"""`streaming replay --from-topic T --start TIME [--end TIME] --to-topic T2`: copy a time range of a topic."""

from __future__ import annotations

import logging
import threading
import time

from streaming.config import Settings
from streaming.console import ProgressReporter
from streaming.kafka import make_consumer, make_producer, resolve_bootstrap
from streaming.kafka.ranges import offset_ranges, read_ranges
from streaming.pacing import EventTimePacer
from streaming.replay.delivery import DeliveryTracker
from streaming.replay.player import ReplaySummary, ensure_destination

log = logging.getLogger(__name__)


class TopicRangeCopier:
    """Copies the records of `source` with `start <= timestamp < end` to `destination`.

    Bounds are found with offsets_for_times, records are merged across partitions by timestamp, and each
    keeps its key, value, headers and timestamp. When both topics have the same number of partitions a
    record keeps its partition too, so per-partition order is exactly the source's.

    >>> from streaming.config import Settings
    >>> TopicRangeCopier(Settings(), "a", "b", start=1.7e9).start_ms
    1700000000000
    """

    def __init__(
        self,
        settings: Settings,
        source: str,
        destination: str,
        start: float | None = None,
        end: float | None = None,
        speed: float | None = None,
        bootstrap: str | None = None,
        progress: bool = True,
        stop_event: threading.Event | None = None,
    ) -> None:
        if source == destination:
            raise ValueError("the source and destination topics must differ")
        self.settings = settings
        self.source = source
        self.destination = destination
        self.start_ms = None if start is None else round(start * 1000)
        self.end_ms = None if end is None else round(end * 1000)
        if self.start_ms is not None and self.end_ms is not None and self.end_ms <= self.start_ms:
            raise ValueError("--end must be after --start")
        self.speed = speed
        self.bootstrap = bootstrap
        self.progress = progress
        self.stop_event = stop_event or threading.Event()

    def run(self) -> ReplaySummary:
        bootstrap = self.bootstrap or resolve_bootstrap(self.settings)
        consumer = make_consumer(self.settings, bootstrap, group_id=None, role="replay-copy")
        summary = ReplaySummary(source=self.source, destination=self.destination)
        started = time.monotonic()
        try:
            ranges = offset_ranges(consumer, self.source, self.start_ms, self.end_ms)
            ensure_destination(self.settings, bootstrap, self.destination, partitions=len(ranges))
            destination_partitions = consumer.partitions_for_topic(self.destination) or set()
            keep_partition = len(destination_partitions) == len(ranges)
            producer = make_producer(self.settings, bootstrap, role="replay-copy")
            producer.partitions_for(self.destination)  # fetch metadata now, not inside the paced loop
            tracker = DeliveryTracker()
            pacer = EventTimePacer(self.speed, stop_event=self.stop_event)
            total = sum(item.size for item in ranges)
            with ProgressReporter(
                f"copy {self.source} -> {self.destination}",
                total=total,
                unit="records",
                interactive=None if self.progress else False,
                extra=lambda: f"copied {summary.records:,} errors {tracker.error_count}",
            ) as progress:
                read = 0
                first_sent: float | None = None
                for record in read_ranges(consumer, ranges, self.start_ms, self.end_ms):
                    if self.stop_event.is_set():
                        break
                    pacer.wait_until(record.timestamp / 1000.0)
                    if self.stop_event.is_set():
                        break
                    first_sent = first_sent if first_sent is not None else time.monotonic()
                    tracker.send(
                        producer,
                        self.destination,
                        key=record.key,
                        value=record.value,
                        timestamp_ms=record.timestamp,
                        headers=list(record.headers or []),
                        partition=record.partition if keep_partition else None,
                    )
                    summary.send_span_seconds = time.monotonic() - first_sent
                    summary.records += 1
                    if summary.first_timestamp_ms is None:
                        summary.first_timestamp_ms = record.timestamp
                    summary.last_timestamp_ms = record.timestamp
                    read += 1
                    if read % 1_000 == 0:
                        progress.advance(1_000)
                progress.advance(read % 1_000)
                tracker.finish(producer)
                producer.close(timeout=10)
            summary.rows = total
            summary.skipped = total - summary.records
            summary.errors = tracker.errors
            summary.bytes = tracker.bytes
        finally:
            consumer.close()
        summary.elapsed_seconds = time.monotonic() - started
        summary.rows_per_second = (
            summary.records / summary.elapsed_seconds if summary.elapsed_seconds else 0.0
        )
        return summary
