"""`streaming consume alerts`: reads the alerts topic and delivers each alert to every subscriber.

At-least-once: the consume loop commits an offset only once every subscriber has finished every alert up
to it (delivered, rejected, filtered or dead-lettered). A dispatcher killed mid-delivery restarts from that
offset, so nothing is lost; what is sent twice carries the same `webhook-id` and the receiver drops it.
"""

from __future__ import annotations

import argparse
import logging
import threading
import time
from typing import Any

from consumers.alerting.delivery import DeliveryReport
from consumers.alerting.dispatcher import AlertDispatcher
from consumers.alerting.retry import RetryPolicy
from consumers.alerting.sinks import Sink
from consumers.alerting.tracker import Ticket
from contracts import Alert
from streaming.app import Application, Context, Record
from streaming.config import Settings, SubscriberSettings
from streaming.kafka import make_producer
from streaming.metrics import start_metrics_server
from streaming.schemas import Codec, DeadLetter, encode

log = logging.getLogger(__name__)

SERVICE = "alerts"


class DeadLetterWriter:
    """Writes undeliverable alerts to the alert dead-letter topic, waiting for the broker's ack."""

    def __init__(self, settings: Settings, bootstrap: str, group_id: str) -> None:
        self.topic = settings.topic_name("alert_dead_letters")
        self.group_id = group_id
        self._producer = make_producer(settings, bootstrap, role=f"{SERVICE}-dead-letters", linger_ms=0)

    def __call__(self, alert: Alert, ticket: Ticket, subscriber: str, reason: str) -> None:
        letter = DeadLetter(
            reason="delivery_failed",
            error_class="AlertRejected" if reason.startswith("rejected") else "AlertDeliveryFailed",
            error_message=reason[:2000],
            source_topic=ticket.topic,
            partition=ticket.partition,
            offset=ticket.offset,
            original_value=encode(alert),
            original_key=alert.entity_id.encode(),
            original_timestamp_ms=int(alert.event_time * 1000),
            consumer_group=self.group_id,
            failed_at=time.time(),
        )
        headers = [("subscriber", subscriber.encode()), ("alert-id", alert.alert_id.encode())]
        future = self._producer.send(
            self.topic,
            key=alert.entity_id.encode(),
            value=encode(letter),
            headers=headers,
            timestamp_ms=int(alert.event_time * 1000),
        )
        future.get(timeout=30)

    def close(self) -> None:
        self._producer.close(timeout=10)


