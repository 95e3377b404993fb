"""`streaming replay FILE --topic T`: a CSV, JSONL or Parquet file into a topic, at a chosen pace."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from streaming.config import Settings
from streaming.console import ProgressReporter
from streaming.kafka import ensure_topics, make_admin, make_producer, resolve_bootstrap
from streaming.kafka.partitioner import KeyPartitioner
from streaming.pacing import EventTimePacer
from streaming.replay.deadletters import encode_dead_letter
from streaming.replay.delivery import DeliveryTracker
from streaming.replay.mapping import BadRow, MappedRecord, RowMapper
from streaming.replay.sources import FileSource
from streaming.topics import TopicSpec

log = logging.getLogger(__name__)

#: How many bad rows are quoted in the summary (all of them are counted).
BAD_ROW_EXAMPLES = 10


def _producer_picks(_key: bytes | None) -> int | None:
    return None


@dataclass
class ReplaySummary:
    """The outcome of a replay, a topic copy or a recording."""

    source: str
    destination: str
    rows: int = 0
    records: int = 0
    events: int = 0
    bad_rows: dict[str, int] = field(default_factory=dict)
    bad_row_examples: list[str] = field(default_factory=list)
    dead_lettered: int = 0
    skipped: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    bytes: int = 0
    elapsed_seconds: float = 0.0
    send_span_seconds: float = 0.0  # wall time from the first record sent to the last: the pace achieved
    rows_per_second: float = 0.0
    first_timestamp_ms: int | None = None
    last_timestamp_ms: int | None = None

    @property
    def bad_row_count(self) -> int:
        return sum(self.bad_rows.values())

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["bad_row_count"] = self.bad_row_count
        data["error_count"] = self.error_count
        return data


def ensure_destination(settings: Settings, bootstrap: str, topic: str, partitions: int | None = None) -> None:
    """Create the destination topic (and the dead-letter topic) if missing, with the catalog's configs."""
    admin = make_admin(settings, bootstrap)
    try:
        spec = TopicSpec(topic, key="as replayed", description="replayed records", partitions=partitions)
        ensure_topics(admin, settings, extra={topic: spec}, only=["dead_letters"])
    finally:
        admin.close()


class FileReplayer:
    """Replays a file into `topic`. `speed`: None (as fast as possible), 1 (the recorded pace) or N.

    Rows are read `chunk_size` at a time; each is mapped (see `RowMapper`), paced on its event time and
    sent with its key and its event time as the record timestamp. Bad rows are counted by reason, quoted
    in the summary, and with `dead_letter=True` sent to the dead-letter topic with the reason.

    >>> from streaming.config import Settings
    >>> replayer = FileReplayer(Settings(), Path(__file__), "t", file_format="csv")
    >>> replayer.mapper.schema, replayer.speed
    ('raw', None)
    """

    def __init__(
        self,
        settings: Settings,
        path: Path,
        topic: str,
        schema: str = "raw",
        time_column: str | None = None,
        key_column: str | None = None,
        mapping: dict[str, str] | None = None,
        speed: float | None = None,
        dead_letter: bool = False,
        file_format: str | None = None,
        chunk_size: int = 50_000,
        bootstrap: str | None = None,
        progress: bool = True,
        stop_event: threading.Event | None = None,
    ) -> None:
        self.settings = settings
        self.source = FileSource(path, file_format, chunk_size)
        self.topic = topic
        self.mapper = RowMapper(schema, time_column, key_column, mapping)
        self.speed = speed
        self.dead_letter = dead_letter
        self.bootstrap = bootstrap
        self.progress = progress
        self.stop_event = stop_event or threading.Event()
        if speed is not None and time_column is None and schema == "raw":
            log.info("no --time-column: rows are paced only if they are a recorded file")

    def run(self) -> ReplaySummary:
        bootstrap = self.bootstrap or resolve_bootstrap(self.settings)
        ensure_destination(self.settings, bootstrap, self.topic)
        producer = make_producer(self.settings, bootstrap, role="replay")
        # Metadata now, not inside the paced loop; the partitions also tell the key partitioner.
        partitions = producer.partitions_for(self.topic)
        tracker = DeliveryTracker()
        pacer = EventTimePacer(self.speed, stop_event=self.stop_event)
        summary = ReplaySummary(source=str(self.source.path), destination=self.topic)
        bad_counts: Counter[str] = Counter()
        dead_letter_topic = self.settings.topic_name("dead_letters")
        source_name = f"file:{self.source.path.name}"
        paced_without_time = False
        paced = self.speed is not None
        stopped = self.stop_event.is_set
        send = tracker.send
        topic = self.topic
        partition_of = KeyPartitioner(partitions) if partitions else _producer_picks
        started = time.monotonic()
        first_sent: float | None = None
        with ProgressReporter(
            f"replay {self.source.path.name}",
            total=self.source.total,
            unit=self.source.unit,
            interactive=None if self.progress else False,
            extra=lambda: (
                f"records {summary.records:,} bad {sum(bad_counts.values()):,} errors {tracker.error_count}"
            ),
        ) as progress:
            position = 0.0
            try:
                for chunk in self.source.chunks():
                    records, bad = self.mapper.map_frame(chunk.frame, chunk.first_row)
                    summary.rows += len(chunk.frame)
                    sent = 0
                    # The per-record path is kept to what must happen per record (with `--speed max`,
                    # kafka-python's send() is most of the time): counts and times are taken per chunk.
                    try:
                        for record in records:
                            if stopped():
                                break
                            if paced:
                                if record.event_time is None:
                                    paced_without_time = True
                                pacer.wait_until(record.event_time)
                                if stopped():
                                    break
                            if first_sent is None:
                                first_sent = time.monotonic()
                            send(
                                producer,
                                topic,
                                key=record.key,
                                value=record.value,
                                timestamp_ms=record.timestamp_ms,
                                partition=partition_of(record.key),
                            )
                            sent += 1
                    finally:
                        self._account(records[:sent], summary)
                    if first_sent is not None:
                        summary.send_span_seconds = time.monotonic() - first_sent
                    self._bad_rows(
                        bad, bad_counts, summary, producer, tracker, dead_letter_topic, source_name
                    )
                    progress.advance(chunk.position - position)
                    position = chunk.position
                    if self.stop_event.is_set():
                        break
            except KeyboardInterrupt:
                log.warning("interrupted: flushing what was sent")
            tracker.finish(producer)
            producer.close(timeout=10)
        if paced_without_time:
            log.warning("--speed was given but rows have no event time (no --time-column): sent unpaced")
        summary.bad_rows = dict(bad_counts)
        summary.errors = tracker.errors
        summary.bytes = tracker.bytes
        summary.elapsed_seconds = time.monotonic() - started
        summary.rows_per_second = summary.rows / summary.elapsed_seconds if summary.elapsed_seconds else 0.0
        return summary

    @staticmethod
    def _account(sent: list[MappedRecord], summary: ReplaySummary) -> None:
        summary.records += len(sent)
        summary.events += sum(record.events for record in sent)
        stamps = [record.timestamp_ms for record in sent if record.timestamp_ms is not None]
        if stamps:
            if summary.first_timestamp_ms is None:
                summary.first_timestamp_ms = stamps[0]
            summary.last_timestamp_ms = stamps[-1]

    def _bad_rows(
        self,
        bad: list[BadRow],
        counts: Counter[str],
        summary: ReplaySummary,
        producer: Any,
        tracker: DeliveryTracker,
        dead_letter_topic: str,
        source_name: str,
    ) -> None:
        for row in bad:
            counts[row.reason] += 1
            if len(summary.bad_row_examples) < BAD_ROW_EXAMPLES:
                summary.bad_row_examples.append(f"{row.reason}: {row.message}")
            if self.dead_letter:
                tracker.send(
                    producer,
                    dead_letter_topic,
                    key=row.key,
                    value=encode_dead_letter(row, source_name),
                    timestamp_ms=row.timestamp_ms,
                )
                summary.dead_lettered += 1


