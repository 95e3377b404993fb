"""Where alerts go: signed webhooks, Slack-compatible webhooks, JSONL files and the console.

A sink makes one attempt and classifies its result; retrying is the delivery worker's job.
"""

from __future__ import annotations

import email.utils
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Literal, Protocol, TextIO

import httpx
import orjson

from consumers.alerting.payloads import slack_payload, summary_line
from consumers.alerting.settings import SubscriberSettings
from consumers.alerting.signing import WebhookSigner
from contracts import Alert
from streaming.schemas import encode

Outcome = Literal["delivered", "retry", "reject"]


@dataclass(frozen=True)
class SendResult:
    """The result of one attempt. `retry` covers network errors, 5xx and 429; `reject` other answers."""

    outcome: Outcome
    detail: str
    status: int | None = None
    retry_after_seconds: float | None = None


class Sink(Protocol):
    def send(self, alert: Alert) -> SendResult: ...

    def close(self) -> None: ...


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date).

    >>> parse_retry_after("3"), parse_retry_after(None), parse_retry_after("soon")
    (3.0, None, None)
    >>> parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0)
    10.0
    """
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, moment.timestamp() - current)


def classify_response(response: httpx.Response) -> SendResult:
    status = response.status_code
    if 200 <= status < 300:
        return SendResult("delivered", f"HTTP {status}", status)
    excerpt = response.text[:200].strip()
    detail = f"HTTP {status}" + (f": {excerpt}" if excerpt else "")
    if status == 429 or status >= 500:
        return SendResult("retry", detail, status, parse_retry_after(response.headers.get("retry-after")))
    return SendResult("reject", detail, status)


class WebhookSink:
    """POSTs the alert JSON, signed when secrets are configured.

    `webhook-id` is the alert's stable id: the same alert delivered twice (a retry, or a redelivery
    after a restart) carries the same id, so the receiver can drop the copy.
    """

    def __init__(
        self, url: str, secrets: list[str], timeout_seconds: float = 5.0, client: httpx.Client | None = None
    ) -> None:
        self.url = url
        self.signer = WebhookSigner(secrets) if secrets else None
        self._client = client or httpx.Client(timeout=timeout_seconds, follow_redirects=False)

    def body(self, alert: Alert) -> bytes:
        return encode(alert)

    def send(self, alert: Alert) -> SendResult:
        body = self.body(alert)
        headers = {"content-type": "application/json", "user-agent": "streaming-alerts/1"}
        if self.signer is not None:
            headers.update(self.signer.headers(alert.alert_id, body))
        try:
            response = self._client.post(self.url, content=body, headers=headers)
        except httpx.TransportError as error:
            return SendResult("retry", f"{type(error).__name__}: {error}"[:300])
        return classify_response(response)

    def close(self) -> None:
        self._client.close()


class SlackSink(WebhookSink):
    """A Slack incoming-webhook message (also signed when secrets are set; Slack ignores the headers)."""

    def body(self, alert: Alert) -> bytes:
        return orjson.dumps(slack_payload(alert))


class JsonlSink:
    """Appends one alert JSON per line and fsyncs, skipping alert ids the file already holds.

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "alerts.jsonl"
    >>> alert = Alert(alert_id="a-1", kind="fraud", entity_id="c-1", severity="info", event_time=1.7e9,
    ...     created_at=1.7e9)
    >>> sink = JsonlSink(path)
    >>> sink.send(alert).outcome, sink.send(alert).detail
    ('delivered', 'already in file')
    >>> len(path.read_text().splitlines())
    1
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._ids = self._existing_ids()
        self._lock = threading.Lock()

    def _existing_ids(self) -> set[str]:
        ids: set[str] = set()
        if not self.path.exists():
            return ids
        with self.path.open("rb") as file:
            for line in file:
                try:
                    ids.add(str(orjson.loads(line)["alert_id"]))
                except (orjson.JSONDecodeError, KeyError, TypeError):
                    continue  # a torn last line from a crash: the alert is rewritten on redelivery
        return ids

    def send(self, alert: Alert) -> SendResult:
        with self._lock:
            if alert.alert_id in self._ids:
                return SendResult("delivered", "already in file")
            try:
                with self.path.open("ab") as file:
                    file.write(encode(alert) + b"\n")
                    file.flush()
                    os.fsync(file.fileno())
            except OSError as error:
                return SendResult("retry", f"{type(error).__name__}: {error}")
            self._ids.add(alert.alert_id)
        return SendResult("delivered", "appended")

    def close(self) -> None:
        pass


class ConsoleSink:
    """Prints one summary line per alert."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def send(self, alert: Alert) -> SendResult:
        print(summary_line(alert), file=self.stream or sys.stdout, flush=True)
        return SendResult("delivered", "printed")

    def close(self) -> None:
        pass


SinkFactory = Callable[[SubscriberSettings], Sink]
#: Entry points of installed packages that add sinks: `name = "package.module:factory"`.
SINK_ENTRY_POINTS = "streaming.alert_sinks"


def _web_sink(subscriber: SubscriberSettings) -> Sink:
    if not subscriber.url:
        raise ValueError(f"subscriber {subscriber.name!r}: sink {subscriber.sink} needs a url")
    if subscriber.sink == "webhook" and not subscriber.secrets and not subscriber.allow_unsigned:
        raise ValueError(
            f"subscriber {subscriber.name!r}: a webhook needs at least one secret (or allow_unsigned = true)"
        )
    sink_type = SlackSink if subscriber.sink == "slack" else WebhookSink
    return sink_type(subscriber.url, list(subscriber.secrets), subscriber.timeout_seconds)


def _jsonl_sink(subscriber: SubscriberSettings) -> Sink:
    if subscriber.path is None:
        raise ValueError(f"subscriber {subscriber.name!r}: sink jsonl needs a path")
    return JsonlSink(subscriber.path)


_FACTORIES: dict[str, SinkFactory] = {
    "webhook": _web_sink,
    "slack": _web_sink,
    "jsonl": _jsonl_sink,
    "console": lambda subscriber: ConsoleSink(),
}


def register_sink(name: str, factory: SinkFactory) -> None:
    """Let subscribers use `sink = "<name>"`: `factory(subscriber)` builds the sink from its settings
    (`url`, `path`, `secrets`, `options`...). Installed packages can instead declare an entry point in
    the `streaming.alert_sinks` group."""
    _FACTORIES[name] = factory


def sink_names() -> list[str]:
    return sorted({*_FACTORIES, *(entry.name for entry in entry_points(group=SINK_ENTRY_POINTS))})


def make_sink(subscriber: SubscriberSettings) -> Sink:
    """The sink a subscriber's settings describe; a clear error when a required setting is missing."""
    factory = _FACTORIES.get(subscriber.sink)
    if factory is None:
        found = [entry for entry in entry_points(group=SINK_ENTRY_POINTS) if entry.name == subscriber.sink]
        if not found:
            raise ValueError(
                f"subscriber {subscriber.name!r}: no sink named {subscriber.sink!r} "
                f"(known: {', '.join(sink_names())})"
            )
        factory = found[0].load()
        _FACTORIES[subscriber.sink] = factory
    return factory(subscriber)
