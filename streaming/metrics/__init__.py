"""Prometheus metrics of the core, the buckets every latency histogram uses, and the /metrics server.

Naming follows Prometheus conventions: base units (`_seconds`, `_bytes`), `_total` on counters, ratios in
0..1, and label values from small fixed sets only (never an entity id).
"""

from streaming.metrics.catalog import (
    COMMIT_SECONDS,
    CONSUMER_LAG,
    DEAD_LETTERS,
    DOWNSAMPLING_RATIO,
    EVENT_TO_OUTPUT_SECONDS,
    EVENTS_IN,
    EVENTS_OUT,
    LATE_EVENTS,
    LATENCY_BUCKETS,
    OPEN_WINDOWS,
    PROCESSING_SECONDS,
    REBALANCES,
    STATE_ENTRIES,
    STATE_RESTORE_SECONDS,
    UNSTABLE_OFFSET_CLEARS,
    WINDOW_INPUT_READINGS,
    WINDOWS_CLOSED,
)
from streaming.metrics.server import start_metrics_server

__all__ = [
    "COMMIT_SECONDS",
    "CONSUMER_LAG",
    "DEAD_LETTERS",
    "DOWNSAMPLING_RATIO",
    "EVENTS_IN",
    "EVENTS_OUT",
    "EVENT_TO_OUTPUT_SECONDS",
    "LATENCY_BUCKETS",
    "LATE_EVENTS",
    "OPEN_WINDOWS",
    "PROCESSING_SECONDS",
    "REBALANCES",
    "STATE_ENTRIES",
    "STATE_RESTORE_SECONDS",
    "UNSTABLE_OFFSET_CLEARS",
    "WINDOWS_CLOSED",
    "WINDOW_INPUT_READINGS",
    "start_metrics_server",
]
