"""A subscriber outage against the real broker and real HTTP servers on 127.0.0.1: nothing is dead-lettered
for good, the commits go on during it, and `streaming alerts redrive` delivers what a stop left parked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import msgspec
import pytest

from consumers.alerting.dispatcher_service import DispatcherService
from consumers.alerting.receiver import AlertReceiver
from consumers.alerting.settings import SubscriberSettings
from contracts import Alert
from streaming.config import Settings
from streaming.kafka import KafkaError, make_producer
from streaming.schemas import Codec, DeadLetter
from tests.consumers.alerting.conftest import MakeAlert
from tests.consumers.alerting.servers import free_port, wait_until
from tests.consumers.alerting.test_dispatcher_service import committed_offsets, produce_alerts, running
from tests.support.kafka import read_all

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(180)]

SECRET = "outage-secret"


def outage_settings(settings: Settings, subscriber: SubscriberSettings) -> Settings:
    """The default retry budget (by time, a day), with quicker backoff and probes so the test is short."""
    alerts = settings.alerts.model_copy(
        update={
            "subscribers": [subscriber],
            "initial_backoff_seconds": 0.05,
            "max_backoff_seconds": 0.5,
            "breaker_max_probe_seconds": 0.5,
        }
    )
    return settings.model_copy(update={"alerts": alerts})


def committed_total(settings: Settings) -> int:
    """The group's committed offsets summed; -1 while the group coordinator cannot answer yet."""
    try:
        return sum(committed_offsets(settings).values())
    except KafkaError:
        return -1


def parked_letters(settings: Settings, expected: int) -> list[tuple[DeadLetter, dict[str, bytes]]]:
    records = read_all(
        settings, settings.topic_name("alert_dead_letters"), expected=expected, timeout_seconds=60
    )
    return [(msgspec.json.decode(record.value, type=DeadLetter), dict(record.headers)) for record in records]


def test_an_outage_past_the_old_six_attempts_loses_nothing_and_holds_no_commit(
    topics: Settings, make_alert: MakeAlert
) -> None:
    alerts = [make_alert(cause=f"o-{index}", entity=f"M-{index % 7}") for index in range(120)]
    port = free_port()
    subscriber = SubscriberSettings(name="ops", url=f"http://127.0.0.1:{port}/alerts", secrets=[SECRET])
    settings = outage_settings(topics, subscriber)
    produce_alerts(settings, alerts)
    service = DispatcherService(settings, settings.kafka.bootstrap_servers or "", drain_seconds=5)
    with running(service):
        # Nothing listens: every alert is parked, durably, so all offsets get committed during the outage.
        assert wait_until(lambda: committed_total(settings) == len(alerts), timeout=90)
        worker = service.dispatcher.workers[0]
        assert worker.breaker.is_open and len(worker.parked) == len(alerts)
        started = time.monotonic()
        assert wait_until(lambda: time.monotonic() - started > 7.0 and worker.breaker.failed_probes >= 3, 30)
        with AlertReceiver(port=port, secrets=[SECRET], quiet=True) as receiver:
            assert receiver.wait_for(len(alerts), timeout=60)
            assert wait_until(lambda: not worker.parked, timeout=10)
    outcomes = service.dispatcher.reports
    assert outcomes == {"ops:parked": len(alerts)}, outcomes
    for entity in {alert.entity_id for alert in alerts}:  # one key, one partition: its order is kept
        sent = [alert.alert_id for alert in alerts if alert.entity_id == entity]
        assert [alert.alert_id for alert in receiver.alerts if alert.entity_id == entity] == sent
    assert sorted(alert.alert_id for alert in receiver.alerts) == sorted(alert.alert_id for alert in alerts)
    assert worker.redelivered == len(alerts)
    letters = parked_letters(settings, expected=len(alerts))
    assert all(headers.get("parked") == b"true" for _, headers in letters)
    assert {letter.error_class for letter, _ in letters} == {"SubscriberUnavailable"}


def copy_letters(settings: Settings, letters: list[tuple[DeadLetter, dict[str, bytes]]]) -> None:
    producer = make_producer(settings, settings.kafka.bootstrap_servers or "", role="test-producer")
    try:
        for letter, headers in letters:
            producer.send(
                settings.topic_name("alert_dead_letters"),
                value=msgspec.json.encode(letter),
                headers=list(headers.items()),
            )
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=10)


