"""The reference receiver over real HTTP: signatures, tampering, dedupe, Alertmanager payloads, storage."""

from __future__ import annotations

import io
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from consumers.alerting.receiver import AlertReceiver
from consumers.alerting.signing import WebhookSigner
from contracts import Alert
from streaming.schemas import Codec
from tests.consumers.alerting.conftest import MakeAlert
from tests.support.processes import start_cli, wait_for_log

SECRETS = ["current", "previous"]


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[AlertReceiver]:
    with AlertReceiver(
        port=0, secrets=SECRETS, out=tmp_path / "received.jsonl", stream=io.StringIO()
    ) as running:
        yield running


def post(
    receiver: AlertReceiver, body: bytes, headers: dict[str, str], path: str = "/alerts"
) -> httpx.Response:
    return httpx.post(receiver.url + path, content=body, headers=headers, timeout=5)


def test_valid_signature_accepted_stored_and_printed(receiver: AlertReceiver, make_alert: MakeAlert) -> None:
    alert = make_alert()
    body = Codec(Alert).encode(alert)
    response = post(receiver, body, WebhookSigner(["previous"]).headers(alert.alert_id, body))
    assert response.status_code == 200 and response.json() == {"ok": True, "duplicate": False}
    assert receiver.alerts == [alert]
    assert receiver.out is not None
    stored = [orjson.loads(line) for line in receiver.out.read_bytes().splitlines()]
    assert stored[0]["alert"]["alert_id"] == alert.alert_id
    assert alert.alert_id in receiver.stream.getvalue()  # type: ignore[union-attr]


def test_tampered_body_rejected_with_401(receiver: AlertReceiver, make_alert: MakeAlert) -> None:
    alert = make_alert()
    body = Codec(Alert).encode(alert)
    headers = WebhookSigner(["current"]).headers(alert.alert_id, body)
    tampered = body.replace(b'"severity":"warning"', b'"severity":"info"')
    assert tampered != body
    response = post(receiver, tampered, headers)
    assert response.status_code == 401
    assert response.json()["error"] == "signature_mismatch"
    assert receiver.alerts == [] and receiver.rejected == 1


def test_unsigned_wrong_secret_and_stale_requests_rejected(
    receiver: AlertReceiver, make_alert: MakeAlert
) -> None:
    alert = make_alert()
    body = Codec(Alert).encode(alert)
    stale = WebhookSigner(["current"]).headers(alert.alert_id, body, timestamp=int(time.time()) - 3600)
    cases = [
        ({"content-type": "application/json"}, "missing_headers"),
        (WebhookSigner(["unknown"]).headers(alert.alert_id, body), "signature_mismatch"),
        (stale, "timestamp_out_of_tolerance"),
    ]
    for headers, reason in cases:
        response = post(receiver, body, headers)
        assert (response.status_code, response.json()["error"]) == (401, reason)
    assert receiver.alerts == []


def test_dedupes_by_webhook_id(receiver: AlertReceiver, make_alert: MakeAlert) -> None:
    alert = make_alert()
    body = Codec(Alert).encode(alert)
    answers = [
        post(receiver, body, WebhookSigner(SECRETS).headers(alert.alert_id, body)).json() for _ in range(3)
    ]
    assert [answer["duplicate"] for answer in answers] == [False, True, True]
    assert len(receiver.alerts) == 1 and receiver.duplicates == 2


def test_signed_garbage_is_400(receiver: AlertReceiver) -> None:
    body = b'{"not": "an alert"}'
    response = post(receiver, body, WebhookSigner(["current"]).headers("x", body))
    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"


