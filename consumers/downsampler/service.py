"""The sensor downsampler: raw readings in, one aggregate per machine and event-time window out.

source   sensor_readings (SensorReadingBatch), keyed by machine
windows  tumbling or hopping, on event time, with allowed lateness and an idle timeout
state    open windows and watermarks in a compacted changelog, committed with the offsets
sink     sensor_windows (WindowAggregate); late readings to late_events
"""

from __future__ import annotations

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
    total = int(counts.sum())

    def column(name: str) -> np.ndarray:
        # The columns are lists of floats already: chained, they fill an array without a list in between.
        return np.fromiter(chain.from_iterable(map(attrgetter(name), batches)), np.float64, total)

    values = np.empty((total, len(fields)), dtype=np.float64)
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
