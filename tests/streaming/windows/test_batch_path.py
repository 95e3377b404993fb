"""The batch path of `WindowedAggregation` (grouped numpy reductions over a whole polled batch) against the
window-by-window path and an independent pandas computation, on random batches with several keys and
windows per batch, readings out of order, late records, records far ahead, and both quantile modes."""

from __future__ import annotations

import math
from typing import Any

import msgspec
import numpy as np
import pandas as pd
import pytest

from consumers.downsampler.service import sensor_column_batch, sensor_columns
from contracts import SENSOR_FIELDS, SensorReadingBatch
from streaming.app import Batch, Source
from streaming.app.memory import MemoryContext, records_of
from streaming.config import Settings
from streaming.schemas import Codec, DeadLetter, WindowAggregate
from streaming.windows import (
    MAXIMUM,
    MINIMUM,
    Aggregation,
    HoppingWindows,
    WindowedAggregation,
    WindowMoments,
    aggregations_named,
)
from tests.support.sensors import reference_windows

T0 = 1_767_225_600.0
CENTRES = np.array([298.0, 308.0, 1500.0, 40.0, 2.0, 50.0])
SPREADS = np.array([0.5, 0.5, 20.0, 3.0, 0.3, 1.0])
MOMENT_STATISTICS = ("mean", "std", "slope")
EXACT_STATISTICS = ("count", "min", "max", "first", "last")


