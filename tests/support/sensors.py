"""Deterministic sensor records for the window tests (the simulator's, with its faults), and an independent
pandas reference of the window output."""

from __future__ import annotations

import math
from collections.abc import Iterable

import msgspec
import numpy as np
import pandas as pd

from contracts import SENSOR_FIELDS, SensorReadingBatch
from producers.faults import FaultInjector
from producers.fleet import MachineFleet
from producers.records import OutgoingRecord

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def sensor_records(
    machines: int = 20,
    seconds: int = 300,
    readings_per_record: int = 10,
    seed: int = 7,
    reorder_fraction: float = 0.1,
    late_fraction: float = 0.03,
    reorder_seconds: float = 3.0,
    late_seconds: float = 40.0,
) -> list[tuple[bytes, bytes]]:
    """(key, value) sensor records in send order, from the producers' own fleet and fault injector: some
    records are sent a little out of order (within the lateness) and some very late."""
    fleet = MachineFleet(
        machines=machines, seed=seed, start_time=START, readings_per_record=readings_per_record
    )
    faults = FaultInjector(
        seed=seed + 1,
        out_of_order_fraction=reorder_fraction,
        out_of_order_delay_seconds=reorder_seconds,
        late_fraction=late_fraction,
        late_delay_seconds=late_seconds / 2,  # held 1-2x this: 20-40 s at the default
    )
    sent: list[OutgoingRecord] = []
    while fleet.block_start < START + seconds:
        for record in fleet.generate(None):
            if record.topic == "sensor_readings":
                sent.extend(faults.process(record, now=record.due_time))
    sent.extend(faults.drain())
    return [(record.key, record.value) for record in sent]


def reference_windows(
    consumed: Iterable[tuple[int, int, bytes]],
    size: float,
    step: float,
    allowed_lateness: float,
    quantile: float = 0.95,
    late_records: set[tuple[int, int]] | None = None,
) -> tuple[dict[tuple[str, float], dict], int]:
    """The closed windows a correct run must emit, computed plainly from (partition, offset, value) records.

    Returns ({(key, window_start): {"count", field: {stat: value}, "quantile_bounds": ...}}, late readings).
    """
    rows = []
    late = 0
    decoder = msgspec.json.Decoder(SensorReadingBatch)
    watermark_max: dict[int, float] = {}
    for partition, offset, value in sorted(consumed, key=lambda item: (item[0], item[1])):
        batch = decoder.decode(value)
        # The watermark moves by records: a record's event time is its earliest reading.
        before = watermark_max.get(partition, -math.inf)
        for index, event_time in enumerate(batch.event_time):
            first_start = math.floor(event_time / step) * step
            starts = [first_start - hop * step for hop in range(math.ceil(size / step))]
            for start in starts:
                if start + size <= event_time:
                    continue
                if start + size <= before - allowed_lateness:
                    late += 1
                    if late_records is not None:
                        late_records.add((partition, offset))
                    continue
                row = {
                    "partition": partition,
                    "key": batch.machine_id,
                    "start": round(start, 3),
                    "t": event_time,
                }
                row.update({name: getattr(batch, name)[index] for name in SENSOR_FIELDS})
                rows.append(row)
        watermark_max[partition] = max(before, min(batch.event_time))
    frame = pd.DataFrame(rows)
    expected: dict[tuple[str, float], dict] = {}
    for (partition, key, start), group in frame.groupby(["partition", "key", "start"], sort=True):
        if start + size > watermark_max[partition] - allowed_lateness:
            continue  # still open at the end of the input
        relative = group["t"].to_numpy() - start
        order = np.argsort(relative, kind="stable")
        window: dict = {"count": len(group)}
        for name in SENSOR_FIELDS:
            values = group[name].to_numpy()
            slope = 0.0
            if len(values) > 1 and np.ptp(relative) > 0:
                slope = float(np.polyfit(relative, values, 1)[0])
            window[name] = {
                "mean": float(values.mean()),
                "min": float(values.min()),
                "max": float(values.max()),
                "std": float(pd.Series(values).std(ddof=1)) if len(values) > 1 else 0.0,
                "first": float(values[order[0]]),
                "last": float(values[order[-1]]),
                "slope": slope,
            }
            window[name]["quantile_bounds"] = (
                float(np.quantile(values, quantile, method="lower")),
                float(np.quantile(values, quantile, method="higher")),
            )
        expected[(key, float(start))] = window
    return expected, late