def test_alertmanager_payload_on_its_own_path(receiver: AlertReceiver) -> None:
    payload = {
        "version": "4",
        "status": "firing",
        "receiver": "reference-receiver",
        "groupKey": '{}:{alertname="ConsumerLagHigh"}',
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "ConsumerLagHigh", "service": "fraud", "severity": "warning"},
                "annotations": {"summary": "fraud is 12k records behind"},
                "startsAt": "2026-11-24T10:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "fingerprint": "a1b2c3",
            }
        ],
    }
    body = orjson.dumps(payload)
    for _ in range(2):  # Alertmanager HA pairs may notify twice
        response = post(receiver, body, {"content-type": "application/json"}, path="/alertmanager")
        assert response.status_code == 200
    assert len(receiver.operational) == 1 and receiver.duplicates == 1
    assert receiver.operational[0]["labels"]["alertname"] == "ConsumerLagHigh"
    assert "ConsumerLagHigh" in receiver.stream.getvalue()  # type: ignore[union-attr]
    bad = post(receiver, b'{"alerts": 3}', {}, path="/alertmanager")
    assert bad.status_code == 400


def test_health_received_and_unknown_paths(receiver: AlertReceiver) -> None:
    assert httpx.get(receiver.url + "/healthz").json() == {"ok": True}
    assert httpx.get(receiver.url + "/received").json()["alerts"] == []
    assert httpx.post(receiver.url + "/elsewhere", content=b"{}").status_code == 404


def test_receiver_needs_a_secret() -> None:
    with pytest.raises(ValueError, match="secret"):
        AlertReceiver(port=0, secrets=[])


def test_receive_host_option_defaults_to_loopback() -> None:
    from streaming.cli.main import build_parser

    arguments = ["alerts", "receive", "--secret", "s"]
    parser = build_parser()
    assert parser.parse_args(arguments).host == "127.0.0.1"
    inside_a_container = [*arguments, "--host", "0.0.0.0"]
    assert parser.parse_args(inside_a_container).host == "0.0.0.0"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_receive_command_stops_cleanly_on_a_signal(
    tmp_path: Path, make_alert: MakeAlert, signal_number: int
) -> None:
    from tests.consumers.alerting.servers import free_port

    port = free_port()
    out = tmp_path / "received.jsonl"
    log_path = tmp_path / "receiver.log"
    process = start_cli(
        ["alerts", "receive", "--host", "127.0.0.1", "--port", str(port), "--secret", "s", "--out", str(out)],
        log_path,
    )
    try:
        wait_for_log(log_path, "receiving signed alerts", timeout_seconds=30)
        alerts = [make_alert(cause=f"signal-{index}") for index in range(3)]
        for alert in alerts:
            body = Codec(Alert).encode(alert)
            headers = WebhookSigner(["s"]).headers(alert.alert_id, body)
            assert (
                httpx.post(f"http://127.0.0.1:{port}/alerts", content=body, headers=headers).status_code
                == 200
            )
        process.send_signal(signal_number)
        code = process.wait(timeout=10)  # a behavioural bound: it stops by itself, without a kill
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert code == 0, log_path.read_text()
    assert "received 3 alerts" in log_path.read_text()
    stored = [orjson.loads(line)["alert"]["alert_id"] for line in out.read_bytes().splitlines()]
    assert stored == [alert.alert_id for alert in alerts]


def test_a_deeply_nested_signed_body_gets_400_not_a_dropped_connection(receiver: AlertReceiver) -> None:
    body = b'{"a":' * 10_000 + b"1" + b"}" * 10_000
    response = post(receiver, body, WebhookSigner(["current"]).headers("deep-1", body))
    assert response.status_code == 400 and response.json()["error"] == "decode_error"


@pytest.mark.parametrize("declared", ["abc", "-5", "1e3"])
def test_a_malformed_content_length_gets_400(receiver: AlertReceiver, declared: str) -> None:
    import socket

    host, port = receiver.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port.split("/")[0])), timeout=5) as connection:
        connection.sendall(f"POST /alerts HTTP/1.1\r\nHost: x\r\nContent-Length: {declared}\r\n\r\n".encode())
        answer = connection.recv(4096).decode()
    assert answer.startswith("HTTP/1.0 400") or answer.startswith("HTTP/1.1 400"), answer
    assert "content-length" in answer
