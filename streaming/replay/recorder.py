"""`streaming record --topic T --out FILE`: a topic, or a time range of it, into Parquet or JSONL."""

from __future__ import annotations

import base64
import contextlib
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from streaming.config import Settings
from streaming.console import ProgressReporter
from streaming.kafka import make_consumer, resolve_bootstrap
from streaming.kafka.ranges import offset_ranges, read_ranges
from streaming.replay.player import ReplaySummary
from streaming.replay.sources import detect_format

#: One row per Kafka record. `value` is the record's bytes as UTF-8 text, or base64 when they are not text.
RECORD_SCHEMA = pa.schema(
    [
        ("topic", pa.string()),
        ("partition", pa.int32()),
        ("offset", pa.int64()),
        ("timestamp_ms", pa.int64()),
        ("key", pa.string()),
        ("value", pa.string()),
        ("value_encoding", pa.string()),
    ]
)


def record_row(
    topic: str, partition: int, offset: int, timestamp_ms: int, key: bytes | None, value: bytes | None
) -> dict[str, Any]:
    """The row of one record; bytes that are not UTF-8 are kept exactly, as base64.

    >>> record_row("t", 0, 5, 1_700_000_000_000, b"m-1", b"\\xff")["value"]
    '/w=='
    """
    encoding = "utf-8"
    text: str | None = None
    if value is not None:
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            text, encoding = base64.b64encode(value).decode("ascii"), "base64"
    return {
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "timestamp_ms": timestamp_ms,
        "key": None if key is None else key.decode("utf-8", errors="replace"),
        "value": text,
        "value_encoding": encoding,
    }


class _Writer:
    def __init__(self, path: Path, file_format: str) -> None:
        self.format = file_format
        self.path = path
        self.rows: list[dict[str, Any]] = []
        self._parquet: pq.ParquetWriter | None = None
        self._handle = path.open("wb") if file_format == "jsonl" else None

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        if len(self.rows) >= 10_000:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        if self._handle is not None:
            self._handle.write(b"".join(orjson.dumps(row) + b"\n" for row in self.rows))
        else:
            table = pa.Table.from_pylist(self.rows, schema=RECORD_SCHEMA)
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.path, RECORD_SCHEMA, compression="zstd")
            self._parquet.write_table(table)
        self.rows.clear()

    def close(self) -> None:
        self.flush()
        if self._handle is not None:
            self._handle.close()
        elif self._parquet is not None:
            self._parquet.close()
        else:  # no records: still write a valid, empty file
            pq.write_table(RECORD_SCHEMA.empty_table(), self.path)


class TopicRecorder:
    """Dumps the records of `topic` with `start <= timestamp < end` (all of it by default) to `out`.

    Reading stops at the end offsets taken when it starts, so recording a live topic terminates. The
    file replays with `streaming replay FILE --topic T`, byte for byte.

    >>> from streaming.config import Settings
    >>> TopicRecorder(Settings(), "t", Path("capture.parquet")).format
    'parquet'
    """

    def __init__(
        self,
        settings: Settings,
        topic: str,
        out: Path,
        start: float | None = None,
        end: float | None = None,
        file_format: str | None = None,
        bootstrap: str | None = None,
        progress: bool = True,
        stop_event: threading.Event | None = None,
    ) -> None:
        self.settings = settings
        self.topic = topic
        self.out = Path(out)
        self.format = detect_format(self.out, file_format)
        if self.format == "csv":
            raise ValueError("record writes Parquet or JSONL (values are JSON documents, not CSV cells)")
        self.start_ms = None if start is None else round(start * 1000)
        self.end_ms = None if end is None else round(end * 1000)
        self.bootstrap = bootstrap
        self.progress = progress
        self.stop_event = stop_event or threading.Event()

    def run(self) -> ReplaySummary:
        bootstrap = self.bootstrap or resolve_bootstrap(self.settings)
        consumer = make_consumer(self.settings, bootstrap, group_id=None, role="record")
        summary = ReplaySummary(source=self.topic, destination=str(self.out))
        started = time.monotonic()
        self.out.parent.mkdir(parents=True, exist_ok=True)
        partial = self.out.with_name(self.out.name + ".partial")
        writer = _Writer(partial, self.format)
        try:
            ranges = offset_ranges(consumer, self.topic, self.start_ms, self.end_ms)
            total = sum(item.size for item in ranges)
            with ProgressReporter(
                f"record {self.topic}",
                total=total,
                unit="records",
                interactive=None if self.progress else False,
            ) as progress:
                for record in read_ranges(consumer, ranges, self.start_ms, self.end_ms):
                    if self.stop_event.is_set():
                        break
                    writer.add(
                        record_row(
                            self.topic,
                            record.partition,
                            record.offset,
                            record.timestamp,
                            record.key,
                            record.value,
                        )
                    )
                    summary.records += 1
                    summary.bytes += len(record.value or b"")
                    if summary.first_timestamp_ms is None:
                        summary.first_timestamp_ms = record.timestamp
                    summary.last_timestamp_ms = record.timestamp
                    if summary.records % 1_000 == 0:
                        progress.advance(1_000)
                progress.advance(summary.records % 1_000)
            summary.rows = total
            summary.skipped = total - summary.records
            writer.close()
            # Only a complete file gets the final name: a crash leaves `.partial`, never a truncated capture.
            partial.replace(self.out)
        except BaseException:
            with contextlib.suppress(Exception):
                writer.close()
            raise
        finally:
            consumer.close()
        summary.elapsed_seconds = time.monotonic() - started
        summary.rows_per_second = (
            summary.records / summary.elapsed_seconds if summary.elapsed_seconds else 0.0
        )
        return summary
