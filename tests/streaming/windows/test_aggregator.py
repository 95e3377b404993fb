"""`WindowedAggregation` without a broker: driven through an in-memory context, checked against an
independent pandas computation, and shown to give the same windows however its input is batched."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest

from consumers.downsampler.service import aggregation, sensor_columns
from contracts import SENSOR_FIELDS, SensorReadingBatch
from streaming.app import Batch, Source
from streaming.app.memory import MemoryContext, records_of
from streaming.config import Settings
from streaming.schemas import Codec, WindowAggregate
from streaming.windows import TumblingWindows, WindowedAggregation, aggregations_named
from tests.support.sensors import reference_windows, sensor_records

SIZE, LATENESS = 10.0, 5.0


def settings(**windows: object) -> Settings:
    return Settings(
        windows={
            "window_size_seconds": SIZE,
            "allowed_lateness_seconds": LATENESS,
            "idle_timeout_seconds": 3600,
            "state_ttl_seconds": 7200,
            **windows,
        }
    )


def decoded(records: list[tuple[bytes, bytes]]) -> list[SensorReadingBatch]:
    return [msgspec.json.decode(value, type=SensorReadingBatch) for _key, value in records]


def run_batches(
    processor: WindowedAggregation, events: list[SensorReadingBatch], chunk: int
) -> MemoryContext:
    context = MemoryContext(settings())
    items = records_of(events, context.topic("sensor_readings"))
    processor.on_assigned([0])
    for start in range(0, len(items), chunk):
        processor.on_batch(Batch("sensor_readings", 0, items[start : start + chunk]), context)
    return context


def windows_of(context: MemoryContext) -> dict[tuple[str, float], WindowAggregate]:
    outputs = context.events("sensor_windows", WindowAggregate)
    keyed = {(window.key, round(window.window_start, 3)): window for window in outputs}
    assert len(keyed) == len(outputs), "a window was emitted twice"
    return keyed


def test_windows_equal_an_independent_pandas_computation_and_late_readings_are_routed() -> None:
    records = sensor_records(machines=6, seconds=240, seed=3)
    events = decoded(records)
    context = run_batches(aggregation(settings()), events, chunk=37)
    expected, late_readings = reference_windows(
        [(0, offset, value) for offset, (_key, value) in enumerate(records)], SIZE, SIZE, LATENESS
    )
    got = windows_of(context)
    assert set(got) == set(expected)
    for window_id, reference in expected.items():
        window = got[window_id]
        assert window.count == reference["count"]
        for name in SENSOR_FIELDS:
            for statistic in ("mean", "min", "max", "std", "first", "last", "slope"):
                assert window.aggregates[name][statistic] == pytest.approx(
                    # Moments give the spread of a constant column as ~1e-9, not 0: sums of squares.
                    reference[name][statistic],
                    rel=1e-9,
                    abs=1e-6,
                ), (window_id, name, statistic)
            low, high = reference[name]["quantile_bounds"]
            assert low - 1e-9 <= window.aggregates[name]["p95"] <= high + 1e-9
    late = context.sent_to("late_events")
    late_counted = sum(
        len(dict(record.headers)["late-detail"].decode().split(":", 1)[1].split(",")) for record in late
    )
    assert late_readings > 0 and late_counted == late_readings


@pytest.mark.parametrize("chunk", [1, 5, 64, 10_000])
def test_the_same_input_gives_the_same_windows_however_it_is_batched(chunk: int) -> None:
    events = decoded(sensor_records(machines=4, seconds=120, seed=9))
    reference = windows_of(run_batches(aggregation(settings()), events, chunk=10_000))
    got = windows_of(run_batches(aggregation(settings()), events, chunk=chunk))
    assert {window_id: (w.count, w.aggregates) for window_id, w in got.items()} == {
        window_id: (w.count, w.aggregates) for window_id, w in reference.items()
    }


def test_state_written_to_the_changelog_restores_into_a_fresh_processor() -> None:
    """A restart mid-stream (state restored from changelog records) emits what one uninterrupted run does."""
    events = decoded(sensor_records(machines=4, seconds=160, seed=5))
    half = len(events) // 2
    whole = windows_of(run_batches(aggregation(settings()), events, chunk=50))

    first = aggregation(settings())
    context = run_batches(first, events[:half], chunk=50)
    context.flush_stores(first)
    changelog = [
        (record.key, record.value) for record in context.sent if record.partition == 0 and record.key
    ]
    second = aggregation(settings())
    restored = second.store.restore(0, [(key, value) for key, value in changelog if key is not None])
    assert restored > 0
    second.on_assigned([0])
    rest = MemoryContext(settings())
    items = records_of(events[half:], rest.topic("sensor_readings"), first_offset=half)
    second.on_batch(Batch("sensor_readings", 0, items), rest)
    combined = {**windows_of(context), **windows_of(rest)}
    assert {w: (v.count, v.aggregates) for w, v in combined.items()} == {
        w: (v.count, v.aggregates) for w, v in whole.items()
    }


def test_the_quantile_is_exact_for_small_windows_and_a_bounded_sketch_for_large_ones() -> None:
    values = np.linspace(1.0, 100.0, 400)
    batch = SensorReadingBatch(
        machine_id="m-1",
        machine_type="L",
        event_time=(1_767_225_600.0 + np.linspace(0, 9.9, len(values))).tolist(),
        **{name: values.tolist() for name in SENSOR_FIELDS},
    )
    for exact_samples, tolerance in ((1_000, 1e-9), (50, 0.01)):
        processor = WindowedAggregation(
            Source("sensor_readings", Codec(SensorReadingBatch)),
            TumblingWindows(SIZE),
            fields=list(SENSOR_FIELDS),
            extract=sensor_columns,
            service="test",
            output_topic="sensor_windows",
            aggregations=aggregations_named(["count", "p50", "p95"], exact_quantile_samples=exact_samples),
        )
        closing = SensorReadingBatch(
            machine_id="m-1",
            machine_type="L",
            event_time=[1_767_225_600.0 + 20],
            **{name: [1.0] for name in SENSOR_FIELDS},
        )
        context = run_batches(processor, [batch, closing], chunk=1)
        window = context.events("sensor_windows", WindowAggregate)[0]
        for name, quantile in (("p50", 0.5), ("p95", 0.95)):
            low = float(np.quantile(values, quantile, method="lower"))
            high = float(np.quantile(values, quantile, method="higher"))
            value = window.aggregates["torque_nm"][name]
            if tolerance < 1e-6:
                assert value == pytest.approx(float(np.quantile(values, quantile)), rel=tolerance)
            else:
                assert low * (1 - tolerance) <= value <= high * (1 + tolerance)
        assert set(window.aggregates["torque_nm"]) == {"count", "p50", "p95"}


def test_idle_keys_close_on_the_timer_and_later_readings_are_late() -> None:
    now = [1000.0]
    processor = WindowedAggregation(
        Source("sensor_readings", Codec(SensorReadingBatch)),
        TumblingWindows(SIZE),
        fields=list(SENSOR_FIELDS),
        extract=sensor_columns,
        service="test",
        output_topic="sensor_windows",
        idle_timeout=30.0,
        state_ttl=60.0,
        clock=lambda: now[0],
    )
    reading = SensorReadingBatch(
        machine_id="m-1",
        machine_type="L",
        event_time=[1_767_225_601.0],
        **{name: [2.0] for name in SENSOR_FIELDS},
    )
    context = run_batches(processor, [reading], chunk=1)
    assert context.sent_to("sensor_windows") == []
    now[0] += 31
    processor.on_timer(now[0], context)
    closed = context.events("sensor_windows", WindowAggregate)
    assert [window.closed_by for window in closed] == ["idle"]
    items = records_of([reading], context.topic("sensor_readings"), first_offset=1)
    processor.on_batch(Batch("sensor_readings", 0, items), context)
    assert len(context.sent_to("late_events")) == 1
    now[0] += 61
    processor.on_timer(now[0], context)
    assert processor.store.keys(0) == []


def test_unknown_statistics_are_refused_when_the_settings_are_read() -> None:
    with pytest.raises(ValueError, match="unknown window statistic 'median'"):
        settings(aggregations=["mean", "median"])


@pytest.mark.parametrize("hostile_key", ["\x00partition", "\x01mpartition", "w"])
def test_no_entity_id_can_reach_the_internal_state(hostile_key: str) -> None:
    """An id that equals an internal key (the watermark's, old or new) is just another key."""
    events = decoded(sensor_records(machines=3, seconds=120, seed=2))
    hostile = [
        msgspec.structs.replace(event, machine_id=hostile_key) if event.machine_id == "m-0001" else event
        for event in events
    ]
    reference = windows_of(run_batches(aggregation(settings()), events, chunk=20))
    got = windows_of(run_batches(aggregation(settings()), hostile, chunk=20))
    renamed = {
        (hostile_key, start) if key == "m-0001" else (key, start): window
        for (key, start), window in reference.items()
    }
    assert {w: (v.count, v.aggregates) for w, v in got.items()} == {
        w: (v.count, v.aggregates) for w, v in renamed.items()
    }


def test_a_record_far_ahead_of_the_watermark_is_a_dead_letter_and_poisons_nothing() -> None:
    events = decoded(sensor_records(machines=3, seconds=120, seed=4))
    middle = events[len(events) // 2]
    future = msgspec.structs.replace(
        middle, event_time=[3_786_912_000.0 + i for i in range(middle.count)]
    )  # 2090
    with_future = [*events[: len(events) // 2], future, *events[len(events) // 2 :]]
    reference = run_batches(aggregation(settings()), events, chunk=25)
    context = run_batches(aggregation(settings()), with_future, chunk=25)
    letters = [record for record in context.sent_to("dead_letters")]
    assert len(letters) == 1
    from streaming.schemas import DeadLetter

    assert letters[0].decode(DeadLetter).reason == "timestamp_out_of_bounds"
    assert windows_of(context).keys() == windows_of(reference).keys()
    assert len(context.sent_to("late_events")) == len(reference.sent_to("late_events"))
