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
from dataclasses import dataclass
from typing import Any

import numpy as np

from streaming.app.context import Context
from streaming.app.processor import Batch, ProcessorBase, Source
from streaming.app.record import Record
from streaming.metrics import DOWNSAMPLING_RATIO, OPEN_WINDOWS, WINDOW_INPUT_READINGS, WINDOWS_CLOSED
from streaming.schemas import WindowAggregate
from streaming.state import ChangelogStore
from streaming.windows.aggregations import DEFAULT_AGGREGATIONS, Aggregation
from streaming.windows.assigners import HoppingWindows
from streaming.windows.columns import BatchExtractor, ColumnBatch, ColumnExtractor, Columns
from streaming.windows.encoding import WindowRecords
from streaming.windows.grouping import WindowGroups
from streaming.windows.moments import COUNT, MomentsBatch, WindowMoments

log = logging.getLogger(__name__)

#: The store metadata holding a partition's watermark (apart from the keys' entries: no input reaches it).
WATERMARK = "partition"


__all__ = ["WATERMARK", "BatchExtractor", "ColumnBatch", "ColumnExtractor", "Columns", "WindowedAggregation"]


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
    extract_batch
        `extract_batch(events, fields) -> ColumnBatch`: what `extract` gives, for a whole batch at once as
        arrays (optional: without it, `extract` is called per event).
    vectorised
        Work a batch at a time (True): one sort groups every reading by key and window, grouped numpy
        reductions compute the moments and statistics of all its windows, each key's state is written
        once. False: window by window, the reference the batch path is tested against.

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
        extract_batch: BatchExtractor | None = None,
        vectorised: bool = True,
    ) -> None:
        if state_ttl < idle_timeout:
            raise ValueError("state_ttl must be at least idle_timeout, or open windows would be forgotten")
        self.store = ChangelogStore(name, service=service)
        super().__init__(name, [source], [self.store])
        self.windows = windows
        self.fields = list(fields)
        self.extract = extract
        self.extract_batch = extract_batch
        self.vectorised = vectorised
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
        # Closed windows of the batch path, encoded as `WindowAggregate` without a dict per field.
        self._records = WindowRecords(self.fields, [aggregation.name for aggregation in self.aggregations])
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
        if self.vectorised:
            self._process_batch(partition, batch, context)
        else:
            self._process_window_by_window(partition, batch, context)

    def _process_window_by_window(
        self, partition: int, batch: list[tuple[Any, Record]], context: Context
    ) -> None:
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

    # The batch path -----------------------------------------------------------------------------------

    def _columns(self, batch: list[tuple[Any, Record]]) -> ColumnBatch:
        events = [event for event, _record in batch]
        if self.extract_batch is not None:
            return self.extract_batch(events, self.fields)
        return ColumnBatch.from_columns([self.extract(event) for event in events], self.fields)

    def _latest_event_time(self, partition: int) -> float:
        partition_state = self.store.get_meta(partition, WATERMARK) or {"max_event_time": -math.inf}
        return float(partition_state["max_event_time"])

    def _process_batch(self, partition: int, batch: list[tuple[Any, Record]], context: Context) -> None:
        """The whole batch at once: the same windows, late readings and state as window by window."""
        columns = self._columns(batch)
        batch, columns = self._batch_within_bounds(partition, batch, columns, context)
        if not batch:
            return
        times, counts = columns.times, columns.counts
        record_of_reading = np.repeat(np.arange(len(counts)), counts)
        unique_keys = sorted(set(columns.keys))
        key_number = {key: number for number, key in enumerate(unique_keys)}
        key_of_reading = np.fromiter((key_number[key] for key in columns.keys), np.int64, len(columns))[
            record_of_reading
        ]

        previous_max = self._latest_event_time(partition)
        running_max = np.maximum.accumulate(np.concatenate(([previous_max], _earliest(columns))))
        watermark_before = (running_max[:-1] - self.allowed_lateness)[record_of_reading]
        # Each key's entry is read once here and written once at the end.
        entries = {key: self._key_entry(partition, key) for key in unique_keys}
        closed_until = np.array([float(entries[key].get("cu", -math.inf)) for key in unique_keys])[
            key_of_reading
        ]

        reading_index, starts = self.windows.assign(times)
        ends = starts + self.windows.size
        late_pair = (ends <= watermark_before[reading_index]) | (ends <= closed_until[reading_index])
        if late_pair.any():
            self._send_late(
                batch, reading_index[late_pair], starts[late_pair], record_of_reading, counts, context
            )
            reading_index, starts = reading_index[~late_pair], starts[~late_pair]
        groups = WindowGroups.of(reading_index, starts, times, key_of_reading, self.windows.step)

        now = self.clock() if self.clock is not None else context.processing_time()
        latest_attributes = dict(zip(columns.keys, columns.attributes, strict=True))
        for key, entry in entries.items():
            entry["ls"] = now
            entry["a"] = latest_attributes[key]
        new_max = float(running_max[-1])
        self._fold_and_close(
            partition,
            groups,
            [unique_keys[number] for number in groups.key_numbers.tolist()],
            columns.values[groups.rows],
            entries,
            (new_max - self.allowed_lateness) * 1000,
            context,
        )
        for key, entry in entries.items():
            self.store.set(partition, key, entry)
        if new_max > previous_max:
            self.store.set_meta(partition, WATERMARK, {"max_event_time": new_max})
        self._readings_in += len(times)
        WINDOW_INPUT_READINGS.labels(self.service).inc(len(times))
        self._update_gauges()

    def _fold_and_close(
        self,
        partition: int,
        groups: WindowGroups,
        window_keys: list[str],
        grouped_values: np.ndarray,
        entries: dict[str, dict[str, Any]],
        watermark_ms: float,
        context: Context,
    ) -> None:
        """Fold the batch's windows into the open ones, close those the watermark passed (with those of
        earlier batches it passes now), and keep the rest open."""
        open_windows = self._open[partition]
        deadlines = self._deadlines[partition]
        field_count = len(self.fields)
        window_starts = groups.start_ms.tolist()
        earlier = [open_windows.pop(window, None) for window in zip(window_keys, window_starts, strict=True)]
        if len(groups):
            moments = MomentsBatch.from_segments(groups.relative_times, grouped_values, groups.offsets)
        else:
            moments = MomentsBatch.stack([], field_count)
        merged = [index for index, window in enumerate(earlier) if window is not None]
        if merged:
            before = MomentsBatch.stack(
                [window.moments for window in earlier if window is not None], field_count
            )
            moments.merge_earlier(np.array(merged), before)
        # Windows of earlier batches that this batch's watermark closes, without readings of this batch.
        due: list[tuple[str, int, _OpenWindow]] = []
        while deadlines and deadlines[0][0] <= watermark_ms:
            _end_ms, key, due_start_ms = heapq.heappop(deadlines)
            window = open_windows.pop((key, due_start_ms), None)
            if window is not None:
                due.append((key, due_start_ms, window))
        offsets = groups.offsets
        if due:
            for key, due_start_ms, window in due:
                window_keys.append(key)
                window_starts.append(due_start_ms)
                earlier.append(window)
                if key not in entries:
                    entries[key] = self._key_entry(partition, key)
            moments = MomentsBatch.concatenate(
                [moments, MomentsBatch.stack([window.moments for _key, _start, window in due], field_count)]
            )
            offsets = np.concatenate((offsets, np.full(len(due), offsets[-1])))
        states = {
            state_key: owner.fold_many(
                [None if window is None else window.states.get(state_key) for window in earlier],
                grouped_values,
                offsets,
            )
            for state_key, owner in self._state_owners.items()
        }
        start_ms = np.asarray(window_starts, dtype=np.int64)
        end_ms = start_ms + self._end_ms(0)
        closing = end_ms <= watermark_ms
        closing_index = np.flatnonzero(closing)
        if len(closing_index):
            # In the order the deadline heap closes them one by one: by end, key and start.
            closing_keys = [window_keys[index] for index in closing_index.tolist()]
            rank = {key: number for number, key in enumerate(sorted(set(closing_keys)))}
            key_rank = np.fromiter((rank[key] for key in closing_keys), np.int64, len(closing_keys))
            closing_index = closing_index[
                np.lexsort((start_ms[closing_index], key_rank, end_ms[closing_index]))
            ]
            self._emit_many(closing_index, window_keys, start_ms, moments, states, entries, context)
            for index in closing_index.tolist():
                entries[window_keys[index]]["w"].pop(window_starts[index], None)
        open_index = np.flatnonzero(~closing).tolist()
        if open_index:
            kept = {
                state_key: self._state_owners[state_key].window_states(folded, open_index)
                for state_key, folded in states.items()
            }
            shared, fields = moments.shared[open_index], moments.fields[open_index]
            for position, index in enumerate(open_index):
                key, window_start_ms = window_keys[index], window_starts[index]
                window = _OpenWindow(
                    # Copies: views would keep the whole batch's arrays alive while the window is open.
                    WindowMoments(shared[position].copy(), fields[position].copy()),
                    {state_key: states_kept[position] for state_key, states_kept in kept.items()},
                )
                open_windows[(key, window_start_ms)] = window
                if earlier[index] is None:
                    heapq.heappush(deadlines, (self._end_ms(window_start_ms), key, window_start_ms))
                entries[key]["w"][window_start_ms] = self._window_entry(window)

    def _emit_many(
        self,
        closing_index: np.ndarray,
        window_keys: list[str],
        start_ms: np.ndarray,
        moments: MomentsBatch,
        states: dict[str, Any],
        entries: dict[str, dict[str, Any]],
        context: Context,
    ) -> None:
        closing = MomentsBatch(moments.shared[closing_index], moments.fields[closing_index])
        statistics = np.stack(
            [
                aggregation.compute_many(
                    closing, states[aggregation.state_key] if aggregation.state_key else None, closing_index
                )
                for aggregation in self.aggregations
            ],
            axis=2,
        )  # (windows, fields, statistics)
        if not np.isfinite(statistics).all():
            # What `encode` refuses for a single event (JSON has no NaN): the batch fails, and is retried
            # record by record, so that only the records that cause it become dead letters.
            raise ValueError("a window statistic is NaN or infinite; refusing to encode it")
        table = statistics.tolist()
        counts = closing.counts.astype(np.int64).tolist()
        window_start_ms = start_ms[closing_index]
        starts = (window_start_ms / 1000.0).tolist()
        ends = ((window_start_ms + self._end_ms(0)) / 1000.0).tolist()
        emitted_at = time.time()
        build = self._records.window
        outputs = [
            build(
                window_keys[index],
                starts[position],
                ends[position],
                counts[position],
                table[position],
                dict(entries[window_keys[index]].get("a", {})),
                emitted_at,
            )
            for position, index in enumerate(closing_index.tolist())
        ]
        encoded = self._records.encode_many(outputs)
        context.emit_encoded(
            self.output_topic,
            [
                (window_keys[index].encode(), value, int(end * 1000))
                for index, value, end in zip(closing_index.tolist(), encoded, ends, strict=True)
            ],
            event_times=ends,
        )
        self._windows_out += len(outputs)
        WINDOWS_CLOSED.labels(self.service, "watermark").inc(len(outputs))
        DOWNSAMPLING_RATIO.labels(self.service).set(self._readings_in / self._windows_out)

    def _window_entry(self, window: _OpenWindow) -> dict[str, Any]:
        """A window as its key's changelog entry holds it."""
        # The arrays are shared with the open window, not copied: they are encoded at commit time.
        state: dict[str, Any] = {"s": window.moments.shared, "f": window.moments.fields}
        if window.states:
            state["a"] = {key: self._state_owners[key].dump(value) for key, value in window.states.items()}
        return state

    def _batch_within_bounds(
        self, partition: int, batch: list[tuple[Any, Record]], columns: ColumnBatch, context: Context
    ) -> tuple[list[tuple[Any, Record]], ColumnBatch]:
        """`_within_bounds` on arrays: one comparison for the batch, unless some record is out of bounds."""
        if self.max_ahead_seconds is None and self.max_ahead_of_clock_seconds is None:
            return batch, columns
        latest = self._latest_event_time(partition)
        clock_bound = (
            math.inf
            if self.max_ahead_of_clock_seconds is None
            else (self.clock or time.time)() + self.max_ahead_of_clock_seconds
        )
        earliest = _earliest(columns)
        newest = _newest(columns)
        # The bound of each record as if every record before it is kept.
        latest_before = np.maximum.accumulate(np.concatenate(([latest], earliest)))[:-1]
        bound = np.full(len(columns), clock_bound)
        if self.max_ahead_seconds is not None:
            finite = np.isfinite(latest_before)
            bound[finite] = np.minimum(bound[finite], latest_before[finite] + self.max_ahead_seconds)
        if not (newest > bound).any():
            return batch, columns
        # A dead letter does not move the latest event time: decide record after record from the first.
        kept: list[int] = []
        for index, (record_newest, record_earliest) in enumerate(
            zip(newest.tolist(), earliest.tolist(), strict=True)
        ):
            if columns.counts[index] == 0:
                kept.append(index)
                continue
            record_bound = clock_bound
            if self.max_ahead_seconds is not None and math.isfinite(latest):
                record_bound = min(record_bound, latest + self.max_ahead_seconds)
            if record_newest > record_bound:
                context.dead_letter(
                    batch[index][1],
                    "timestamp_out_of_bounds",
                    f"reading at {record_newest:.3f} is more than the allowed time ahead of the partition's "
                    f"latest event time {latest:.3f} (windows.max_ahead_seconds) or of the clock",
                )
                continue
            latest = max(latest, record_earliest)
            kept.append(index)
        return [batch[index] for index in kept], columns.select(kept)

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
        entry["w"][start_ms] = self._window_entry(self._open[partition][(key, start_ms)])
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


def _earliest(columns: ColumnBatch) -> np.ndarray:
    """Each event's earliest reading time (its event time); -inf for an event without readings."""
    return _per_event(columns, np.minimum, -math.inf)


def _newest(columns: ColumnBatch) -> np.ndarray:
    return _per_event(columns, np.maximum, -math.inf)


def _per_event(columns: ColumnBatch, reduction: np.ufunc, empty: float) -> np.ndarray:
    starts = columns.offsets[:-1]
    if columns.counts.all():
        return reduction.reduceat(columns.times, starts)
    result = np.full(len(columns), empty)
    filled = columns.counts > 0
    if filled.any():
        result[filled] = reduction.reduceat(columns.times, starts[filled])
    return result
