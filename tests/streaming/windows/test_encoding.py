"""The batch path's window records encode byte for byte as the `WindowAggregate` they stand for."""

from __future__ import annotations

import math

import msgspec
import numpy as np
import pytest

from streaming.schemas import WindowAggregate, encode
from streaming.windows.encoding import WindowRecords


def test_records_encode_exactly_as_window_aggregates() -> None:
    rng = np.random.default_rng(5)
    fields = ["air_temperature_k", "torque", "a field with spaces", "é"]
    statistics = ["count", "mean", "p95", "p99.9", "range"]
    records = WindowRecords(fields, statistics)
    for _ in range(200):
        rows = (rng.normal(size=(len(fields), len(statistics))) * 10.0 ** rng.integers(-8, 8)).tolist()
        attributes = {"machine_type": "L"} if rng.random() < 0.5 else {}
        start = float(1.7e9 + rng.integers(0, 10**6))
        mine = records.window("m-1", start, start + 10, int(rng.integers(1, 500)), rows, attributes, 1.8e9)
        reference = WindowAggregate(
            key="m-1",
            window_start=start,
            window_end=start + 10,
            count=mine.count,  # type: ignore[attr-defined]
            aggregates={
                field: dict(zip(statistics, row, strict=True))
                for field, row in zip(fields, rows, strict=True)
            },
            closed_by="watermark",
            attributes=attributes,
            emitted_at=1.8e9,
        )
        assert encode(mine) == encode(reference)
        assert msgspec.json.decode(encode(mine), type=WindowAggregate) == reference


def test_a_non_finite_statistic_is_refused_as_for_a_window_aggregate() -> None:
    window = WindowRecords(["x"], ["mean"]).window("m-1", 1.7e9, 1.7e9 + 10, 1, [[math.nan]], {}, 1.8e9)
    with pytest.raises(ValueError, match="NaN or infinity"):
        encode(window)
