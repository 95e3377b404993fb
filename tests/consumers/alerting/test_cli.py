"""`streaming alerts tail|test|receive` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx
import pytest
from prometheus_client import REGISTRY

from consumers.alerting.receiver import AlertReceiver
from consumers.alerting.tail import tail_alerts
from contracts import Alert
from streaming.cli.main import main
from streaming.config import Settings
from streaming.schemas import Codec, encode
from tests.consumers.alerting.conftest import MakeAlert
from tests.support.kafka import produce


@pytest.mark.kafka
@pytest.mark.timeout(120)
def test_tail_shows_alerts_and_stops_at_count(topics: Settings, make_alert: MakeAlert) -> None:
    alerts = [make_alert(cause=f"t-{index}", severity="critical") for index in range(3)]
    produce(topics, topics.topic_name("alerts"), [(a.entity_id.encode(), encode(a)) for a in alerts])
    produce(topics, topics.topic_name("alerts"), [(b"M-1", b"{broken")])
    lines: list[tuple[Alert | None, str]] = []
    shown = tail_alerts(
        topics,
        topics.kafka.bootstrap_servers or "",
        duration=30,
        count=3,
        from_beginning=True,
        printer=lambda alert, line: lines.append((alert, line)),
    )
    assert shown == 3
    assert {alert.alert_id for alert, _ in lines if alert is not None} == {a.alert_id for a in alerts}
    assert all("CRITICAL maintenance M-1" in line for alert, line in lines if alert is not None)


def test_alerts_test_sends_a_signed_alert(monkeypatch: pytest.MonkeyPatch, make_alert: MakeAlert) -> None:
    with AlertReceiver(port=0, secrets=["rotated-in", "old"], quiet=True) as receiver:
        subscribers = [
            {"name": "ops", "url": receiver.url + "/alerts", "secrets": ["old"]},
            {"name": "wrong", "url": receiver.url + "/alerts", "secrets": ["nope"]},
        ]
        monkeypatch.setenv("STREAMING_ALERTS__SUBSCRIBERS", json.dumps(subscribers))
        assert main(["alerts", "test", "--subscriber", "ops", "--severity", "critical"]) == 0
        assert main(["alerts", "test", "--subscriber", "wrong"]) == 1
        assert main(["alerts", "test", "--subscriber", "missing"]) == 2
    (alert,) = receiver.alerts
    assert (alert.kind, alert.severity, alert.attributes) == ("operational", "critical", {"test": "true"})
    assert receiver.rejected == 1


@pytest.mark.timeout(60)
def test_receive_command_runs_as_a_subprocess(tmp_path, make_alert: MakeAlert) -> None:  # type: ignore[no-untyped-def]
    from consumers.alerting.signing import WebhookSigner
    from tests.consumers.alerting.servers import free_port

    port = free_port()
    out = tmp_path / "received.jsonl"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streaming.cli.main",
            "alerts",
            "receive",
            "--port",
            str(port),
            "--secret",
            "s",
            "--out",
            str(out),
            "--duration",
            "30",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and process.poll() is None, process.stderr.read()  # type: ignore[union-attr]
                time.sleep(0.2)
        alert = make_alert()
        body = Codec(Alert).encode(alert)
        answer = httpx.post(
            f"http://127.0.0.1:{port}/alerts",
            content=body,
            headers=WebhookSigner(["s"]).headers(alert.alert_id, body),
        )
        assert answer.status_code == 200
    finally:
        process.terminate()
        stdout, _ = process.communicate(timeout=10)
    assert alert.alert_id in stdout
    assert json.loads(out.read_text().splitlines()[0])["alert"]["alert_id"] == alert.alert_id


def test_delivery_metrics_are_counted(make_alert: MakeAlert) -> None:
    from consumers.alerting.dispatcher import AlertDispatcher
    from consumers.alerting.retry import RetryPolicy
    from consumers.alerting.settings import SubscriberSettings

    def value(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    before = value("streaming_alert_deliveries_total", subscriber="metrics-test", outcome="delivered")
    with AlertReceiver(port=0, secrets=["k"], quiet=True) as receiver:
        dispatcher = AlertDispatcher(
            [SubscriberSettings(name="metrics-test", url=receiver.url + "/alerts", secrets=["k"])],
            RetryPolicy(),
            lambda *args: None,
        )
        dispatcher.start()
        dispatcher.submit(make_alert(), "alerts", 0, 0)
        assert dispatcher.wait_idle(10)
        dispatcher.stop()
    assert (
        value("streaming_alert_deliveries_total", subscriber="metrics-test", outcome="delivered")
        == before + 1
    )
    assert value("streaming_alert_delivery_seconds_count", subscriber="metrics-test") >= 1
