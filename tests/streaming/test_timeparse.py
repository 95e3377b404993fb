"""One parser for event-time columns: numbers, datetimes at any resolution, ISO-8601 text."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from streaming.timeparse import epoch_seconds

EXPECTED = [1_700_000_000.0, 1_700_000_060.5]


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_datetime_columns_at_any_resolution(unit: str) -> None:
    moments = pd.Series(pd.to_datetime(EXPECTED, unit="s")).astype(f"datetime64[{unit}]")
    expected = EXPECTED if unit != "s" else [1_700_000_000.0, 1_700_000_060.0]
    assert epoch_seconds(moments).tolist() == expected
    aware = moments.dt.tz_localize("UTC").dt.tz_convert("Europe/Paris")
    assert epoch_seconds(aware).tolist() == expected


def test_iso_text_parsed_at_pandas_default_resolution_is_not_a_thousand_times_off() -> None:
    text = pd.Series(["2023-11-14T22:13:20Z", "2023-11-14T22:14:20.5Z"])
    assert epoch_seconds(text).tolist() == EXPECTED


def test_numbers_in_seconds_or_milliseconds_and_bad_values_are_nan() -> None:
    values = pd.Series([1.7e9, 1.7e12, "2023-11-14T22:13:20Z", "soon", None], dtype=object)
    parsed = epoch_seconds(values)
    assert parsed[:3].tolist() == [1.7e9, 1.7e9, 1.7e9]
    assert np.isnan(parsed[3:]).all()