class LogReplayer:
    """Replays a whole dataset that a `ReplayFormat` read: its streams of records, one catalog topic each,
    in order (reference data such as a catalogue first, then the events), paced on event time like a file.

    Parameters
    ----------
    settings, bootstrap
        Where the cluster is.
    streams
        `LogStreams.streams`: (logical topic, records) pairs.
    speed
        None (as fast as possible), 1 (the recorded pace) or N times faster.
    label
        What the progress line calls the replay.
    """

    def __init__(
        self,
        settings: Settings,
        streams: list[tuple[str, Any]],
        speed: float | None = None,
        bootstrap: str | None = None,
        label: str = "replay",
        progress: bool = True,
        stop_event: threading.Event | None = None,
    ) -> None:
        self.settings = settings
        self.streams = streams
        self.speed = speed
        self.bootstrap = bootstrap
        self.label = label
        self.progress = progress
        self.stop_event = stop_event or threading.Event()

    def run(self) -> ReplaySummary:
        bootstrap = self.bootstrap or resolve_bootstrap(self.settings)
        admin = make_admin(self.settings, bootstrap)
        try:
            ensure_topics(admin, self.settings)
        finally:
            admin.close()
        producer = make_producer(self.settings, bootstrap, role="replay")
        tracker = DeliveryTracker()
        destinations = ", ".join(self.settings.topic_name(topic) for topic, _records in self.streams)
        summary = ReplaySummary(source=self.label, destination=destinations)
        started = time.monotonic()
        with ProgressReporter(
            self.label,
            total=None,
            unit="records",
            interactive=None if self.progress else False,
            extra=lambda: f"errors {tracker.error_count}",
        ) as progress:
            try:
                for logical_topic, records in self.streams:
                    topic = self.settings.topic_name(logical_topic)
                    partitions = producer.partitions_for(topic)
                    partition_of = KeyPartitioner(partitions) if partitions else _producer_picks
                    pacer = EventTimePacer(self.speed, stop_event=self.stop_event)
                    for record in records:
                        if self.stop_event.is_set():
                            break
                        if self.speed is not None:
                            pacer.wait_until(record.event_time)
                        tracker.send(
                            producer,
                            topic,
                            key=record.key,
                            value=record.value,
                            timestamp_ms=record.timestamp_ms,
                            partition=partition_of(record.key),
                        )
                        summary.records += 1
                        summary.rows += 1
                        progress.advance(1)
            except KeyboardInterrupt:
                log.warning("interrupted: flushing what was sent")
            tracker.finish(producer)
            producer.close(timeout=10)
        summary.errors = tracker.errors
        summary.bytes = tracker.bytes
        summary.elapsed_seconds = time.monotonic() - started
        return summary