def random_stream(
    seed: int, keys: int = 7, records: int = 400, far_ahead: int = 0
) -> list[SensorReadingBatch]:
    """Records of several keys, 1 to 14 readings each at jittered times, sent in a shuffled order: most a
    little out of order, some held back long enough to be late, a few with repeated timestamps (inside a
    record, and records repeating another's times); and `far_ahead` records stamped decades ahead."""
    rng = np.random.default_rng(seed)
    clock = {key: T0 + rng.uniform(0, 5) for key in range(keys)}
    made = []
    for _ in range(records):
        key = int(rng.integers(keys))
        count = int(rng.integers(1, 15))
        steps = rng.choice([0.0, 0.4, 1.0, 2.5], size=count, p=[0.1, 0.4, 0.4, 0.1])
        times = clock[key] + np.cumsum(steps)
        clock[key] = float(times[-1]) + float(rng.uniform(0.1, 2.0))
        values = np.abs(CENTRES + SPREADS * rng.normal(size=(count, len(SENSOR_FIELDS))))
        made.append(
            SensorReadingBatch(
                machine_id=f"m-{key:02d}",
                machine_type="LMH"[key % 3],
                event_time=times.tolist(),
                **{name: values[:, index].tolist() for index, name in enumerate(SENSOR_FIELDS)},
            )
        )
        if rng.random() < 0.05:
            # The same times again with other values: ties in time between records, for first and last.
            made.append(
                SensorReadingBatch(
                    machine_id=f"m-{key:02d}",
                    machine_type="LMH"[key % 3],
                    event_time=times.tolist(),
                    **{name: (values[:, index] + 0.1).tolist() for index, name in enumerate(SENSOR_FIELDS)},
                )
            )
    # Sent in order of their times plus a delay: mostly up to 3 s, one in twenty up to 60 s (late).
    delays = np.where(
        rng.random(len(made)) < 0.05, rng.uniform(20, 60, len(made)), rng.uniform(0, 3, len(made))
    )
    order = np.argsort([batch.event_time[0] + delay for batch, delay in zip(made, delays, strict=True)])
    stream = [made[index] for index in order]
    for number in range(far_ahead):
        ahead = stream[(number + 1) * len(stream) // (far_ahead + 1)]
        stream.insert(
            (number + 1) * len(stream) // (far_ahead + 1),
            msgspec.structs.replace(ahead, event_time=[t + 3e8 for t in ahead.event_time]),
        )
    return stream


def processor(vectorised: bool, step: float = 10.0, **options: Any) -> WindowedAggregation:
    return WindowedAggregation(
        Source("sensor_readings", Codec(SensorReadingBatch)),
        HoppingWindows(10.0, step),
        fields=list(SENSOR_FIELDS),
        extract=sensor_columns,
        extract_batch=sensor_column_batch if vectorised else None,
        service="test",
        output_topic="sensor_windows",
        allowed_lateness=options.pop("allowed_lateness", 4.0),
        idle_timeout=3600.0,
        state_ttl=7200.0,
        aggregations=options.pop(
            "aggregations",
            aggregations_named(["count", "mean", "min", "max", "std", "first", "last", "slope", "p95"]),
        ),
        vectorised=vectorised,
        clock=lambda: 1000.0,
        **options,
    )


def run(
    aggregation: WindowedAggregation, events: list[SensorReadingBatch], chunks: list[int]
) -> MemoryContext:
    """Feed the events in batches of the given sizes (cycled), writing the changelog after each."""
    context = MemoryContext(Settings())
    items = records_of(events, context.topic("sensor_readings"))
    aggregation.on_assigned([0])
    start, number = 0, 0
    while start < len(items):
        size = chunks[number % len(chunks)]
        aggregation.on_batch(Batch("sensor_readings", 0, items[start : start + size]), context)
        context.flush_stores(aggregation)
        start, number = start + size, number + 1
    return context


def windows(context: MemoryContext) -> list[WindowAggregate]:
    return context.events("sensor_windows", WindowAggregate)


def assert_same_windows(got: list[WindowAggregate], expected: list[WindowAggregate]) -> None:
    assert [(w.key, w.window_start, w.window_end, w.count) for w in got] == [
        (w.key, w.window_start, w.window_end, w.count) for w in expected
    ]
    for mine, reference in zip(got, expected, strict=True):
        assert mine.attributes == reference.attributes and mine.closed_by == reference.closed_by
        for name in SENSOR_FIELDS:
            ours, theirs = mine.aggregates[name], reference.aggregates[name]
            assert list(ours) == list(theirs)
            for statistic in ours:
                if statistic in MOMENT_STATISTICS:
                    # Grouped sums may add in another order than a window's own sum: a few ulps apart.
                    assert ours[statistic] == pytest.approx(theirs[statistic], rel=1e-9, abs=1e-9)
                else:
                    assert ours[statistic] == theirs[statistic], (
                        mine.key,
                        mine.window_start,
                        name,
                        statistic,
                    )


def changelog(context: MemoryContext) -> list[tuple[bytes | None, Any]]:
    return [
        (record.key, None if record.value is None else msgspec.msgpack.decode(record.value))
        for record in context.sent
        if record.partition is not None
    ]


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("step", [10.0, 5.0], ids=["tumbling", "hopping"])
@pytest.mark.parametrize("chunks", [[1], [7, 1, 30], [64], [10_000]], ids=["one", "mixed", "64", "all"])
def test_the_batch_path_equals_the_window_by_window_path(seed: int, step: float, chunks: list[int]) -> None:
    events = random_stream(seed, far_ahead=2)
    batch = run(processor(True, step), events, chunks)
    reference = run(processor(False, step), events, chunks)
    got, expected = windows(batch), windows(reference)
    assert len(expected) > 50
    assert_same_windows(got, expected)
    late = [(r.key, r.value, dict(r.headers)) for r in batch.sent_to("late_events")]
    assert late and late == [(r.key, r.value, dict(r.headers)) for r in reference.sent_to("late_events")]
    letters = [r.decode(DeadLetter) for r in batch.sent_to("dead_letters")]
    assert [letter.reason for letter in letters] == ["timestamp_out_of_bounds"] * 2
    assert [letter.offset for letter in letters] == [
        r.decode(DeadLetter).offset for r in reference.sent_to("dead_letters")
    ]
    # The state (open windows, watermark, attributes) reaches the changelog the same, key for key.
    assert_same_state(dict(changelog(batch)), dict(changelog(reference)))


def assert_same_state(ours: dict[bytes | None, Any], theirs: dict[bytes | None, Any]) -> None:
    assert ours.keys() == theirs.keys()
    for key, entry in ours.items():
        other = theirs[key]
        if entry is None or "w" not in entry:
            assert entry == other, key
            continue
        assert (entry["cu"], entry["ls"], entry["a"]) == (other["cu"], other["ls"], other["a"])
        assert entry["w"].keys() == other["w"].keys()
        for start, window in entry["w"].items():
            assert window["s"] == pytest.approx(other["w"][start]["s"], rel=1e-12, abs=1e-9)
            for row, other_row in zip(window["f"], other["w"][start]["f"], strict=True):
                assert row == pytest.approx(other_row, rel=1e-12, abs=1e-9)
            assert window.get("a") == other["w"][start].get("a")


def test_the_batch_path_equals_the_window_by_window_path_in_sketch_mode() -> None:
    """Past `exact_samples` readings a window's quantile state becomes bucket counts, in either path."""
    events = random_stream(4, keys=3, records=500)
    statistics = aggregations_named(["count", "p50", "p95", "max"], exact_quantile_samples=6)
    batch = run(processor(True, aggregations=statistics), events, [3, 40])
    reference = run(processor(False, aggregations=statistics), events, [3, 40])
    got = windows(batch)
    assert any(window.count > 6 for window in got) and any(window.count <= 6 for window in got)
    assert_same_windows(got, windows(reference))
    assert_same_state(dict(changelog(batch)), dict(changelog(reference)))


def test_the_batch_path_equals_an_independent_pandas_computation() -> None:
    """Readings of records that straddle windows (7 a record, 1 s apart): most windows take readings of two
    records, often in two batches."""
    from tests.support.sensors import sensor_records

    records = sensor_records(machines=5, seconds=300, readings_per_record=7, seed=11)
    events = [msgspec.json.decode(value, type=SensorReadingBatch) for _key, value in records]
    for step in (10.0, 5.0):
        context = run(processor(True, step, allowed_lateness=5.0), events, [13])
        expected, late_readings = reference_windows(
            [(0, offset, value) for offset, (_key, value) in enumerate(records)], 10.0, step, 5.0
        )
        got = {(w.key, round(w.window_start, 3)): w for w in windows(context)}
        assert got.keys() == expected.keys() and len(got) > 100
        for window_id, reference in expected.items():
            window = got[window_id]
            assert window.count == reference["count"]
            for name in SENSOR_FIELDS:
                for statistic in ("mean", "min", "max", "std", "first", "last", "slope"):
                    assert window.aggregates[name][statistic] == pytest.approx(
                        reference[name][statistic], rel=1e-9, abs=1e-6
                    ), (window_id, name, statistic)
                values_low, values_high = reference[name]["quantile_bounds"]
                assert values_low - 1e-9 <= window.aggregates[name]["p95"] <= values_high + 1e-9
        late = context.sent_to("late_events")
        counted = sum(len(dict(r.headers)["late-detail"].decode().split(":", 1)[1].split(",")) for r in late)
        assert late_readings > 0 and counted == late_readings


def test_the_exact_quantile_equals_pandas_on_random_windows() -> None:
    events = random_stream(5, keys=4, records=300)
    context = run(processor(True, aggregations=aggregations_named(["count", "p95", "p50"])), events, [25])
    rows = []
    for event in events:
        for index, time in enumerate(event.event_time):
            rows.append({"key": event.machine_id, "t": time, "torque": event.torque_nm[index]})
    frame = pd.DataFrame(rows)
    checked = 0
    for window in windows(context):
        inside = frame[
            (frame.key == window.key) & (frame.t >= window.window_start) & (frame.t < window.window_end)
        ]
        if len(inside) != window.count:
            continue  # some of its readings were late: pandas would need the same lateness rules
        for name, quantile in (("p95", 0.95), ("p50", 0.5)):
            assert window.aggregates["torque_nm"][name] == pytest.approx(
                inside.torque.quantile(quantile), rel=1e-12
            )
        checked += 1
    assert checked > 50


class DistinctValues(Aggregation):
    """A stateful statistic defined by `start`/`add` only: the number of distinct values of each field."""

    name = "distinct"
    state_key = "distinct"

    def start(self, values: np.ndarray) -> list[set[float]]:
        return [set(values[:, index].tolist()) for index in range(values.shape[1])]

    def add(self, state: list[set[float]], values: np.ndarray) -> list[set[float]]:
        for index, seen in enumerate(state):
            seen.update(values[:, index].tolist())
        return state

    def dump(self, state: list[set[float]]) -> Any:
        return [sorted(seen) for seen in state]

    def load(self, data: Any, field_count: int) -> list[set[float]]:
        return [set(seen) for seen in data]

    def compute(self, moments: WindowMoments, state: Any = None) -> np.ndarray:
        return np.array([float(len(seen)) for seen in state])


class Range(Aggregation):
    name = "range"

    def compute(self, moments: WindowMoments, state: object = None) -> np.ndarray:
        return moments.fields[MAXIMUM] - moments.fields[MINIMUM]


def test_statistics_without_a_batch_method_run_window_by_window_inside_the_batch_path() -> None:
    events = random_stream(6, keys=3, records=250)
    statistics = [*aggregations_named(["count", "p95"]), Range(), DistinctValues()]
    batch = run(processor(True, aggregations=statistics), events, [9, 50])
    reference = run(processor(False, aggregations=statistics), events, [9, 50])
    got = windows(batch)
    assert len(got) > 20
    assert_same_windows(got, windows(reference))
    for window in got:
        for name in SENSOR_FIELDS:
            assert window.aggregates[name]["range"] >= 0
            assert 1 <= window.aggregates[name]["distinct"] <= window.count
    assert_same_state(dict(changelog(batch)), dict(changelog(reference)))


@pytest.mark.parametrize("writer", [True, False], ids=["batch-writes", "window-writes"])
def test_state_written_by_one_path_restores_into_the_other(writer: bool) -> None:
    events = random_stream(7, keys=5, records=300)
    half = len(events) // 2
    whole = windows(run(processor(True), events, [20]))
    first = processor(writer)
    context = run(first, events[:half], [20])
    restored = processor(not writer)
    restored.store.restore(
        0, [(r.key, r.value) for r in context.sent if r.partition == 0 and r.key is not None]
    )
    rest = run(restored, events[half:], [20])
    combined = windows(context) + windows(rest)
    assert {(w.key, w.window_start): (w.count, w.aggregates["torque_nm"]["max"]) for w in combined} == {
        (w.key, w.window_start): (w.count, w.aggregates["torque_nm"]["max"]) for w in whole
    }
    for window in combined:
        reference = next(w for w in whole if (w.key, w.window_start) == (window.key, window.window_start))
        assert window.aggregates["torque_nm"]["mean"] == pytest.approx(
            reference.aggregates["torque_nm"]["mean"], rel=1e-9
        )


def test_an_idle_close_after_batches_emits_what_the_window_by_window_path_emits() -> None:
    events = random_stream(8, keys=4, records=120)
    outputs = []
    for vectorised in (True, False):
        aggregation = processor(vectorised)
        context = run(aggregation, events, [17])
        aggregation.on_timer(1000.0 + 4000.0, context)
        outputs.append(windows(context))
    assert any(window.closed_by == "idle" for window in outputs[0])
    assert_same_windows(outputs[0], outputs[1])


def test_windows_of_earlier_batches_close_in_a_batch_without_their_keys_and_late_only_batches_pass() -> None:
    first = SensorReadingBatch(
        machine_id="m-1",
        machine_type="L",
        event_time=[T0 + 1, T0 + 2],
        **{n: [1.0, 2.0] for n in SENSOR_FIELDS},
    )
    ahead = SensorReadingBatch(
        machine_id="m-2", machine_type="L", event_time=[T0 + 30], **{n: [1.0] for n in SENSOR_FIELDS}
    )
    late = SensorReadingBatch(
        machine_id="m-1", machine_type="L", event_time=[T0 + 3], **{n: [5.0] for n in SENSOR_FIELDS}
    )
    for vectorised in (True, False):
        context = run(processor(vectorised), [first, late, ahead, late], [1])
        closed = windows(context)
        assert [(w.key, w.window_start, w.count) for w in closed] == [("m-1", T0, 3)]
        assert len(context.sent_to("late_events")) == 1
        assert not math.isnan(closed[0].aggregates["torque_nm"]["std"])