class DispatcherService:
    """Wires the consume loop, the dispatcher and the dead-letter writer; `run()` blocks until stopped."""

    def __init__(
        self,
        settings: Settings,
        bootstrap: str,
        subscribers: list[SubscriberSettings] | None = None,
        sinks: dict[str, Sink] | None = None,
        drain_seconds: float = 5.0,
        on_report: Any = None,
    ) -> None:
        self.settings = settings
        subscribers = subscribers if subscribers is not None else list(settings.alerts.subscribers)
        self.dead_letters = DeadLetterWriter(
            settings, bootstrap, f"{settings.topics.prefix}{settings.alerts.group_id}"
        )
        self.dispatcher = AlertDispatcher(
            subscribers,
            RetryPolicy.from_settings(settings.alerts),
            self.dead_letters,
            sinks=sinks,
            on_report=on_report,
        )
        self.drain_seconds = drain_seconds
        self.app = Application(
            settings,
            service=SERVICE,
            group_id=settings.alerts.group_id,
            bootstrap=bootstrap,
            guarantee="at-least-once",
        )
        # Commit no further than the first alert some subscriber has not finished with.
        self.app.commit_gate(self.dispatcher.allowed_offsets)
        self.app.before_shutdown(self._drain)
        self.app.source("alerts", Codec(Alert, settings.topics.max_message_bytes), self._handle)
        self.app.on_partitions_revoked(self._revoked)

    def _drain(self) -> None:
        # Give in-flight deliveries a moment so the final commit covers them; whatever is still pending
        # stays uncommitted and is delivered again on the next start.
        if not self.dispatcher.wait_idle(self.drain_seconds):
            log.info(
                "stopping with %d alerts not yet finished; they will be redelivered",
                self.dispatcher.tracker.pending(),
            )

    def _handle(self, alert: Alert, record: Record, context: Context) -> None:
        self.dispatcher.submit(alert, record.topic, record.partition, record.offset)

    def _revoked(self, partitions: list[int]) -> None:
        topic = self.settings.topic_name("alerts")
        self.dispatcher.forget([(topic, partition) for partition in partitions])

    def run(
        self,
        duration: float | None = None,
        stop_event: threading.Event | None = None,
        install_signal_handlers: bool = False,
        idle_exit_seconds: float | None = None,
    ) -> dict[str, Any]:
        self.dispatcher.start()
        try:
            summary = self.app.run(
                duration=duration,
                stop_event=stop_event,
                install_signal_handlers=install_signal_handlers,
                idle_exit_seconds=idle_exit_seconds,
            )
        finally:
            self.dispatcher.stop(timeout=10.0, drain=False)
            self.dead_letters.close()
        return {
            "records_in": summary.records_in,
            "dead_letters": summary.dead_letters,
            "commits": summary.commits,
            "seconds": round(summary.seconds, 3),
            "stopped_by": summary.stopped_by,
            "outcomes": dict(sorted(self.dispatcher.reports.items())),
        }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `streaming consume alerts`."""
    from streaming.cli.common import add_common_options

    add_common_options(parser)
    parser.add_argument("--duration", type=float, default=None, help="Stop cleanly after this many seconds.")
    parser.add_argument(
        "--idle-exit", type=float, default=None, help="Stop after this many seconds without input."
    )
    parser.add_argument("--no-metrics", action="store_true", help="Do not serve /metrics.")
    parser.add_argument(
        "--metrics-port", type=int, default=None, help="Prometheus port (default 9106; 0 = any)."
    )
    parser.add_argument(
        "--webhook",
        action="append",
        default=[],
        metavar="URL",
        help="Add a webhook subscriber to those in the settings (repeatable; signed with --secret).",
    )
    parser.add_argument(
        "--secret", action="append", default=[], help="Signing secret for --webhook subscribers (repeatable)."
    )
    parser.add_argument("--console", action="store_true", help="Also print every alert on stdout.")
    parser.add_argument(
        "--drain-seconds",
        type=float,
        default=5.0,
        help="On stop, wait this long for deliveries in flight before the final commit.",
    )


def subscribers_from_args(settings: Settings, args: argparse.Namespace) -> list[SubscriberSettings]:
    subscribers = list(settings.alerts.subscribers)
    for index, url in enumerate(args.webhook, start=1):
        if not args.secret:
            raise SystemExit("streaming consume alerts: --webhook needs at least one --secret")
        subscribers.append(
            SubscriberSettings(name=f"webhook-{index}", sink="webhook", url=url, secrets=args.secret)
        )
    if args.console:
        subscribers.append(SubscriberSettings(name="console", sink="console"))
    return subscribers


def run(args: argparse.Namespace) -> int:
    from streaming.cli.common import bootstrap_for, settings_from_args

    settings = settings_from_args(args)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    subscribers = subscribers_from_args(settings, args)
    if not subscribers:
        print(
            "streaming consume alerts: no subscribers. Declare [[alerts.subscribers]] in streaming.toml, set "
            "STREAMING_ALERTS__SUBSCRIBERS, or pass --webhook URL --secret S / --console."
        )
        return 2
    if settings.metrics.enabled and not args.no_metrics:
        port = args.metrics_port if args.metrics_port is not None else settings.metrics.port_for(SERVICE)
        bound = start_metrics_server(port, settings.metrics.address)
        if bound is not None:
            log.info("alerts metrics on http://%s:%d/metrics", settings.metrics.address, bound)

    def report(delivery: DeliveryReport) -> None:
        if delivery.outcome not in ("delivered", "filtered", "duplicate"):
            log.warning("%s %s: %s", delivery.subscriber, delivery.outcome, delivery.detail)

    service = DispatcherService(
        settings, bootstrap_for(settings), subscribers, drain_seconds=args.drain_seconds, on_report=report
    )
    names = ", ".join(subscriber.name for subscriber in subscribers)
    log.info("delivering alerts from %s to %s", settings.topic_name("alerts"), names)
    summary = service.run(
        duration=args.duration, install_signal_handlers=True, idle_exit_seconds=args.idle_exit
    )
    log.info("alerts dispatcher stopped: %s", summary)
    return 0
