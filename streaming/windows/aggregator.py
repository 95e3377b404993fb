"""Event-time window aggregation per key, on changelog-backed state.

Semantics, chosen so that output never depends on how records were batched (a crash and restart replays
them in other batches and must produce the same windows):
- A record's event time is its earliest reading (producers also stamp it as the Kafka timestamp). One record
  may hold several consecutive readings of one key, so its later readings must not make the readings of
  other keys' records, sent at the same moment, look late.
- The watermark of a partition is the largest record event time seen on it minus `allowed_lateness`.
- A window `[start, end)` closes when the watermark reaches `end`.
- A reading is late for a window when, at its record's arrival, that window was already closed: the
  watermark from the records before it had reached `end`, or the key's windows were closed for idleness.
  Late readings go to the late-events topic (the whole source record, with which readings were late).
- Statistics come from mergeable moments; those that need more (a quantile) own their per-window state,
  which also folds in the same whatever the batching (see `streaming.windows.quantile`).
- A key that sends nothing for `idle_timeout` (wall clock) gets its open windows closed anyway, and a key
  silent for `state_ttl` is forgotten, so memory follows the live keys.
"""

from __future__ import annotations

import heapq
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from streaming.app.context import Context
from streaming.app.processor import Batch, ProcessorBase, Source
from streaming.app.record import Record
from streaming.metrics import DOWNSAMPLING_RATIO, OPEN_WINDOWS, WINDOW_INPUT_READINGS, WINDOWS_CLOSED
from streaming.schemas import WindowAggregate
from streaming.state import ChangelogStore
from streaming.windows.aggregations import COUNT, DEFAULT_AGGREGATIONS, Aggregation, WindowMoments
from streaming.windows.assigners import HoppingWindows

log = logging.getLogger(__name__)

#: The store metadata holding a partition's watermark (apart from the keys' entries: no input reaches it).
WATERMARK = "partition"


@dataclass
class Columns:
    """What the aggregator needs from one input event: its key, reading times and values, attributes."""

    key: str
    times: Sequence[float]
    values: dict[str, Sequence[float]]
    attributes: dict[str, str] = field(default_factory=dict)


ColumnExtractor = Callable[[Any], Columns]


@dataclass
class _OpenWindow:
    """One open window: its moments, and the state of each statistic that keeps its own (by state key)."""

    moments: WindowMoments
    states: dict[str, Any]


