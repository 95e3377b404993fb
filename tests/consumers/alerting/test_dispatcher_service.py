"""`streaming consume alerts` against the real broker and real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from consumers.alerting.dispatcher_service import DispatcherService
from consumers.alerting.receiver import AlertReceiver
from consumers.alerting.settings import SubscriberSettings
from contracts import Alert
from streaming.config import Settings
from streaming.kafka import make_admin
from streaming.schemas import Codec, DeadLetter, encode
from tests.consumers.alerting.conftest import MakeAlert
from tests.consumers.alerting.servers import Answer, ScriptedServer
from tests.support.kafka import produce, read_all

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(120)]

SECRET = "integration-secret"


def fast_settings(settings: Settings, subscribers: list[SubscriberSettings]) -> Settings:
    alerts = settings.alerts.model_copy(
        update={
            "subscribers": subscribers,
            "max_attempts": 2,
            "breaker_failures": 100,  # these tests are about the count cap, not the breaker
            "initial_backoff_seconds": 0.05,
            "max_backoff_seconds": 0.1,
            "max_retry_seconds": 5.0,
        }
    )
    return settings.model_copy(update={"alerts": alerts})


def produce_alerts(settings: Settings, alerts: list[Alert]) -> None:
    produce(settings, settings.topic_name("alerts"), [(a.entity_id.encode(), encode(a)) for a in alerts])


@contextmanager
def running(service: DispatcherService) -> Iterator[threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(target=service.run, kwargs={"stop_event": stop}, daemon=True)
    thread.start()
    try:
        yield stop
    finally:
        stop.set()
        thread.join(60)
        assert not thread.is_alive(), "the dispatcher did not stop"


def committed_offsets(settings: Settings) -> dict[int, int]:
    admin = make_admin(settings, settings.kafka.bootstrap_servers or "")
    try:
        group = f"{settings.topics.prefix}{settings.alerts.group_id}"
        offsets = admin.list_group_offsets(group)[group]
    finally:
        admin.close()
    return {
        tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == settings.topic_name("alerts")
    }


def test_delivers_through_the_broker_dead_letters_and_commits(
    topics: Settings, make_alert: MakeAlert
) -> None:
    alerts = [make_alert(cause=f"w-{index}", entity=f"M-{index}") for index in range(6)]
    with (
        AlertReceiver(port=0, secrets=[SECRET], quiet=True) as receiver,
        ScriptedServer(default=Answer(503)) as down,
    ):
        settings = fast_settings(
            topics,
            [
                SubscriberSettings(name="ops", url=receiver.url + "/alerts", secrets=[SECRET]),
                SubscriberSettings(name="down", url=down.url, secrets=[SECRET]),
            ],
        )
        produce_alerts(settings, alerts)
        service = DispatcherService(settings, settings.kafka.bootstrap_servers or "", drain_seconds=10)
        with running(service):
            assert receiver.wait_for(6, timeout=60)
            letters = read_all(
                settings, settings.topic_name("alert_dead_letters"), expected=6, timeout_seconds=60
            )
            deadline = time.monotonic() + 30
            while service.dispatcher.tracker.pending() and time.monotonic() < deadline:
                time.sleep(0.1)
    assert {alert.alert_id for alert in receiver.alerts} == {alert.alert_id for alert in alerts}
    assert len(down.requests) == 12  # two attempts each
    decoded = [_dead_letter(record.value) for record in letters]
    assert {Codec(Alert).decode(letter.original_value).alert_id for letter in decoded} == {
        a.alert_id for a in alerts
    }
    assert all(
        letter.reason == "delivery_failed" and "gave up after 2 attempts" in letter.error_message
        for letter in decoded
    )
    assert all(dict(record.headers)["subscriber"] == b"down" for record in letters)
    # Everything finished, so everything is committed.
    assert sum(committed_offsets(settings).values()) == len(alerts)


def _dead_letter(value: bytes) -> DeadLetter:
    import msgspec

    return msgspec.json.decode(value, type=DeadLetter)


def test_killed_mid_delivery_then_restarted_loses_nothing(topics: Settings, make_alert: MakeAlert) -> None:
    alerts = [make_alert(cause=f"k-{index}", entity=f"M-{index % 3}") for index in range(12)]
    with AlertReceiver(port=0, secrets=[SECRET], quiet=True, response_delay_seconds=0.3) as receiver:
        subscriber = SubscriberSettings(name="ops", url=receiver.url + "/alerts", secrets=[SECRET])
        settings = fast_settings(topics, [subscriber])
        produce_alerts(settings, alerts)
        environment = {
            **os.environ,
            "STREAMING_ALERTS__SUBSCRIBERS": json.dumps([subscriber.model_dump(mode="json")]),
        }
        command = [
            sys.executable,
            "-m",
            "streaming.cli.main",
            "consume",
            "alerts",
            "--bootstrap",
            settings.kafka.bootstrap_servers or "",
            "--topic-prefix",
            settings.topics.prefix,
            "--no-metrics",
            "--duration",
            "90",
        ]
        process = subprocess.Popen(
            command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            deadline = time.monotonic() + 60
            while not receiver.wait_for(4, timeout=0.5):
                assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
                assert time.monotonic() < deadline, "the dispatcher delivered nothing in 60 s"
            # A request is in flight now (each takes 0.3 s): kill without any chance to commit.
            process.send_signal(signal.SIGKILL)
            process.wait(10)
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(10)
            assert process.stderr is not None
            process.stderr.close()
        delivered_before_restart = len(receiver.alerts)
        assert delivered_before_restart < len(alerts), "the kill came too late to be mid-run"

        service = DispatcherService(settings, settings.kafka.bootstrap_servers or "", drain_seconds=10)
        with running(service):
            assert receiver.wait_for(len(alerts), timeout=60)
    assert sorted(alert.alert_id for alert in receiver.alerts) == sorted(alert.alert_id for alert in alerts)
    assert sum(committed_offsets(settings).values()) == len(alerts)


def test_slow_subscriber_neither_delays_a_fast_one_nor_lets_offsets_pass_it(
    topics: Settings, make_alert: MakeAlert
) -> None:
    alerts = [make_alert(cause=f"s-{index}", entity="M-7") for index in range(5)]  # one partition
    with (
        AlertReceiver(port=0, secrets=[SECRET], quiet=True) as fast,
        AlertReceiver(port=0, secrets=[SECRET], quiet=True, response_delay_seconds=1.5) as slow,
    ):
        settings = fast_settings(
            topics,
            [
                SubscriberSettings(name="slow", url=slow.url + "/alerts", secrets=[SECRET]),
                SubscriberSettings(name="fast", url=fast.url + "/alerts", secrets=[SECRET]),
            ],
        )
        produce_alerts(settings, alerts)
        service = DispatcherService(settings, settings.kafka.bootstrap_servers or "", drain_seconds=0)
        with running(service):
            assert fast.wait_for(5, timeout=30)
            assert len(slow.alerts) <= 2
            time.sleep(0.5)  # several commit intervals
            assert sum(committed_offsets(settings).values()) <= 2
    assert len(fast.alerts) == 5
