"""Prometheus metrics of the simulated producers (and of replay, which produces too).

Label values come from fixed sets: the service name, the topic, and a short error reason.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from streaming.metrics import LATENCY_BUCKETS

EVENTS = Counter(
    "streaming_producer_events",
    "Events produced (sensor readings, transactions, labels), duplicates and malformed records excluded.",
    ["service", "topic"],
)
RECORDS = Counter(
    "streaming_producer_records", "Kafka records sent, every kind included.", ["service", "topic"]
)
BYTES = Counter("streaming_producer_bytes", "Value bytes sent.", ["service", "topic"])
SEND_SECONDS = Histogram(
    "streaming_producer_send_seconds",
    "From send() to the broker's acknowledgement (acks=all).",
    ["service"],
    buckets=LATENCY_BUCKETS,
)
ERRORS = Counter(
    "streaming_producer_errors", "Records the broker did not acknowledge, by reason.", ["service", "reason"]
)
INJECTED = Counter(
    "streaming_producer_injected",
    "Deliberate faults: duplicate, out_of_order, late and malformed_<variant> records.",
    ["service", "kind"],
)
TARGET_RATE = Gauge(
    "streaming_producer_target_events_per_second", "The configured rate; 0 when unbounded.", ["service"]
)
SIMULATED_TIME = Gauge(
    "streaming_producer_event_time_seconds",
    "Event time of the newest generated event (epoch s).",
    ["service"],
)