class WindowedAggregation(ProcessorBase):
    """Aggregates each key's readings over event-time windows and emits one record per closed window.

    A processor: `app.add(aggregation)` wires its source, its changelog store, its timer (idle close, TTL)
    and its rebalance hooks.

    Parameters
    ----------
    source
        The topic it reads and how records decode.
    windows
        Tumbling or hopping windows (`TumblingWindows(10.0)`, `HoppingWindows(10.0, 5.0)`).
    fields
        The numeric columns aggregated.
    extract
        `extract(event) -> Columns`: the key, reading times, values and attributes of one input event.
    service
        The metrics label.
    output_topic
        The catalog name of the topic closed windows go to.
    allowed_lateness
        How far behind the latest event time the watermark is, in seconds.
    idle_timeout, state_ttl
        Silence after which a key's open windows close, and after which it is forgotten, in seconds of
        the service's processing clock (wall clock that stands still while the input cannot be fetched).
    aggregations
        The statistics per field (default: count, mean, min, max, std, first, last, slope).
    max_ahead_seconds
        How far a record's readings may run ahead of the partition's latest event time; beyond, it is a
        dead letter (`timestamp_out_of_bounds`). None: unbounded.
    max_ahead_of_clock_seconds
        The same bound against the wall clock, for live sources (None: off, as replays run ahead of it).

    >>> from streaming.schemas import Codec, WindowAggregate
    >>> from streaming.windows.assigners import TumblingWindows
    >>> aggregation = WindowedAggregation(
    ...     Source("readings", Codec(WindowAggregate)), TumblingWindows(10.0), fields=["torque"],
    ...     extract=lambda event: event, service="doc", output_topic="windows")
    >>> aggregation.output_topic, [store.name for store in aggregation.stores]
    ('windows', ['windows'])
    """

    timer_interval_seconds = 1.0

    def __init__(
        self,
        source: Source,
        windows: HoppingWindows,
        fields: Sequence[str],
        extract: ColumnExtractor,
        service: str,
        output_topic: str,
        allowed_lateness: float = 0.0,
        idle_timeout: float = 30.0,
        state_ttl: float = 600.0,
        aggregations: Sequence[Aggregation] = DEFAULT_AGGREGATIONS,
        max_ahead_seconds: float | None = 3_600.0,
        max_ahead_of_clock_seconds: float | None = None,
        clock: Callable[[], float] | None = None,
        name: str = "windows",
    ) -> None:
        if state_ttl < idle_timeout:
            raise ValueError("state_ttl must be at least idle_timeout, or open windows would be forgotten")
        self.store = ChangelogStore(name, service=service)
        super().__init__(name, [source], [self.store])
        self.windows = windows
        self.fields = list(fields)
        self.extract = extract
        self.service = service
        self.allowed_lateness = allowed_lateness
        self.idle_timeout = idle_timeout
        self.state_ttl = state_ttl
        self.aggregations = list(aggregations)
        # One owner per state key: statistics sharing a key (p50, p95) share the window's values.
        self._state_owners = {
            aggregation.state_key: aggregation for aggregation in self.aggregations if aggregation.state_key
        }
        self.output_topic = output_topic
        self.max_ahead_seconds = max_ahead_seconds
        self.max_ahead_of_clock_seconds = max_ahead_of_clock_seconds
        self.clock = clock
        # Working state per partition, rebuilt from the store on assignment.
        self._open: dict[int, dict[tuple[str, int], _OpenWindow]] = {}
        self._deadlines: dict[int, list[tuple[int, str, int]]] = {}
        self._readings_in = 0
        self._windows_out = 0

    # Partition lifecycle (called by the application) --------------------------------------------------

    def _load_states(self, window: dict[str, Any]) -> dict[str, Any]:
        stored = dict(window.get("a", {}))
        if "x" in window or "q" in window:
            # Written before statistics owned their state: the values (or buckets) of the one quantile.
            legacy = {"x": window.get("x"), "q": window.get("q")}
            stored.update(
                dict.fromkeys((key for key in self._state_owners if key.startswith("quantile:")), legacy)
            )
        return {
            key: owner.load(stored[key], len(self.fields))
            for key, owner in self._state_owners.items()
            if key in stored
        }

    # Processor -------------------------------------------------------------------------------------------

    def on_batch(self, batch: Batch, context: Context) -> None:
        self.process(batch.items, context)

    def on_assigned(self, partitions: list[int]) -> None:
        self.partitions_assigned(partitions)

    def on_revoked(self, partitions: list[int]) -> None:
        self.partitions_revoked(partitions)

    def partitions_assigned(self, partitions: list[int]) -> None:
        for partition in partitions:
            if partition not in self.store.partitions:
                self.store.open_partition(partition)
            self._open[partition] = {}
            self._deadlines[partition] = []
            for key, entry in self.store.items(partition):
                for start_ms, window in entry.get("w", {}).items():
                    moments = WindowMoments(np.asarray(window["s"], float), np.asarray(window["f"], float))
                    self._open[partition][(key, int(start_ms))] = _OpenWindow(
                        moments, self._load_states(window)
                    )
                    heapq.heappush(
                        self._deadlines[partition], (self._end_ms(int(start_ms)), key, int(start_ms))
                    )
        self._update_gauges()

    def partitions_revoked(self, partitions: list[int]) -> None:
        for partition in partitions:
            self._open.pop(partition, None)
            self._deadlines.pop(partition, None)
        self._update_gauges()

    # Processing ---------------------------------------------------------------------------------------

    def process(self, batch: list[tuple[Any, Record]], context: Context) -> None:
        """Aggregate one polled batch of one partition (records in offset order)."""
        if not batch:
            return
        partition = batch[0][1].partition
        if partition not in self._open:
            self.partitions_assigned([partition])
        extracted = [self.extract(event) for event, _ in batch]
        batch, extracted = self._within_bounds(partition, batch, extracted, context)
        if not batch:
            return
        counts = np.fromiter(
            (len(columns.times) for columns in extracted), dtype=np.int64, count=len(extracted)
        )
        times = np.fromiter(
            (t for columns in extracted for t in columns.times), dtype=np.float64, count=int(counts.sum())
        )
        values = np.empty((len(times), len(self.fields)), dtype=np.float64)
        for field_index, name in enumerate(self.fields):
            values[:, field_index] = np.fromiter(
                (v for columns in extracted for v in columns.values[name]), dtype=np.float64, count=len(times)
            )
        record_of_reading = np.repeat(np.arange(len(extracted)), counts)
        keys = [columns.key for columns in extracted]
        unique_keys = sorted(set(keys))
        key_number = {key: number for number, key in enumerate(unique_keys)}
        key_of_reading = np.repeat(np.fromiter((key_number[k] for k in keys), dtype=np.int64), counts)

        partition_state = self.store.get_meta(partition, WATERMARK) or {"max_event_time": -math.inf}
        previous_max = float(partition_state["max_event_time"])
        first_reading = np.concatenate(([0], np.cumsum(counts)[:-1]))
        record_times = np.minimum.reduceat(times, first_reading)
        running_max = np.maximum.accumulate(np.concatenate(([previous_max], record_times)))
        watermark_before = (running_max[:-1] - self.allowed_lateness)[record_of_reading]
        closed_until = np.array(
            [float((self.store.get(partition, key) or {}).get("cu", -math.inf)) for key in unique_keys]
        )[key_of_reading]

        reading_index, starts = self.windows.assign(times)
        ends = starts + self.windows.size
        late_pair = (ends <= watermark_before[reading_index]) | (ends <= closed_until[reading_index])
        self._send_late(
            batch, reading_index[late_pair], starts[late_pair], record_of_reading, counts, context
        )

        on_time = ~late_pair
        self._aggregate(
            partition,
            reading_index[on_time],
            starts[on_time],
            times,
            values,
            key_of_reading,
            unique_keys,
        )
        now = self.clock() if self.clock is not None else context.processing_time()
        latest_attributes = {columns.key: columns.attributes for columns in extracted}
        for key in unique_keys:
            entry = self._key_entry(partition, key)
            entry["ls"] = now
            entry["a"] = latest_attributes[key]
            self.store.set(partition, key, entry)
        new_max = float(running_max[-1])
        if new_max > previous_max:
            self.store.set_meta(partition, WATERMARK, {"max_event_time": new_max})
        self._readings_in += len(times)
        WINDOW_INPUT_READINGS.labels(self.service).inc(len(times))
        self._close_due(partition, new_max - self.allowed_lateness, context)

    def _within_bounds(
        self, partition: int, batch: list[tuple[Any, Record]], extracted: list[Columns], context: Context
    ) -> tuple[list[tuple[Any, Record]], list[Columns]]:
        """Records whose readings run too far ahead of the partition's watermark (or of the wall clock)
        become dead letters: one record stamped decades ahead would otherwise move the watermark there, and
        every later reading would be late."""
        if self.max_ahead_seconds is None and self.max_ahead_of_clock_seconds is None:
            return batch, extracted
        partition_state = self.store.get_meta(partition, WATERMARK) or {"max_event_time": -math.inf}
        latest = float(partition_state["max_event_time"])
        clock_bound = (
            math.inf
            if self.max_ahead_of_clock_seconds is None
            else (self.clock or time.time)() + self.max_ahead_of_clock_seconds
        )
        kept: list[tuple[Any, Record]] = []
        kept_columns: list[Columns] = []
        for item, columns in zip(batch, extracted, strict=True):
            if not len(columns.times):
                kept.append(item)
                kept_columns.append(columns)
                continue
            newest, earliest = max(columns.times), min(columns.times)
            bound = clock_bound
            if self.max_ahead_seconds is not None and math.isfinite(latest):
                bound = min(bound, latest + self.max_ahead_seconds)
            if newest > bound:
                context.dead_letter(
                    item[1],
                    "timestamp_out_of_bounds",
                    f"reading at {newest:.3f} is more than the allowed time ahead of the partition's latest "
                    f"event time {latest:.3f} (windows.max_ahead_seconds) or of the clock",
                )
                continue
            latest = max(latest, earliest)
            kept.append(item)
            kept_columns.append(columns)
        return kept, kept_columns

    def _aggregate(
        self,
        partition: int,
        reading_index: np.ndarray,
        starts: np.ndarray,
        times: np.ndarray,
        values: np.ndarray,
        key_of_reading: np.ndarray,
        unique_keys: list[str],
    ) -> None:
        if len(reading_index) == 0:
            return
        start_ms = np.round(starts * 1000).astype(np.int64)
        slot = (start_ms - start_ms.min()) // max(1, round(self.windows.step * 1000))
        codes = key_of_reading[reading_index] * (int(slot.max()) + 1) + slot
        # A stable sort keeps arrival order inside each window, which `first`/`last` ties rely on.
        order = np.argsort(codes, kind="stable")
        boundaries = np.flatnonzero(np.diff(codes[order])) + 1
        open_windows = self._open[partition]
        deadlines = self._deadlines[partition]
        for group in np.split(order, boundaries):
            readings = reading_index[group]
            key = unique_keys[int(key_of_reading[readings[0]])]
            window_start_ms = int(start_ms[group[0]])
            window_start = window_start_ms / 1000.0
            group_values = values[readings]
            moments = WindowMoments.from_values(times[readings] - window_start, group_values, window_start)
            existing = open_windows.get((key, window_start_ms))
            if existing is None:
                states = {key_: owner.start(group_values) for key_, owner in self._state_owners.items()}
                window = _OpenWindow(moments, states)
                open_windows[(key, window_start_ms)] = window
                heapq.heappush(deadlines, (self._end_ms(window_start_ms), key, window_start_ms))
            else:
                window = existing
                window.moments.merge(moments)
                for state_key, owner in self._state_owners.items():
                    window.states[state_key] = owner.add(window.states[state_key], group_values)
            self._write_window(partition, key, window_start_ms)
        self._update_gauges()

    def _end_ms(self, start_ms: int) -> int:
        return start_ms + round(self.windows.size * 1000)

    def _key_entry(self, partition: int, key: str) -> dict[str, Any]:
        entry = self.store.get(partition, key)
        if entry is None:
            entry = {"w": {}, "cu": -math.inf, "ls": 0.0, "a": {}}
        return entry

    def _write_window(self, partition: int, key: str, start_ms: int) -> None:
        entry = self._key_entry(partition, key)
        window = self._open[partition][(key, start_ms)]
        # The arrays are shared with the open window, not copied: they are encoded at commit time.
        state: dict[str, Any] = {"s": window.moments.shared, "f": window.moments.fields}
        if window.states:
            state["a"] = {key: self._state_owners[key].dump(value) for key, value in window.states.items()}
        entry["w"][start_ms] = state
        self.store.set(partition, key, entry)

    def _send_late(
        self,
        batch: list[tuple[Any, Record]],
        late_readings: np.ndarray,
        late_starts: np.ndarray,
        record_of_reading: np.ndarray,
        counts: np.ndarray,
        context: Context,
    ) -> None:
        if len(late_readings) == 0:
            return
        first_reading = np.concatenate(([0], np.cumsum(counts)[:-1]))
        by_record: dict[int, list[str]] = {}
        for reading, start in zip(late_readings.tolist(), late_starts.tolist(), strict=True):
            record_number = int(record_of_reading[reading])
            position = reading - int(first_reading[record_number])
            by_record.setdefault(record_number, []).append(f"{position}@{start:.3f}")
        for record_number, details in by_record.items():
            context.late(batch[record_number][1], "late readings (index@window_start): " + ",".join(details))

    # Closing ------------------------------------------------------------------------------------------

    def _close_due(self, partition: int, watermark: float, context: Context) -> None:
        deadlines = self._deadlines[partition]
        open_windows = self._open[partition]
        watermark_ms = watermark * 1000
        while deadlines and deadlines[0][0] <= watermark_ms:
            _end_ms, key, start_ms = heapq.heappop(deadlines)
            window = open_windows.pop((key, start_ms), None)
            if window is not None:
                self._emit(partition, key, start_ms, window, "watermark", context)
        self._update_gauges()

    def on_timer(self, now: float, context: Context) -> None:
        """Close the windows of idle keys, and forget keys silent past the TTL (wall clock)."""
        for partition in list(self._open):
            open_windows = self._open[partition]
            starts_by_key: dict[str, list[int]] = {}
            for key, start_ms in open_windows:
                starts_by_key.setdefault(key, []).append(start_ms)
            for key in list(self.store.keys(partition)):
                silent_for = now - float(self.store.get(partition, key).get("ls", 0.0))
                starts = starts_by_key.get(key)
                if starts and silent_for >= self.idle_timeout:
                    for start_ms in sorted(starts):
                        window = open_windows.pop((key, start_ms))
                        self._emit(partition, key, start_ms, window, "idle", context)
                elif not starts and silent_for >= self.state_ttl:
                    self.store.delete(partition, key)
            deadlines = self._deadlines[partition]
            if len(deadlines) > 2 * len(open_windows) + 1024:
                # Idle closes leave their deadlines behind; on a quiet partition no watermark pops them.
                deadlines = [(self._end_ms(start), key, start) for key, start in open_windows]
                heapq.heapify(deadlines)
                self._deadlines[partition] = deadlines
        self._update_gauges()

    def _emit(
        self, partition: int, key: str, start_ms: int, window: _OpenWindow, closed_by: str, context: Context
    ) -> None:
        start = start_ms / 1000.0
        end = self._end_ms(start_ms) / 1000.0
        aggregates: dict[str, dict[str, float]] = {name: {} for name in self.fields}
        for aggregation in self.aggregations:
            state = window.states.get(aggregation.state_key) if aggregation.state_key else None
            computed = aggregation.compute(window.moments, state)
            for field_index, name in enumerate(self.fields):
                aggregates[name][aggregation.name] = float(computed[field_index])
        entry = self._key_entry(partition, key)
        entry["w"].pop(start_ms, None)
        if closed_by == "idle":
            # Readings for this window that turn up later are late, even if the watermark lags behind.
            entry["cu"] = max(float(entry.get("cu", -math.inf)), end)
        self.store.set(partition, key, entry)
        output = WindowAggregate(
            key=key,
            window_start=start,
            window_end=end,
            count=int(window.moments.shared[COUNT]),
            aggregates=aggregates,
            closed_by=closed_by,  # type: ignore[arg-type]
            attributes=dict(entry.get("a", {})),
            emitted_at=time.time(),
        )
        context.emit(self.output_topic, output, timestamp=end, event_time=end)
        self._windows_out += 1
        WINDOWS_CLOSED.labels(self.service, closed_by).inc()
        if self._windows_out:
            DOWNSAMPLING_RATIO.labels(self.service).set(self._readings_in / self._windows_out)

    def _update_gauges(self) -> None:
        OPEN_WINDOWS.labels(self.service).set(sum(len(windows) for windows in self._open.values()))
