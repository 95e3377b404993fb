"""The demo runs what the registry declares: every service's process, in start order, with the options
it accepts and the arguments and environment its definition computes for the run."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from streaming.demo.services import planned_processes
from streaming.services import DemoRun


def _run() -> DemoRun:
    options = argparse.Namespace(
        speedup=60.0, machines=7, failure_rate=3.0, transaction_rate=50.0, duration=5.0
    )
    return DemoRun(options, settings=None, report_dir=Path("."))


def test_every_demo_service_is_planned_receiver_first_and_producers_last() -> None:
    names = [item.name for item in planned_processes()]
    assert set(names) >= {
        "alert-receiver",
        "alerts",
        "downsampler",
        "maintenance",
        "fraud",
        "producer-sensors",
        "producer-transactions",
    }
    assert names[0] == "alert-receiver"
    producers = [
        index for index, name in enumerate(names) if name.startswith("producer-") or name == "shoppers"
    ]
    consumers = [names.index(name) for name in ("alerts", "downsampler", "maintenance", "fraud", "churn")]
    assert max(consumers) < min(producers), "every consumer is up before the first event is produced"


def test_only_accepted_common_options_are_passed_and_service_arguments_follow() -> None:
    planned = {item.name: item for item in planned_processes()}
    common = {"--bootstrap": "b:1", "--topic-prefix": "p.", "--duration": "9", "--metrics-port": "7"}
    run = _run()
    sensors = planned["producer-sensors"].argv(run, common)
    assert sensors[:2] == ["produce", "sensors"]
    assert sensors[sensors.index("--machines") + 1] == "7" and "--metrics-port" in sensors
    receiver = planned["alert-receiver"].argv(run, common)
    assert "--metrics-port" not in receiver and not planned["alert-receiver"].serves_metrics


def test_the_receiver_and_the_dispatcher_share_one_port_and_secret_per_run() -> None:
    planned = {item.name: item for item in planned_processes()}
    run = _run()
    receiver = planned["alert-receiver"].argv(run, {})
    environment = planned["alerts"].process.environment(run)
    subscriber = json.loads(environment["STREAMING_ALERTS__SUBSCRIBERS"])[0]
    port = receiver[receiver.index("--port") + 1]
    secret = receiver[receiver.index("--secret") + 1]
    assert subscriber["url"] == f"http://127.0.0.1:{port}/alerts" and subscriber["secrets"] == [secret]


def test_a_process_environment_never_reaches_another_process() -> None:
    from streaming.demo.runner import process_environment

    planned = {item.name: item for item in planned_processes()}
    run = _run()
    customers = process_environment({}, planned["producer-customers"], run)
    payments = process_environment({}, planned["producer-transactions"], run)
    fraud = process_environment({}, planned["fraud"], run)
    assert customers["STREAMING_TOPICS__NAMES__TRANSACTIONS"] == "churn-demo-transactions"
    assert "STREAMING_TOPICS__NAMES__TRANSACTIONS" not in payments
    assert "STREAMING_TOPICS__NAMES__TRANSACTIONS" not in fraud
