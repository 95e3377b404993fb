"""Prometheus metrics of alert delivery. `subscriber` is a configured name, so its values are bounded."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from streaming.metrics import LATENCY_BUCKETS

DELIVERIES = Counter(
    "streaming_alert_deliveries",
    "Alerts handled per subscriber, by outcome (delivered, rejected, dead_lettered, filtered, duplicate, "
    "parked, and redelivered: parked alerts delivered on recovery).",
    ["subscriber", "outcome"],
)
DELIVERY_SECONDS = Histogram(
    "streaming_alert_delivery_seconds",
    "From an alert's creation to the subscriber's 2xx answer.",
    ["subscriber"],
    buckets=LATENCY_BUCKETS,
)
RETRIES = Counter(
    "streaming_alert_retries", "Delivery attempts after the first, per subscriber.", ["subscriber"]
)
DEAD_LETTERS = Counter(
    "streaming_alert_dead_letters",
    "Alerts sent to the alert dead-letter topic, per subscriber.",
    ["subscriber"],
)
PARKED = Counter(
    "streaming_alert_parked",
    "Alerts parked in the alert dead-letter topic while their subscriber's circuit breaker was open.",
    ["subscriber"],
)
BREAKER_OPEN = Gauge(
    "streaming_alert_breaker_open", "1 while a subscriber's circuit breaker is open.", ["subscriber"]
)
QUEUE_DEPTH = Gauge(
    "streaming_alert_queue_depth", "Alerts waiting in a subscriber's delivery queue.", ["subscriber"]
)
RECEIVED = Counter(
    "streaming_alert_receiver_requests",
    "Requests seen by the reference receiver, by path and outcome.",
    ["path", "outcome"],
)
