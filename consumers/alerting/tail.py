"""`streaming alerts tail`: follow the alerts topic live, without joining a consumer group."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from consumers.alerting.payloads import summary_line
from contracts import Alert
from streaming.config import Settings
from streaming.kafka import TopicPartition, make_consumer
from streaming.schemas import Codec, EventDecodeError

_STYLE = {"info": "cyan", "warning": "yellow", "critical": "bold red"}


def tail_alerts(
    settings: Settings,
    bootstrap: str,
    duration: float | None = None,
    count: int | None = None,
    from_beginning: bool = False,
    printer: Callable[[Alert | None, str], None] | None = None,
) -> int:
    """Print alerts as they arrive; returns how many were shown. Stops after `duration` or `count`."""
    show = printer or _default_printer()
    topic = settings.topic_name("alerts")
    codec = Codec(Alert, settings.topics.max_message_bytes)
    consumer = make_consumer(settings, bootstrap, group_id=None, role="alerts-tail")
    shown = 0
    started = time.monotonic()
    try:
        partitions = _wait_for_partitions(consumer, topic, timeout=10.0)
        consumer.assign(partitions)
        if from_beginning:
            consumer.seek_to_beginning(*partitions)
        else:
            consumer.seek_to_end(*partitions)
        while duration is None or time.monotonic() - started < duration:
            batch: dict[Any, list[Any]] = consumer.poll(timeout_ms=200)
            for records in batch.values():
                for record in records:
                    try:
                        alert = codec.decode(record.value)
                    except EventDecodeError as error:
                        show(None, f"(undecodable record at {record.partition}@{record.offset}: {error})")
                        continue
                    show(alert, summary_line(alert))
                    shown += 1
                    if count is not None and shown >= count:
                        return shown
    finally:
        consumer.close()
    return shown


def _wait_for_partitions(consumer: Any, topic: str, timeout: float) -> list[TopicPartition]:
    deadline = time.monotonic() + timeout
    while True:
        partitions = consumer.partitions_for_topic(topic)
        if partitions:
            return [TopicPartition(topic, partition) for partition in sorted(partitions)]
        if time.monotonic() >= deadline:
            raise SystemExit(
                f"streaming alerts tail: topic {topic} does not exist (run `streaming topics create`)"
            )
        time.sleep(0.2)


def _default_printer() -> Callable[[Alert | None, str], None]:
    if sys.stdout.isatty():
        from rich.console import Console

        console = Console()

        def rich_print(alert: Alert | None, line: str) -> None:
            style = (
                "dim"
                if alert is None
                else ("green" if alert.status == "resolved" else _STYLE[alert.severity])
            )
            console.print(line, style=style, highlight=False, markup=False)

        return rich_print

    def plain_print(alert: Alert | None, line: str) -> None:
        print(line, flush=True)

    return plain_print
