"""`streaming alerts receive`: a reference webhook receiver that verifies, dedupes, prints and stores.

Paths:
- `POST /alerts` (or `/`): a signed alert from the dispatcher. Bad or missing signature, or a timestamp
  outside the tolerance: 401. A body that is not an Alert: 400. A webhook-id seen before: 200, not stored
  again (at-least-once delivery makes copies; this is where they are dropped).
- `POST /alertmanager`: Prometheus Alertmanager's standard (unsigned) webhook payload; each alert in it is
  stored once per (fingerprint, status, startsAt).
- `GET /healthz`, and `GET /received` (everything stored, as JSON) for scripts and tests.

Listens on 127.0.0.1 unless told otherwise (`--host 0.0.0.0` inside a container).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TextIO

import orjson

from consumers.alerting import metrics
from consumers.alerting.payloads import summary_line
from consumers.alerting.signing import SignatureError, WebhookVerifier
from contracts import Alert
from streaming.schemas import Codec, EventDecodeError

MAX_BODY_BYTES = 1_048_576


class AlertReceiver:
    """A threaded HTTP server that accepts signed alerts and Alertmanager notifications.

    >>> from consumers.alerting.signing import WebhookSigner
    >>> import httpx, io
    >>> with AlertReceiver(port=0, secrets=["s1"], stream=io.StringIO()) as receiver:
    ...     alert = Alert(alert_id="a-1", kind="fraud", entity_id="c-1", severity="critical",
    ...         event_time=1.7e9, created_at=1.7e9)
    ...     body = Codec(Alert).encode(alert)
    ...     headers = WebhookSigner(["s1"]).headers("a-1", body)
    ...     codes = [httpx.post(receiver.url + "/alerts", content=body, headers=headers).status_code
    ...              for _ in range(2)]
    ...     tampered = httpx.post(receiver.url + "/alerts", content=body[:-1] + b" }", headers=headers)
    >>> codes, tampered.status_code, len(receiver.alerts), receiver.duplicates
    ([200, 200], 401, 1, 1)
    """

    def __init__(
        self,
        port: int = 9110,
        secrets: Sequence[str] = (),
        out: Path | None = None,
        tolerance_seconds: float = 300.0,
        address: str = "127.0.0.1",
        stream: TextIO | None = None,
        quiet: bool = False,
        allow_unsigned: bool = False,
        response_delay_seconds: float = 0.0,
    ) -> None:
        if not secrets and not allow_unsigned:
            raise ValueError("the receiver needs at least one --secret (or allow_unsigned)")
        self.verifier = WebhookVerifier(list(secrets), tolerance_seconds) if secrets else None
        self.out = Path(out) if out is not None else None
        #: Answer each signed alert only after this long: a stand-in for a slow subscriber.
        self.response_delay_seconds = response_delay_seconds
        self.stream = stream
        self.quiet = quiet
        self.alerts: list[Alert] = []
        self.operational: list[dict[str, Any]] = []
        self.duplicates = 0
        self.rejected = 0
        self._seen_ids: set[str] = set()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._codec = Codec(Alert)
        self._server = ThreadingHTTPServer((address, port), _handler_class(self))
        # Request threads are joined at stop, so an alert being stored when SIGTERM lands is written whole.
        self._server.daemon_threads = False
        self._server.block_on_close = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> AlertReceiver:
        self._thread = threading.Thread(target=self._server.serve_forever, name="alert-receiver", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self, duration: float | None = None, stop_event: threading.Event | None = None) -> None:
        """Serve until `duration` passes or `stop_event` is set (SIGTERM, Ctrl-C), then stop cleanly."""
        stop_event = stop_event or threading.Event()
        self.start()
        try:
            # Waiting on the event, not sleeping: a signal handler that sets it ends the wait at once.
            stop_event.wait(duration)
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop accepting, let requests in flight finish (their lines reach `out`), close the socket."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> AlertReceiver:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def wait_for(self, count: int, timeout: float, operational: bool = False) -> bool:
        """Block until `count` distinct alerts (or Alertmanager alerts) arrived; False on timeout."""
        with self._changed:
            return self._changed.wait_for(
                lambda: len(self.operational if operational else self.alerts) >= count, timeout=timeout
            )

    # Called from request threads.

    def accept_alert(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        if self.response_delay_seconds:
            time.sleep(self.response_delay_seconds)
        if self.verifier is not None:
            try:
                message_id = self.verifier.verify(headers, body)
            except SignatureError as error:
                with self._lock:
                    self.rejected += 1
                metrics.RECEIVED.labels("alerts", error.reason).inc()
                return 401, {"error": error.reason, "detail": str(error)}
        else:
            message_id = headers.get("webhook-id", "")
        try:
            alert = self._codec.decode(body)
        except EventDecodeError as error:
            metrics.RECEIVED.labels("alerts", "invalid").inc()
            return 400, {"error": error.reason, "detail": str(error)}
        key = message_id or alert.alert_id
        with self._changed:
            if key in self._seen_ids:
                self.duplicates += 1
                duplicate = True
            else:
                self._seen_ids.add(key)
                self.alerts.append(alert)
                duplicate = False
                self._store({"received_at": time.time(), "path": "/alerts", "alert": orjson.loads(body)})
                self._changed.notify_all()
        metrics.RECEIVED.labels("alerts", "duplicate" if duplicate else "accepted").inc()
        if not duplicate:
            self._print(summary_line(alert))
        return 200, {"ok": True, "duplicate": duplicate}

    def accept_alertmanager(self, body: bytes) -> tuple[int, dict[str, Any]]:
        try:
            payload = orjson.loads(body)
            entries = payload["alerts"]
            if not isinstance(entries, list):
                raise TypeError("alerts is not a list")
        except (orjson.JSONDecodeError, KeyError, TypeError) as error:
            metrics.RECEIVED.labels("alertmanager", "invalid").inc()
            return 400, {"error": "not an Alertmanager webhook payload", "detail": str(error)}
        accepted = 0
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            labels = entry.get("labels") or {}
            key = f"am:{entry.get('fingerprint')}:{entry.get('status')}:{entry.get('startsAt')}"
            with self._changed:
                if key in self._seen_ids:
                    self.duplicates += 1
                    continue
                self._seen_ids.add(key)
                record = {
                    "status": entry.get("status", payload.get("status")),
                    "labels": labels,
                    "annotations": entry.get("annotations") or {},
                    "startsAt": entry.get("startsAt"),
                    "endsAt": entry.get("endsAt"),
                    "fingerprint": entry.get("fingerprint"),
                }
                self.operational.append(record)
                self._store({"received_at": time.time(), "path": "/alertmanager", "alert": record})
                self._changed.notify_all()
            accepted += 1
            summary = (record["annotations"] or {}).get("summary", "")
            self._print(
                f"{record['startsAt']} {str(labels.get('severity', '')).upper()} operational "
                f"{labels.get('alertname', '?')} {record['status']} {summary}".rstrip()
            )
        metrics.RECEIVED.labels("alertmanager", "accepted").inc(accepted)
        return 200, {"ok": True, "accepted": accepted}

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "alerts": [orjson.loads(self._codec.encode(alert)) for alert in self.alerts],
                "operational": list(self.operational),
                "duplicates": self.duplicates,
                "rejected": self.rejected,
            }

    def _store(self, line: dict[str, Any]) -> None:
        if self.out is None:
            return
        self.out.parent.mkdir(parents=True, exist_ok=True)
        with self.out.open("ab") as file:
            file.write(orjson.dumps(line) + b"\n")

    def _print(self, line: str) -> None:
        if not self.quiet:
            print(line, file=self.stream or sys.stdout, flush=True)


def _handler_class(receiver: AlertReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "streaming-alert-receiver/1"
        # Bounds how long an idle or stalled connection can hold up a stop (request threads are joined).
        timeout = 10.0

        def do_POST(self) -> None:
            declared = (self.headers.get("content-length") or "0").strip()
            if not declared.isdigit():
                self._answer(
                    400, {"error": f"content-length must be a whole number of bytes, not {declared!r}"}
                )
                return
            length = int(declared)
            if length > MAX_BODY_BYTES:
                self._answer(413, {"error": f"body over {MAX_BODY_BYTES} bytes"})
                return
            body = self.rfile.read(length)
            path = self.path.split("?", 1)[0].rstrip("/")
            if path == "/alertmanager":
                self._answer(*receiver.accept_alertmanager(body))
            elif path in ("", "/alerts"):
                headers = {name.lower(): value for name, value in self.headers.items()}
                self._answer(*receiver.accept_alert(headers, body))
            else:
                self._answer(404, {"error": f"no such path {self.path}; use /alerts or /alertmanager"})

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0].rstrip("/")
            if path == "/healthz":
                self._answer(200, {"ok": True})
            elif path == "/received":
                self._answer(200, receiver.snapshot())
            else:
                self._answer(404, {"error": "GET /healthz or /received"})

        def _answer(self, status: int, payload: dict[str, Any]) -> None:
            data = orjson.dumps(payload)
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # one summary line per alert is printed instead of access logs

    return Handler
