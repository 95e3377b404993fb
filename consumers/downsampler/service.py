"""The sensor downsampler: raw readings in, one aggregate per machine and event-time window out.

source   sensor_readings (SensorReadingBatch), keyed by machine
windows  tumbling or hopping, on event time, with allowed lateness and an idle timeout
state    open windows and watermarks in a compacted changelog, committed with the offsets
sink     sensor_windows (WindowAggregate); late readings to late_events
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from itertools import chain
from operator import attrgetter

import numpy as np

from consumers.downsampler.settings import WindowSettings
from contracts import SensorReadingBatch
from streaming.app import Application, Source
from streaming.config import Settings
from streaming.schemas import Codec
from streaming.windows import ColumnBatch, Columns, HoppingWindows, WindowedAggregation, aggregations_named

SERVICE = "downsampler"


def sensor_columns(batch: SensorReadingBatch) -> Columns:
    """What the window aggregator reads from a sensor record."""
    return Columns(
        key=batch.machine_id,
        times=batch.event_time,
        values={
            "air_temperature_k": batch.air_temperature_k,
            "process_temperature_k": batch.process_temperature_k,
            "rotational_speed_rpm": batch.rotational_speed_rpm,
            "torque_nm": batch.torque_nm,
            "vibration_mm_s": batch.vibration_mm_s,
            "tool_wear_min": batch.tool_wear_min,
        },
        attributes={"machine_type": batch.machine_type},
    )


def sensor_column_batch(batches: Sequence[SensorReadingBatch], fields: Sequence[str]) -> ColumnBatch:
    """`sensor_columns` for many sensor records at once: each column of every record into one array.

    >>> from contracts import SENSOR_FIELDS
    >>> batch = SensorReadingBatch(machine_id="m-1", machine_type="L", event_time=[1.7e9, 1.7e9 + 1],
    ...     **{name: [1.0, 2.0] for name in SENSOR_FIELDS})
    >>> columns = sensor_column_batch([batch, batch], ["torque_nm"])
    >>> columns.counts.tolist(), columns.values[:, 0].tolist(), columns.attributes[0]
    ([2, 2], [1.0, 2.0, 1.0, 2.0], {'machine_type': 'L'})
    """
    counts = np.fromiter((len(batch.event_time) for batch in batches), np.int64, len(batches))
    # Records of one length (the producer's usual) make a rectangular list of lists, which numpy reads in
    # one call; otherwise the lists are chained first.
    rectangular = bool(len(counts)) and bool((counts == counts[0]).all())

    def column(name: str) -> np.ndarray:
        lists = list(map(attrgetter(name), batches))
        if rectangular:
            return np.array(lists, dtype=np.float64).reshape(-1)
        return np.array(list(chain.from_iterable(lists)), dtype=np.float64)

    values = np.empty((int(counts.sum()), len(fields)), dtype=np.float64)
    for index, name in enumerate(fields):
        values[:, index] = column(name)
    return ColumnBatch(
        keys=[batch.machine_id for batch in batches],
        counts=counts,
        times=column("event_time"),
        values=values,
        attributes=[{"machine_type": batch.machine_type} for batch in batches],
    )


def aggregation(settings: Settings) -> WindowedAggregation:
    """The downsampler's window processor, from `[windows]`."""
    config = settings.section("windows", WindowSettings)
    return WindowedAggregation(
        Source("sensor_readings", Codec(SensorReadingBatch, settings.topics.max_message_bytes)),
        windows=HoppingWindows(size=config.window_size_seconds, step=config.step_seconds()),
        fields=config.fields,
        extract=sensor_columns,
        extract_batch=sensor_column_batch,
        service=SERVICE,
        output_topic="sensor_windows",
        allowed_lateness=config.allowed_lateness_seconds,
        idle_timeout=config.idle_timeout_seconds,
        state_ttl=config.state_ttl_seconds,
        max_ahead_seconds=config.max_ahead_seconds,
        max_ahead_of_clock_seconds=config.max_ahead_of_clock_seconds,
        aggregations=aggregations_named(
            config.aggregations, config.quantile_relative_accuracy, config.exact_quantile_samples
        ),
    )


#: Allocations between two young-generation collections (Python's default is 700).
YOUNG_COLLECTION_THRESHOLD = 20_000


def tune_garbage_collector() -> None:
    """Make the process's cyclic garbage collector cheap for the downsampler, once everything is imported.

    Each polled batch allocates a few containers per record (decoded events, their columns, window
    records) that live for the whole batch. At Python's default thresholds they outlive a couple of young
    collections, reach the old generation, and every few batches trigger a full collection that walks all
    the objects of the process, the imported modules included: about a fifth of the downsampler's time.
    Freezing what exists after start-up takes those out of every collection; a higher young threshold
    lets a batch's objects die before they are promoted.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *gc.get_threshold()[1:])


def build(settings: Settings, bootstrap: str | None = None, instance_id: str | None = None) -> Application:
    """The downsampler as an application, ready to `run()`."""
    app = Application(
        settings,
        service=SERVICE,
        group_id=settings.section("windows", WindowSettings).group_id,
        bootstrap=bootstrap,
        instance_id=instance_id,
    )
    app.add(aggregation(settings))
    return app
