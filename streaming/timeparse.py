"""Event-time columns as epoch seconds, whatever the file holds: numbers, datetimes, or ISO-8601 text.

One parser for every reader of files (replay, offline evaluation). pandas 3 parses datetimes at microsecond
resolution and Parquet keeps whatever unit the writer used, so a datetime is never converted through its
integer representation (`astype("int64")` counts units, not seconds): it is subtracted from the epoch.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["MILLISECONDS_ABOVE", "epoch_seconds"]

#: Numbers above this are epoch milliseconds, not seconds (1e11 s is the year 5138).
MILLISECONDS_ABOVE = 1e11
_EPOCH = pd.Timestamp(0, tz="UTC")


def _datetime_seconds(values: pd.Series) -> np.ndarray:
    """Seconds since the epoch of a datetime column (naive means UTC), NaN where missing."""
    if getattr(values.dt, "tz", None) is None:
        values = values.dt.tz_localize("UTC")
    return (values - _EPOCH).dt.total_seconds().to_numpy(dtype=float, na_value=np.nan)


def epoch_seconds(values: pd.Series) -> np.ndarray:
    """Epoch seconds from a column of numbers (seconds, or milliseconds when large), datetimes of any
    resolution and time zone, or ISO-8601 text; NaN where a value is none of these.

    >>> epoch_seconds(pd.Series([1.7e9, 1.7e12, "2023-11-14T22:13:20Z", "soon", None])).tolist()
    [1700000000.0, 1700000000.0, 1700000000.0, nan, nan]
    >>> epoch_seconds(pd.Series(pd.to_datetime(["2023-11-14T22:13:20"])).astype("datetime64[us]")).tolist()
    [1700000000.0]
    """
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return _datetime_seconds(values)
    if pd.api.types.is_bool_dtype(values.dtype):
        return np.full(len(values), np.nan)
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    numbers = np.where(numbers > MILLISECONDS_ABOVE, numbers / 1000.0, numbers)
    if pd.api.types.is_numeric_dtype(values.dtype):
        return numbers
    text = values.where(np.isnan(numbers) & values.notna())
    if text.notna().any():
        parsed = pd.to_datetime(text.astype("string"), utc=True, errors="coerce", format="ISO8601")
        numbers = np.where(np.isnan(numbers), _datetime_seconds(parsed), numbers)
    return numbers
