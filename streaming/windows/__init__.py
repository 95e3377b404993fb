"""Event-time windows: assigners, mergeable aggregations, a quantile sketch, and the window aggregator."""

from streaming.windows.aggregations import (
    DEFAULT_AGGREGATIONS,
    Aggregation,
    Count,
    First,
    Last,
    Maximum,
    Mean,
    Minimum,
    Slope,
    Std,
    WindowMoments,
)
from streaming.windows.aggregator import Columns, WindowedAggregation
from streaming.windows.assigners import HoppingWindows, TumblingWindows
from streaming.windows.sketch import LogBuckets

__all__ = [
    "DEFAULT_AGGREGATIONS",
    "Aggregation",
    "Columns",
    "Count",
    "First",
    "HoppingWindows",
    "Last",
    "LogBuckets",
    "Maximum",
    "Mean",
    "Minimum",
    "Slope",
    "Std",
    "TumblingWindows",
    "WindowMoments",
    "WindowedAggregation",
]
