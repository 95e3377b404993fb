"""Slow processing never outlasts max.poll.interval.ms: the member stays in its group, nothing is redone."""

from __future__ import annotations

import time

import pytest

from contracts import Label
from streaming.app import Application, Context, Record, RecordHandler
from streaming.config import Settings
from streaming.metrics import REBALANCES
from streaming.schemas import Codec, encode
from tests.support.kafka import produce, read_all

pytestmark = pytest.mark.kafka

T0 = 1_767_225_600.0


@pytest.mark.parametrize("guarantee", ["exactly-once", "at-least-once"])
def test_slow_handler_keeps_membership_and_processes_each_record_once(
    topics: Settings, guarantee: str
) -> None:
    processing = topics.processing.model_copy(
        update={"max_poll_interval_ms": 3_000, "session_timeout_ms": 6_000, "heartbeat_interval_ms": 1_000}
    )
    settings = topics.model_copy(update={"processing": processing})
    labels = [
        Label(
            kind="chargeback",
            entity_id="c-1",
            event_time=T0 + i,
            reported_time=T0 + i,
            transaction_id=f"t-{i}",
        )
        for i in range(120)
    ]
    # One key: one partition, so a single polled batch takes about 6 s to handle, twice the poll interval.
    produce(settings, settings.topic_name("labels"), [(b"c-1", encode(label)) for label in labels])
    seen: list[str] = []

    def slow(event: Label, record: Record, context: Context) -> None:
        time.sleep(0.05)
        seen.append(event.transaction_id or "")
        context.emit("alerts", _echo(event), event_time=event.event_time)

    app = Application(
        settings, service=f"slow-{guarantee}", group_id=f"slow-{guarantee}", guarantee=guarantee
    )
    app.add(RecordHandler("labels", Codec(Label), slow))
    lost_before = REBALANCES.labels(f"slow-{guarantee}", "lost")._value.get()
    summary = app.run(idle_exit_seconds=3.0, duration=60)

    assert sorted(seen) == sorted(label.transaction_id for label in labels)
    assert len(seen) == len(set(seen)), "records were processed twice after an eviction"
    assert REBALANCES.labels(f"slow-{guarantee}", "lost")._value.get() == lost_before
    assert summary.records_in == len(labels)
    assert len(read_all(settings, settings.topic_name("alerts"), expected=len(labels))) == len(labels)


def _echo(label: Label):  # type: ignore[no-untyped-def]
    from contracts import Alert, stable_alert_id

    return Alert(
        alert_id=stable_alert_id("fraud", label.entity_id, label.transaction_id or ""),
        kind="fraud",
        entity_id=label.entity_id,
        severity="info",
        event_time=label.event_time,
        created_at=label.event_time,
    )