def redrive_command(settings: Settings, subscriber: SubscriberSettings, *options: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "streaming.cli.main",
        "alerts",
        "redrive",
        "--bootstrap",
        settings.kafka.bootstrap_servers or "",
        "--topic-prefix",
        settings.topics.prefix,
        *options,
    ]


def redrive_cli(settings: Settings, subscriber: SubscriberSettings, *options: str) -> tuple[int, dict, str]:  # type: ignore[type-arg]
    environment = {
        **os.environ,
        "STREAMING_ALERTS__SUBSCRIBERS": json.dumps([subscriber.model_dump(mode="json")]),
    }
    done = subprocess.run(
        redrive_command(settings, subscriber, *options),
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    summary = json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else {}
    return done.returncode, summary, done.stderr


def test_alerts_parked_when_the_dispatcher_stops_are_redriven_once_each(
    topics: Settings, make_alert: MakeAlert
) -> None:
    alerts = [make_alert(cause=f"r-{index}", entity=f"M-{index % 5}") for index in range(30)]
    port = free_port()
    subscriber = SubscriberSettings(name="ops", url=f"http://127.0.0.1:{port}/alerts", secrets=[SECRET])
    settings = outage_settings(topics, subscriber)
    produce_alerts(settings, alerts)
    service = DispatcherService(settings, settings.kafka.bootstrap_servers or "", drain_seconds=1)
    with running(service):
        assert wait_until(lambda: committed_total(settings) == len(alerts), timeout=90)
    # Stopped while the subscriber is still down: the parked alerts are only in the dead-letter topic now.
    letters = parked_letters(settings, expected=len(alerts))
    # The same alerts parked again (a second outage, another dispatcher run): still one delivery each.
    copy_letters(settings, letters[:10])

    code, summary, errors = redrive_cli(settings, subscriber, "--subscriber", "ops", "--dry-run")
    assert code == 0, errors
    assert summary["delivered"] == {"ops": len(alerts)} and summary["dry_run"] is True
    assert (summary["selected"], summary["duplicates"]) == (len(alerts) + 10, 10)

    code, summary, errors = redrive_cli(settings, subscriber, "--subscriber", "ops")
    assert code == 1, errors  # nothing listens yet: every letter stays for the next redrive
    assert summary["failed"]["ops"] == len(alerts) and "still unreachable" in errors

    with AlertReceiver(port=port, secrets=[SECRET], quiet=True) as receiver:
        code, summary, errors = redrive_cli(settings, subscriber, "--subscriber", "ops", "--parked-only")
        assert code == 0, errors
        assert summary["delivered"] == {"ops": len(alerts)}
        assert sorted(a.alert_id for a in receiver.alerts) == sorted(a.alert_id for a in alerts)
        one = alerts[3].alert_id
        code, summary, errors = redrive_cli(settings, subscriber, "--id", one)
        assert code == 0 and summary["delivered"] == {"ops": 1}, errors
        assert receiver.duplicates == 1  # same webhook-id: the receiver drops the repeat
    decoded = {Codec(Alert).decode(letter.original_value).alert_id for letter, _ in letters}
    assert decoded == {alert.alert_id for alert in alerts}


def test_redrive_of_an_unknown_subscriber_is_a_clear_error(topics: Settings) -> None:
    subscriber = SubscriberSettings(name="ops", url="http://127.0.0.1:9/alerts", secrets=[SECRET])
    code, summary, errors = redrive_cli(topics, subscriber, "--subscriber", "nobody")
    assert code == 2 and summary == {}
    assert "no subscriber named nobody" in errors and "Traceback" not in errors


def test_redrive_refuses_a_retry_limit_that_is_not_positive(topics: Settings) -> None:
    subscriber = SubscriberSettings(name="ops", url="http://127.0.0.1:9/alerts", secrets=[SECRET])
    code, summary, errors = redrive_cli(topics, subscriber, "--max-retry-seconds", "-5")
    assert code == 2 and summary == {}
    assert "must be more than 0 seconds" in errors and "Traceback" not in errors
