"""The core's metric objects. Domain packages define theirs beside their code, with the same conventions.

Every series carries `service` (the name a service registered, e.g. downsampler or alerts), a label
from a fixed set, so one Prometheus can tell the stages apart even when they share a process.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# fmt: off
#: Edges include every SLO exactly (0.1 s and 1 s scoring objectives): SLO ratios need no interpolation.
LATENCY_BUCKETS: tuple[float, ...] = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
)
# fmt: on

EVENTS_IN = Counter("streaming_events_in", "Records consumed, by service and topic.", ["service", "topic"])
EVENTS_OUT = Counter("streaming_events_out", "Records produced, by service and topic.", ["service", "topic"])
PROCESSING_SECONDS = Histogram(
    "streaming_processing_seconds",
    "Wall time to process one polled batch, by service and step (decode, process, produce, commit).",
    ["service", "step"],
    buckets=LATENCY_BUCKETS,
)
EVENT_TO_OUTPUT_SECONDS = Histogram(
    "streaming_event_to_output_seconds",
    "From an event's timestamp to its output being produced, by service.",
    ["service"],
    buckets=LATENCY_BUCKETS,
)
COMMIT_SECONDS = Histogram(
    "streaming_commit_seconds",
    "Time to commit a transaction or offsets.",
    ["service"],
    buckets=LATENCY_BUCKETS,
)
CONSUMER_LAG = Gauge(
    "streaming_consumer_lag_records",
    "Records behind the log end, per partition.",
    ["service", "topic", "partition"],
)
DEAD_LETTERS = Counter(
    "streaming_dead_letters",
    "Records sent to the dead-letter topic, by reason.",
    ["service", "topic", "reason"],
)
LATE_EVENTS = Counter(
    "streaming_late_events",
    "Events later than the allowed lateness, sent to the late topic.",
    ["service", "topic"],
)
OPEN_WINDOWS = Gauge("streaming_open_windows", "Windows currently open.", ["service"])
STATE_ENTRIES = Gauge("streaming_state_entries", "Keys held in state, by store.", ["service", "store"])
STATE_RESTORE_SECONDS = Histogram(
    "streaming_state_restore_seconds",
    "Time to restore a partition's state.",
    ["service"],
    buckets=LATENCY_BUCKETS,
)
REBALANCES = Counter("streaming_rebalances", "Partitions assigned or revoked.", ["service", "change"])
UNSTABLE_OFFSET_CLEARS = Counter(
    "streaming_unstable_offset_clears",
    "Times partitions waited past a transaction's lifetime for their committed offsets, and the pending "
    "commit was cleared by an aborted offsets-only transaction (or a new producer).",
    ["service"],
)
WINDOW_INPUT_READINGS = Counter(
    "streaming_window_input_readings", "Readings aggregated into windows.", ["service"]
)
WINDOWS_CLOSED = Counter(
    "streaming_windows_closed", "Windows closed and emitted, by what closed them.", ["service", "closed_by"]
)
DOWNSAMPLING_RATIO = Gauge(
    "streaming_downsampling_ratio", "Readings in per window out, since start.", ["service"]
)
