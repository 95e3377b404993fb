"""Alert delivery as services: the dispatcher (`streaming consume alerts`) and the reference receiver
(`streaming alerts receive|tail|redrive|test`)."""

from __future__ import annotations

import json
import secrets

from consumers.alerting.settings import AlertSettings
from contracts import Alert
from contracts.topics import ALERT_DEAD_LETTERS, ALERTS
from streaming.ports import free_listening_port
from streaming.services import (
    Command,
    CommandGroup,
    DemoProcess,
    DemoRun,
    Service,
    StageMetrics,
    StateLocation,
)


def _receiver(run: DemoRun) -> tuple[int, str]:
    """The demo's reference receiver: one port and one signing secret per run."""
    return run.shared("alert-receiver", lambda: (free_listening_port(), secrets.token_hex(16)))


def _receiver_arguments(run: DemoRun) -> list[str]:
    port, secret = _receiver(run)
    return ["--port", str(port), "--secret", secret]


def _subscriber_environment(run: DemoRun) -> dict[str, str]:
    port, secret = _receiver(run)
    subscriber = {
        "name": "demo-receiver",
        "sink": "webhook",
        "url": f"http://127.0.0.1:{port}/alerts",
        "secrets": [secret],
    }
    return {"STREAMING_ALERTS__SUBSCRIBERS": json.dumps([subscriber])}


DISPATCHER = Service(
    name="alerts",
    description="deliver alerts to subscribers",
    commands=(
        Command(
            ("consume", "alerts"),
            "deliver alerts to subscribers",
            "consumers.alerting.cli:add_dispatcher_arguments",
            "consumers.alerting.dispatcher_service:run",
        ),
    ),
    topics=(ALERTS, ALERT_DEAD_LETTERS),
    settings_section="alerts",
    settings=AlertSettings,
    metrics_port=9106,
    schemas=(Alert,),
    alert_kinds=("operational",),
    state=StateLocation(group_id=lambda settings: settings.section("alerts", AlertSettings).group_id),
    demo=DemoProcess(
        "alert delivery",
        ("consume", "alerts"),
        environment=_subscriber_environment,
        metrics=StageMetrics(
            "streaming_events_in_total",
            "streaming_alert_deliveries_total",
            "streaming_alert_delivery_seconds",
            out_filter={"outcome": "delivered"},
        ),
    ),
)

RECEIVER = Service(
    name="alert-receiver",
    description="the reference webhook receiver, and alert commands for people",
    groups=(CommandGroup(("alerts",), "watch, receive and test alerts"),),
    commands=(
        Command(
            ("alerts", "tail"),
            "Watch the alerts topic live.",
            "consumers.alerting.cli:add_tail_arguments",
            "consumers.alerting.cli:run_tail",
        ),
        Command(
            ("alerts", "receive"),
            "A reference webhook receiver: verifies signatures, dedupes, prints or stores.",
            "consumers.alerting.cli:add_receive_arguments",
            "consumers.alerting.cli:run_receive",
        ),
        Command(
            ("alerts", "redrive"),
            "Deliver dead-lettered alerts again (by subscriber, time range or id), once per alert.",
            "consumers.alerting.cli:add_redrive_arguments",
            "consumers.alerting.cli:run_redrive",
        ),
        Command(
            ("alerts", "test"),
            "Send a signed test alert to a configured subscriber.",
            "consumers.alerting.cli:add_test_arguments",
            "consumers.alerting.cli:run_test",
        ),
    ),
    topics=(ALERTS,),
    settings_section="alerts",
    settings=AlertSettings,
    demo=DemoProcess(
        "reference receiver",
        ("alerts", "receive"),
        arguments=_receiver_arguments,
        start_order=10,
        common_options=("--bootstrap", "--topic-prefix", "--duration"),
        metrics=None,
    ),
)

SERVICES = (DISPATCHER, RECEIVER)
