"""Replay reads datetime columns (Parquet keeps their unit) through the shared time parser."""

from __future__ import annotations

import pandas as pd
import pytest

from streaming.replay.mapping import RowMapper


@pytest.mark.parametrize("unit", ["ns", "us", "ms"])
def test_datetime_time_column_becomes_the_right_record_timestamp(unit: str) -> None:
    times = pd.Series(pd.to_datetime([1_700_000_000.0, 1_700_000_001.25], unit="s")).astype(
        f"datetime64[{unit}]"
    )
    frame = pd.DataFrame({"k": ["a", "b"], "t": times, "x": [1, 2]})
    records, bad = RowMapper("raw", time_column="t", key_column="k").map_frame(frame)
    assert not bad
    assert [record.timestamp_ms for record in records] == [1_700_000_000_000, 1_700_000_001_250]
    assert [record.event_time for record in records] == [1_700_000_000.0, 1_700_000_001.25]
