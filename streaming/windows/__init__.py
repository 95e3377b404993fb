"""Event-time windows: assigners, statistics (mergeable moments, and those that own their state such as
quantiles), a quantile sketch, and the window aggregator processor."""

from streaming.windows.aggregations import (
    DEFAULT_AGGREGATIONS,
    MAXIMUM,
    MINIMUM,
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
    aggregation_names,
    aggregations_named,
    register_aggregation,
)
from streaming.windows.aggregator import Columns, WindowedAggregation
from streaming.windows.assigners import HoppingWindows, TumblingWindows
from streaming.windows.quantile import Quantile
from streaming.windows.sketch import LogBuckets

__all__ = [
    "DEFAULT_AGGREGATIONS",
    "MAXIMUM",
    "MINIMUM",
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
    "Quantile",
    "Slope",
    "Std",
    "TumblingWindows",
    "WindowMoments",
    "WindowedAggregation",
    "aggregation_names",
    "aggregations_named",
    "register_aggregation",
]
