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
from streaming.windows.aggregator import WindowedAggregation
from streaming.windows.assigners import HoppingWindows, TumblingWindows
from streaming.windows.columns import BatchExtractor, ColumnBatch, ColumnExtractor, Columns
from streaming.windows.moments import MomentsBatch
from streaming.windows.quantile import Quantile, QuantileBatch
from streaming.windows.sketch import LogBuckets

__all__ = [
    "DEFAULT_AGGREGATIONS",
    "MAXIMUM",
    "MINIMUM",
    "Aggregation",
    "BatchExtractor",
    "ColumnBatch",
    "ColumnExtractor",
    "Columns",
    "Count",
    "First",
    "HoppingWindows",
    "Last",
    "LogBuckets",
    "Maximum",
    "Mean",
    "Minimum",
    "MomentsBatch",
    "Quantile",
    "QuantileBatch",
    "Slope",
    "Std",
    "TumblingWindows",
    "WindowMoments",
    "WindowedAggregation",
    "aggregation_names",
    "aggregations_named",
    "register_aggregation",
]
