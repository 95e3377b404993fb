"""Window output equals an offline pandas reference over the same events, late and out-of-order included."""

from __future__ import annotations

import msgspec
import pytest

from consumers.downsampler.service import build
from contracts import SENSOR_FIELDS
from streaming.config import Settings
from streaming.schemas import WindowAggregate
from tests.support.kafka import produce, read_all
from tests.support.sensors import reference_windows, sensor_records

pytestmark = pytest.mark.kafka


def configured(
    settings: Settings, size: float, step: float | None, lateness: float, exact_samples: int = 256
) -> Settings:
    windows = settings.windows.model_copy(
        update={
            "exact_quantile_samples": exact_samples,
            "window_size_seconds": size,
            "window_step_seconds": step,
            "window_type": "hopping" if step is not None else "tumbling",
            "allowed_lateness_seconds": lateness,
            "idle_timeout_seconds": 3600.0,
            "state_ttl_seconds": 7200.0,
        }
    )
    return settings.model_copy(update={"windows": windows})


def assert_matches_reference(
    outputs: list[WindowAggregate], expected: dict, relative_accuracy: float
) -> None:
    got = {(w.key, round(w.window_start, 3)): w for w in outputs}
    assert len(got) == len(outputs), "a window was emitted twice"
    assert set(got) == set(expected)
    for window_key, reference in expected.items():
        window = got[window_key]
        assert window.count == reference["count"], window_key
        for name in SENSOR_FIELDS:
            for statistic in ("mean", "min", "max", "std", "first", "last", "slope"):
                assert window.aggregates[name][statistic] == pytest.approx(
                    reference[name][statistic], rel=1e-7, abs=1e-7
                ), (window_key, name, statistic)
            low, high = reference[name]["quantile_bounds"]
            estimate = window.aggregates[name]["p95"]
            assert low * (1 - relative_accuracy) - 1e-9 <= estimate <= high * (1 + relative_accuracy) + 1e-9


@pytest.mark.parametrize(
    ("size", "step", "exact_samples"),
    [(10.0, None, 256), (10.0, 5.0, 256), (10.0, None, 0)],
    ids=["tumbling-exact-quantile", "hopping-exact-quantile", "tumbling-sketch-quantile"],
)
def test_windows_equal_pandas_reference(
    topics: Settings, size: float, step: float | None, exact_samples: int
) -> None:
    settings = configured(topics, size, step, lateness=5.0, exact_samples=exact_samples)
    records = sensor_records(machines=12, seconds=240)
    produce(settings, settings.topic_name("sensor_readings"), records)
    consumed = read_all(settings, settings.topic_name("sensor_readings"), expected=len(records))
    expected, late_readings = reference_windows(
        [(r.partition, r.offset, r.value) for r in consumed],
        size=size,
        step=step or size,
        allowed_lateness=5.0,
    )
    assert late_readings > 0, "the scenario must contain late readings"
    assert len(expected) > 100

    summary = build(settings).run(idle_exit_seconds=3.0, duration=90)

    assert summary.dead_letters == 0
    outputs = [
        msgspec.json.decode(r.value, type=WindowAggregate)
        for r in read_all(settings, settings.topic_name("sensor_windows"), expected=len(expected))
    ]
    assert_matches_reference(outputs, expected, settings.windows.quantile_relative_accuracy)
    late = read_all(settings, settings.topic_name("late_events"), idle_seconds=1.0)
    late_detail_count = sum(
        len(dict(r.headers)["late-detail"].decode().split(": ")[1].split(",")) for r in late
    )
    assert late_detail_count == late_readings
    assert not read_all(settings, settings.topic_name("dead_letters"), idle_seconds=0.5)
