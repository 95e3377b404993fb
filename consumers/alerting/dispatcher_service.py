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

from consumers.alerting.delivery import PARKED, DeliveryReport
from consumers.alerting.dispatcher import AlertDispatcher
from consumers.alerting.retry import RetryPolicy
from consumers.alerting.settings import AlertSettings, SubscriberSettings
from consumers.alerting.sinks import Sink
from consumers.alerting.tracker import Ticket
from contracts import Alert
from streaming.app import Application, Context, Offsets, ProcessorBase, Record, Source
from streaming.config import Settings
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
        parked = reason.startswith(PARKED)
        letter = DeadLetter(
            reason="delivery_failed",
            error_class=(
                "SubscriberUnavailable"
                if parked
                else "AlertRejected"
                if reason.startswith("rejected")
                else "AlertDeliveryFailed"
            ),
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
        if parked:
            headers.append(("parked", b"true"))
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


class DispatchProcessor(ProcessorBase):
    """Hands each alert to the dispatcher, and holds commits back to the first alert some subscriber has not
    finished with.

    Parameters
    ----------
    dispatcher
        The per-subscriber delivery workers.
    alerts_topic
        The full name of the alerts topic (for forgetting revoked partitions).
    max_message_bytes
        Larger records are dead-lettered.
    drain_seconds
        On stop, how long deliveries in flight may take before the final commit.
    """

    def __init__(
        self, dispatcher: AlertDispatcher, alerts_topic: str, max_message_bytes: int, drain_seconds: float
    ) -> None:
        super().__init__("dispatcher", [Source("alerts", Codec(Alert, max_message_bytes))])
        self.dispatcher = dispatcher
        self.alerts_topic = alerts_topic
        self.drain_seconds = drain_seconds

    def on_record(self, alert: Alert, record: Record, context: Context) -> None:
        self.dispatcher.submit(alert, record.topic, record.partition, record.offset)

    def on_revoked(self, partitions: list[int]) -> None:
        self.dispatcher.forget([(self.alerts_topic, partition) for partition in partitions])

    def allowed_offsets(self, offsets: Offsets) -> Offsets:
        return self.dispatcher.allowed_offsets(offsets)

    def on_stop(self) -> None:
        # Give in-flight deliveries a moment so the final commit covers them; whatever is still pending
        # stays uncommitted and is delivered again on the next start.
        if not self.dispatcher.wait_idle(self.drain_seconds):
            log.info(
                "stopping with %d alerts not yet finished; they will be redelivered",
                self.dispatcher.tracker.pending(),
            )


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
        config = settings.section("alerts", AlertSettings)
        subscribers = subscribers if subscribers is not None else list(config.subscribers)
        check_kinds(subscribers)
        self.dead_letters = DeadLetterWriter(
            settings, bootstrap, f"{settings.topics.prefix}{config.group_id}"
        )
        self.dispatcher = AlertDispatcher(
            subscribers,
            RetryPolicy.from_settings(config),
            self.dead_letters,
            sinks=sinks,
            on_report=on_report,
            breaker_failures=config.breaker_failures,
            breaker_max_probe_seconds=config.breaker_max_probe_seconds,
            parked_in_memory=config.parked_in_memory,
        )
        self.app = Application(
            settings,
            service=SERVICE,
            group_id=config.group_id,
            bootstrap=bootstrap,
            guarantee="at-least-once",
        )
        self.app.add(
            DispatchProcessor(
                self.dispatcher,
                settings.topic_name("alerts"),
                settings.topics.max_message_bytes,
                drain_seconds,
            )
        )

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


def check_kinds(subscribers: list[SubscriberSettings]) -> None:
    """Refuse a subscriber that asks for a kind no service emits (a typo would silently receive nothing)."""
    from streaming.services import registry

    known = set(registry().alert_kinds())
    for subscriber in subscribers:
        unknown = sorted(set(subscriber.kinds or ()) - known)
        if unknown:
            raise ValueError(
                f"subscriber {subscriber.name!r} asks for alert kinds {unknown}, which no service emits "
                f"(known: {', '.join(sorted(known))})"
            )


def subscribers_from_args(settings: Settings, args: argparse.Namespace) -> list[SubscriberSettings]:
    subscribers = list(settings.section("alerts", AlertSettings).subscribers)
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
        # Parked alerts are announced once per outage by the worker, not once each.
        if delivery.outcome not in ("delivered", "filtered", "duplicate", "parked"):
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
