"""Rates and quantiles from scraped samples match what Prometheus would compute."""

from __future__ import annotations

import math

from streaming.demo.samples import ServiceSeries, histogram_quantile, parse_exposition

EXPOSITION = """# TYPE streaming_events_in counter
streaming_events_in_total{{service="fraud",topic="t"}} {count}
# TYPE streaming_event_to_output_seconds histogram
streaming_event_to_output_seconds_bucket{{service="fraud",le="0.1"}} {fast}
streaming_event_to_output_seconds_bucket{{service="fraud",le="1.0"}} {count}
streaming_event_to_output_seconds_bucket{{service="fraud",le="+Inf"}} {count}
streaming_event_to_output_seconds_count{{service="fraud"}} {count}
streaming_event_to_output_seconds_sum{{service="fraud"}} 1.0
# TYPE streaming_consumer_lag_records gauge
streaming_consumer_lag_records{{service="fraud",topic="t",partition="0"}} 5
streaming_consumer_lag_records{{service="fraud",topic="t",partition="1"}} 7
"""


def _series() -> ServiceSeries:
    series = ServiceSeries("fraud")
    for second, (count, fast) in enumerate([(0, 0), (100, 100), (300, 200)]):
        series.snapshots.append(parse_exposition(EXPOSITION.format(count=count, fast=fast), 1000.0 + second))
    return series


def test_rate_is_the_counter_difference_over_time() -> None:
    series = _series()
    assert series.rate("streaming_events_in_total", window_seconds=1.0) == 200.0
    assert series.rate("streaming_events_in_total", window_seconds=5.0) == 150.0
    assert series.rate("streaming_events_in_total", window_seconds=1.0, end=1) == 100.0
    assert series.rate("streaming_no_such_total") is None


def test_quantiles_come_from_bucket_differences() -> None:
    series = _series()
    # Last second: 200 observations, 100 of them under 0.1 s.
    assert series.quantile("streaming_event_to_output_seconds", 0.5, window_seconds=1.0) == 0.1
    recent_p99 = series.quantile("streaming_event_to_output_seconds", 0.99, window_seconds=1.0)
    assert recent_p99 is not None and 0.9 < recent_p99 <= 1.0
    overall_p50 = series.overall_quantile("streaming_event_to_output_seconds", 0.5)
    assert overall_p50 is not None and overall_p50 <= 0.1


def test_gauges_sum_over_partitions_and_filter_by_label() -> None:
    series = _series()
    assert series.gauge("streaming_consumer_lag_records") == 12.0
    assert series.gauge("streaming_consumer_lag_records", {"partition": "1"}) == 7.0


def test_histogram_quantile_edge_cases() -> None:
    assert histogram_quantile(0.5, {1.0: 0.0, math.inf: 0.0}) is None
    # Everything above the last finite edge: Prometheus answers that edge.
    assert histogram_quantile(0.99, {1.0: 0.0, math.inf: 10.0}) == 1.0
